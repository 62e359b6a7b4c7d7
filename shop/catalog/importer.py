"""Bulk catalog import from CSV or .xlsx: read the sheet, check every row, then create all products or none.

Format: one row per SKU, header in row 1. The product columns are repeated on each SKU row and grouped by
`product_ref` (the supplier's own product code): rows with the same product_ref form one product, in the
order of their first appearance. A product cell left blank on a later row of a product repeats the first
row's value (merged cells read that way); a different value is an error on that row. English column names
are canonical (see COLUMNS); the Chinese headers in ALIASES are accepted too.

    product_ref, name, subtitle, description, category (slug, or the category's name),
    origin_district_code, product_type, sc_license_number, food_filing_number, gi_scheme, gi_number,
    gi_protected_area, shelf_life_days, storage, cold_chain (true/false/是/否), sale_months ("6,7,8", "6-8",
    "11-2" wraps the year; blank = all year), return_policy, images (URLs separated by whitespace or |),
    spec, unit, weight_g, price_fen, stock, min_order_qty, qty_step, barcode,
    price_tiers ("100:5000;500:4800" = min_qty:price_fen)

Money stays integer fen: 59.9 (or "59.90") in a price is an error, never converted from yuan. A column the
import does not know is an error too (a misspelt column would otherwise be dropped without a word); blank
rows are skipped. The file: .xlsx (its first worksheet) or CSV in UTF-8 (with or without BOM; GB18030, what
Excel's plain "CSV" writes on Chinese Windows, is read too), at most MAX_ROWS rows and the app's upload limit.

Checks: each cell is parsed here (numbers, flags, lists); everything else is the catalog's own rules, not a
copy of them: the product dict is loaded with ProductCreateSchema (the POST /products body, SKUs nested),
then the service rules run on the loaded values (services.check_product, services.sku_problems, the region
look-up create_product uses). Their field errors are mapped back to (row, column): product fields to the
product's first row, SKU fields to the SKU's row. The report lists every problem, sorted by row, the first
MAX_ERRORS of them.

Re-import: a product_ref that already exists for the supplier is rejected (the import creates products, it
never updates them; edit existing products through the API). An exported product without a code is written
as "P<id>", and that code counts as existing for its supplier too, so re-importing an export cannot
duplicate a catalog.

The real run is one transaction: if any row is bad nothing is written (422 import_rejected with the report).
Products are created as drafts, or published in the same transaction with publish=True (the supplier must be
approved: 409 supplier_not_approved otherwise, checked before anything else, dry run included).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop.catalog import services
from shop.catalog.models import Category, Product
from shop.catalog.queries import require_member_of, supplier_services
from shop.catalog.schemas import ProductCreateSchema, SkuCreateSchema
from shop.catalog.sheet import (  # noqa: F401  (the format's names, importable from here as before)
    ALIASES, COLUMN_FIELDS, COLUMNS, FIELD_COLUMNS, HEADERS, MAX_COLUMNS, MAX_ROWS, MAX_UNPACKED_BYTES, PARSERS,
    PRODUCT_COLUMNS, REQUIRED_COLUMNS, SKU_COLUMNS, CellError, InvalidSpreadsheet, Sheet, blank, read_sheet)
from shop.database import utcnow
from shop.errors import Conflict, ValidationFailed
from shop.extensions import db
from shop.transaction import end_read, transaction

MAX_ERRORS = 1_000  # errors listed in a report (error_count tells how many there were)
REF_MAX_LENGTH = 64  # Product.external_ref


# --- checking -----------------------------------------------------------------------------------------------


ITEM_WORDS = {"price_tiers": "tier", "images": "image", "sale_months": "month", "skus": "SKU"}


def _messages(messages, word: str = "item", path: str = ""):
    """Marshmallow/service error messages as flat strings, nested list positions 1-based ('tier 2 price_fen')."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            label = f"{word} {int(key) + 1}" if str(key).isdigit() else str(key)
            yield from _messages(value, word, f"{path} {label}".strip())
    elif isinstance(messages, (list, tuple)):
        for message in messages:
            yield from _messages(message, word, path)
    else:
        yield f"{path}: {messages}" if path else str(messages)


class Report:
    def __init__(self):
        self.errors: list[dict] = []
        self.flagged: set[tuple[int, str]] = set()

    def add(self, row: int, column: str, message: str) -> None:
        self.errors.append({"row": row, "column": column, "message": message})
        self.flagged.add((row, column))

    def add_field_errors(self, row: int, errors: dict) -> None:
        """Errors keyed by schema/service field; a cell already reported (unreadable) is not reported twice."""
        for name, messages in errors.items():
            column = FIELD_COLUMNS.get(name, name)
            if (row, column) in self.flagged:
                continue
            for message in _messages(messages, ITEM_WORDS.get(column, "item")):
                self.errors.append({"row": row, "column": column, "message": message})
            self.flagged.add((row, column))

    def sorted(self) -> list[dict]:
        order = {c: i for i, c in enumerate(COLUMNS)}
        return sorted(self.errors, key=lambda e: (e["row"], order.get(e["column"], -1)))


@dataclass
class Group:
    """The rows of one product_ref."""

    ref: str
    first_row: int
    product: dict  # parsed product cells of the first row
    bad: set  # product columns whose cell on the first row could not be read
    rows: list = field(default_factory=list)  # [(row number, parsed SKU cells)]


@dataclass
class Planned:
    """A checked product: create_product's arguments."""

    ref: str
    fields: dict
    skus: list[dict]
    sale_months: list[int] | None
    rows: list[int]


def _categories() -> dict[str, int]:
    rows = db.session.execute(select(Category.id, Category.slug, Category.name)).all()
    names: dict[str, list[int]] = {}
    for row in rows:
        names.setdefault(row.name, []).append(row.id)
    lookup = {name: ids[0] for name, ids in names.items() if len(ids) == 1}  # a name only when unambiguous
    return lookup | {row.slug: row.id for row in rows}


def existing_refs(supplier_id: int) -> dict[str, int]:
    """{product code: product id} of a supplier's products: external_ref, or "P<id>" (what export writes)."""
    refs = {}
    for product_id, ref in db.session.execute(select(Product.id, Product.external_ref)
                                              .where(Product.supplier_id == supplier_id)):
        refs[ref if ref is not None else f"P{product_id}"] = product_id
    return refs


class _Regions:
    """The look-up create_product does (a reservoir-area district), once per code."""

    def __init__(self):
        self.problems: dict[str, dict | None] = {}

    def problem(self, code: str) -> dict | None:
        if code not in self.problems:
            from shop.regions.services import get_region

            try:
                get_region(code=code, field="origin_district_code", reservoir_only=True)
                self.problems[code] = None
            except ValidationFailed as error:
                self.problems[code] = error.errors
        return self.problems[code]


def check_sheet(sheet: Sheet, *, supplier_id: int, progress=None) -> tuple[list[Planned], Report, dict]:
    """Every problem of every row, and the products to create when there is none."""
    report = Report()
    report.errors += sheet.header_errors
    groups: dict[str, Group] = {}
    stats = {"rows": len(sheet.rows), "products": 0, "skus": 0}
    if sheet.missing_columns:
        return [], report, stats
    update = progress.update if progress is not None else (lambda n: None)
    for number, cells in sheet.rows:
        parsed = {}
        for column, raw in cells.items():
            if blank(raw):
                continue
            try:
                parsed[column] = PARSERS[column](raw, column)
            except CellError as error:
                report.add(number, column, str(error))
        ref = parsed.get("product_ref")
        if ref is None or len(ref) > REF_MAX_LENGTH:
            if (number, "product_ref") not in report.flagged:
                report.add(number, "product_ref", "Required: your own product code; rows with the same product_ref "
                           "are one product." if ref is None else f"At most {REF_MAX_LENGTH} characters.")
            update(1)
            continue
        sku = {c: parsed[c] for c in SKU_COLUMNS if c in parsed}
        group = groups.get(ref)
        if group is None:
            groups[ref] = Group(ref=ref, first_row=number, rows=[(number, sku)],
                                product={c: parsed[c] for c in PRODUCT_COLUMNS if c in parsed},
                                bad={c for c in PRODUCT_COLUMNS if (number, c) in report.flagged})
            continue
        group.rows.append((number, sku))
        for column in PRODUCT_COLUMNS[1:]:
            value = parsed.get(column)
            if value is None or column in group.bad or value == group.product.get(column):
                continue  # blank: the first row's value
            report.add(number, column, f"Differs from row {group.first_row}, the first row of product_ref {ref}: "
                                       f"a product's columns have the same value on each of its rows.")
    stats["products"] = len(groups)
    stats["skus"] = sum(len(g.rows) for g in groups.values())
    categories = _categories()
    regions = _Regions()
    refs = existing_refs(supplier_id)
    planned = []
    for group in groups.values():
        planned.append(_check_group(group, supplier_id=supplier_id, report=report, categories=categories,
                                    regions=regions, refs=refs))
        update(len(group.rows))
    return planned, report, stats


def _check_group(group: Group, *, supplier_id: int, report: Report, categories, regions, refs) -> Planned:
    first = group.first_row
    if group.ref in refs:
        report.add(first, "product_ref", f"product_ref {group.ref} already exists for this supplier (product "
                                         f"{refs[group.ref]}): an import creates products, it does not update them.")
    body = {COLUMN_FIELDS.get(c, c): v for c, v in group.product.items() if c != "product_ref"}
    if "category_id" in body:
        slug = body.pop("category_id")
        if slug in categories or slug.lower() in categories:
            body["category_id"] = categories.get(slug, categories.get(slug.lower()))
        else:
            report.add(first, "category", f"Unknown category {slug!r}: use a slug from GET /api/v1/categories.")
    body["supplier_id"] = supplier_id
    body["skus"] = [sku for _number, sku in group.rows]
    try:
        loaded, errors = ProductCreateSchema().load(body), {}
    except ValidationError as error:
        loaded, errors = error.valid_data or {}, dict(error.messages)
    sku_errors = errors.pop("skus", {})
    report.add_field_errors(first, errors)
    if isinstance(sku_errors, list):  # the list itself: too many SKUs for one product
        report.add(first, "product_ref", "Too many SKU rows for one product: " + "; ".join(_messages(sku_errors)))
        sku_errors = {}
    if "origin_district_code" in loaded and (problem := regions.problem(loaded["origin_district_code"])):
        report.add_field_errors(first, problem)
    try:
        services.check_product(loaded)
    except ValidationFailed as error:
        report.add_field_errors(first, error.errors or {})
    skus = []
    for i, (number, raw) in enumerate(group.rows):
        if i in sku_errors or str(i) in sku_errors:
            report.add_field_errors(number, sku_errors.get(i, sku_errors.get(str(i))))
            continue
        sku = loaded["skus"][i] if "skus" in loaded else SkuCreateSchema().load(raw)
        report.add_field_errors(number, services.sku_problems(services.SKU_DEFAULTS | sku))
        skus.append(sku)
    fields = {k: v for k, v in loaded.items() if k not in ("supplier_id", "skus", "sale_months")}
    return Planned(ref=group.ref, fields=fields, skus=skus, sale_months=loaded.get("sale_months"),
                   rows=[number for number, _sku in group.rows])


# --- importing ----------------------------------------------------------------------------------------------


class _NoProgress:
    def update(self, n: int) -> None:
        pass


@contextmanager
def no_progress(label: str, length: int):
    yield _NoProgress()


def import_catalog(*, user, supplier_id: int, data: bytes, filename: str = "", dry_run: bool = True,
                   publish: bool = False, progress=no_progress) -> dict:
    """Check a CSV/.xlsx catalog and, unless dry_run, create all its products (drafts, or published with
    publish=True) in one unit of work. Members of the supplier only (others: 404).

    Returns {"dry_run", "rows", "products", "skus", "errors", "error_count", "imported_product_ids"}; a
    real run with errors raises ValidationFailed import_rejected (422) carrying the report in errors["rows"].
    `progress(label, length)` is a context manager whose `update(n)` is called as rows are done (a click
    progress bar)."""
    if dry_run:
        result, _planned = _check(user=user, supplier_id=supplier_id, data=data, filename=filename,
                                  dry_run=dry_run, publish=publish, progress=progress)
        end_read()  # nothing was written; end the read transaction
        return result
    try:
        with transaction():  # the checks' reads and every write: one unit, all or nothing
            result, planned = _check(user=user, supplier_id=supplier_id, data=data, filename=filename,
                                     dry_run=dry_run, publish=publish, progress=progress)
            if result["error_count"]:
                raise ValidationFailed(f"{result['error_count']} problem(s) in the file: nothing was imported.",
                                       code="import_rejected",
                                       errors={"rows": result["errors"], "error_count": result["error_count"]})
            if not planned:
                raise ValidationFailed("The file has no product rows.", code="empty_import",
                                       errors={"file": ["No rows below the header."]})
            result["imported_product_ids"] = _create_all(user=user, supplier_id=supplier_id, planned=planned,
                                                         publish=publish, progress=progress)
    except IntegrityError as error:  # rolled back; only a product_ref taken meanwhile is the client's conflict
        if "external_ref" not in str(error):
            raise
        raise Conflict("Another import created one of these product_refs meanwhile: nothing was imported; "
                       "run the import again to see which.", code="duplicate_product_ref")
    return result


def _check(*, user, supplier_id: int, data: bytes, filename: str, dry_run: bool, publish: bool,
           progress) -> tuple[dict, list[Planned]]:
    """The report of a check (what import_catalog returns, no product imported yet) and the products to create.
    Reads only, in the caller's transaction."""
    supplier = require_member_of(user=user, supplier_id=supplier_id, what="supplier", action="edit_listings")
    if publish:
        supplier_services().ensure_can_publish(supplier=supplier)
    sheet = read_sheet(data, filename)
    with progress("Checking rows", len(sheet.rows)) as bar:
        planned, report, stats = check_sheet(sheet, supplier_id=supplier.id, progress=bar)
    errors = report.sorted()
    result = {"dry_run": dry_run, "publish": publish, **stats, "error_count": len(errors),
              "errors": errors[:MAX_ERRORS], "imported_product_ids": []}
    return result, planned


def _create_all(*, user, supplier_id: int, planned: list[Planned], publish: bool, progress) -> list[int]:
    """All products in the caller's unit of work, through insert_product (the same rules, stock history and
    search text as POST /products): committed once by the caller, on any failure nothing stays."""
    ids = []
    now = utcnow()
    with progress("Importing products", len(planned)) as bar:
        for plan in planned:
            product = services.insert_product(user=user, supplier_id=supplier_id, skus=plan.skus,
                                              sale_months=plan.sale_months, external_ref=plan.ref, **plan.fields)
            if publish:  # a fresh draft with its SKUs; the supplier's approval was checked up front
                assert product.can_move_to("active")
                product.status, product.published_at = "active", now
            ids.append(product.id)
            bar.update(1)
    return ids


def default_actor(*, supplier_id: int, email: str | None = None):
    """Who a command-line import acts as: the member with this email, else the supplier's first owner."""
    from shop.accounts.models import User
    from shop.suppliers.models import SupplierMember

    stmt = select(User).join(SupplierMember, SupplierMember.user_id == User.id).where(
        SupplierMember.supplier_id == supplier_id)
    if email:
        stmt = stmt.where(User.email_normalized == email.strip().lower())
    else:
        stmt = stmt.where(SupplierMember.role == "owner")
    return db.session.scalar(stmt.order_by(SupplierMember.id).limit(1))
