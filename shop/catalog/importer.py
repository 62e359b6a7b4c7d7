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

import csv
import datetime as dt
import io
import re
import unicodedata
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop.catalog import services
from shop.catalog.models import Category, Product
from shop.catalog.queries import require_member_of, supplier_services
from shop.catalog.schemas import ProductCreateSchema, SkuCreateSchema
from shop.database import utcnow
from shop.errors import Conflict, ShopError, ValidationFailed
from shop.extensions import db

MAX_ROWS = 5_000  # data rows, header excluded
MAX_ERRORS = 1_000  # errors listed in a report (error_count tells how many there were)
MAX_COLUMNS = 64
MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # an .xlsx is a zip: refuse archives that unpack to more than this
REF_MAX_LENGTH = 64  # Product.external_ref

PRODUCT_COLUMNS = ("product_ref", "name", "subtitle", "description", "category", "origin_district_code",
                   "product_type", "sc_license_number", "food_filing_number", "gi_scheme", "gi_number",
                   "gi_protected_area", "shelf_life_days", "storage", "cold_chain", "sale_months", "return_policy",
                   "images")
SKU_COLUMNS = ("spec", "unit", "weight_g", "price_fen", "stock", "min_order_qty", "qty_step", "barcode",
               "price_tiers")
COLUMNS = PRODUCT_COLUMNS + SKU_COLUMNS
FIELD_COLUMNS = {"category_id": "category"}  # schema/service field → column, where the names differ
COLUMN_FIELDS = {column: field_name for field_name, column in FIELD_COLUMNS.items()}

# A column is required when the create schemas require its field (and product_ref, which groups the rows).
REQUIRED_COLUMNS = ("product_ref",) + tuple(
    FIELD_COLUMNS.get(name, name) for name, f in ProductCreateSchema().fields.items()
    if f.required and name != "supplier_id") + tuple(
    name for name, f in SkuCreateSchema().fields.items() if f.required)

ALIASES = {
    "product_ref": ("商品编码", "商品编号", "产品编码", "货号", "商家编码"),
    "name": ("商品名称", "名称", "品名"),
    "subtitle": ("副标题",),
    "description": ("商品描述", "描述", "详情"),
    "category": ("类目", "分类", "商品分类"),
    "origin_district_code": ("产地代码", "产地区县代码", "产地行政区划代码"),
    "product_type": ("商品类型",),
    "sc_license_number": ("SC编号", "食品生产许可证编号", "生产许可证编号"),
    "food_filing_number": ("备案号", "食品备案号"),
    "gi_scheme": ("地理标志类型",),
    "gi_number": ("地理标志编号",),
    "gi_protected_area": ("地理标志保护范围",),
    "shelf_life_days": ("保质期(天)", "保质期天数", "保质期"),
    "storage": ("储存条件", "贮存条件"),
    "cold_chain": ("冷链", "冷链配送"),
    "sale_months": ("销售月份", "上市月份"),
    "return_policy": ("退货政策",),
    "images": ("图片", "商品图片"),
    "spec": ("规格",),
    "unit": ("单位",),
    "weight_g": ("重量(克)", "重量(g)", "重量"),
    "price_fen": ("价格(分)", "单价(分)"),
    "stock": ("库存",),
    "min_order_qty": ("起订量", "最小起订量"),
    "qty_step": ("购买倍数", "箱规"),
    "barcode": ("条码", "商品条码"),
    "price_tiers": ("阶梯价", "阶梯价格"),
}


def _header_key(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).strip("*").lower()


HEADERS = {_header_key(c): c for c in COLUMNS} | {
    _header_key(alias): column for column, aliases in ALIASES.items() for alias in aliases}


class InvalidSpreadsheet(ValidationFailed):
    code = "invalid_spreadsheet"
    title = "Not a readable spreadsheet"

    def __init__(self, detail: str):
        super().__init__(detail, errors={"file": [detail]})


class CellError(Exception):
    """A cell that cannot be read as its column's type; the message is reported as is."""


# --- reading the file ---------------------------------------------------------------------------------------


@dataclass
class Sheet:
    columns: list[str | None]  # canonical column name per position; None: ignored (blank or unknown header)
    rows: list[tuple[int, dict]]  # (spreadsheet row number, {column: raw cell}) of non-blank data rows
    header_errors: list[dict]
    missing_columns: list[str]


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _xlsx_rows(data: bytes):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise InvalidSpreadsheet("The .xlsx file unpacks to too much data.")
        import openpyxl

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it does not read
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except InvalidSpreadsheet:
        raise
    except Exception:  # zipfile, XML and openpyxl errors alike: a damaged or foreign file
        raise InvalidSpreadsheet("Not a readable .xlsx file.")
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS)
    finally:
        workbook.close()


def _csv_rows(data: bytes):
    if b"\x00" in data:  # images, archives and other binary files; no text encoding we read has NUL bytes
        raise InvalidSpreadsheet("Not a spreadsheet: upload an .xlsx file or a CSV file (UTF-8).")
    for encoding in ("utf-8-sig", "gb18030"):  # Excel's "CSV UTF-8" (with BOM), plain UTF-8, or Excel's GBK CSV
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidSpreadsheet("Not a CSV file in UTF-8.")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        yield tuple(row[:MAX_COLUMNS])


def read_sheet(data: bytes, filename: str = "") -> Sheet:
    """The rows of the first worksheet of an .xlsx, or of a CSV file; InvalidSpreadsheet (422) for anything
    else, ValidationFailed too_many_rows above MAX_ROWS data rows."""
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(data)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidSpreadsheet("An old Excel .xls file: save it as .xlsx (or CSV UTF-8) and upload that.")
    elif filename.lower().endswith((".xlsx", ".xlsm")):
        raise InvalidSpreadsheet("Not a readable .xlsx file.")
    else:
        rows = _csv_rows(data)
    try:
        return _read_rows(rows)
    except (ShopError, CellError):
        raise
    except Exception:  # a damaged worksheet found while reading it, a malformed CSV
        raise InvalidSpreadsheet("The spreadsheet could not be read.")


def _read_rows(rows) -> Sheet:
    header = next(iter(rows), None)
    if header is None or all(_blank(cell) for cell in header):
        raise InvalidSpreadsheet("Row 1 must hold the column names; it is empty.")
    columns: list[str | None] = []
    header_errors: list[dict] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(header):
        if _blank(cell):
            columns.append(None)
            continue
        text = str(cell).strip()
        column = HEADERS.get(_header_key(text))
        if column is None:
            header_errors.append({"row": 1, "column": text,
                                  "message": f"Unknown column. The columns are: {', '.join(COLUMNS)}."})
        elif column in seen:
            header_errors.append({"row": 1, "column": text,
                                  "message": f"Duplicate column: {column} is also column {seen[column] + 1}."})
            column = None
        else:
            seen[column] = position
        columns.append(column)
    if not seen:
        raise InvalidSpreadsheet(f"No known column in row 1: is this a catalog sheet? The columns are: "
                                 f"{', '.join(COLUMNS)}.")
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    header_errors += [{"row": 1, "column": c, "message": "Required column missing."} for c in missing]
    data_rows = []
    for number, cells in enumerate(rows, start=2):
        if all(_blank(cell) for cell in cells):
            continue
        if len(data_rows) == MAX_ROWS:
            raise ValidationFailed(f"At most {MAX_ROWS} rows per import: split the file.", code="too_many_rows",
                                   errors={"file": [f"More than {MAX_ROWS} rows."]})
        data_rows.append((number, {column: cell for column, cell in zip(columns, cells) if column}))
    return Sheet(columns=columns, rows=data_rows, header_errors=header_errors, missing_columns=missing)


# --- cells --------------------------------------------------------------------------------------------------

MONEY_COLUMNS = {"price_fen", "price_tiers"}
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+)")


def _text(value, column: str) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed as a number (500237, a barcode)
    elif isinstance(value, (dt.datetime, dt.date, dt.time)):
        raise CellError("Excel turned this cell into a date: format the column as text and type it again.")
    return str(value).strip()


def _int(value, column: str) -> int:
    if isinstance(value, bool):
        raise CellError("A whole number, not true/false.")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        shown = f"{value:g}"
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        if _INTEGER.fullmatch(text):
            return int(text)
        if not _DECIMAL.fullmatch(text):
            raise CellError(f"Not a whole number: {text!r}.")
        shown = text
    if column in MONEY_COLUMNS:
        raise CellError(f"Prices are whole fen (分), not yuan: {shown} is not accepted and not converted "
                        f"(¥59.90 is written 5990).")
    raise CellError(f"A whole number is expected, not {shown}.")


_TRUE = {"true", "yes", "y", "1", "是", "需要", "冷链"}
_FALSE = {"false", "no", "n", "0", "否", "不需要"}


def _bool(value, column: str) -> bool:
    if isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError("true or false (是 or 否).")


_MONTH_SEPARATORS = re.compile(r"[,、;\s]+")
_MONTH_RANGE = re.compile(r"(\d{1,2})月?\s*(?:-|~|至|到|–|—)\s*(\d{1,2})月?")
_MONTH = re.compile(r"(\d{1,2})月?")


def _months(value, column: str) -> list[int]:
    if isinstance(value, (dt.datetime, dt.date)):
        raise CellError("Excel turned this into a date: format the column as text and type the months again "
                        "(e.g. 6-8).")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [_int(value, column)]
    months: list[int] = []
    text = re.sub(r"\s*(-|~|至|到|–|—)\s*", r"\1", unicodedata.normalize("NFKC", str(value)).strip())  # "6 - 8"
    for piece in _MONTH_SEPARATORS.split(text):
        if not piece:
            continue
        if match := _MONTH_RANGE.fullmatch(piece):
            first, last = int(match[1]), int(match[2])
            if not (1 <= first <= 12 and 1 <= last <= 12):
                raise CellError(f"Months are 1 to 12: {piece}.")
            span = (last - first) % 12  # "11-2" runs over the new year
            months += [(first - 1 + i) % 12 + 1 for i in range(span + 1)]
        elif match := _MONTH.fullmatch(piece):
            months.append(int(match[1]))  # the schema checks the range
        else:
            raise CellError(f'Months like "6,7,8" or "6-8", not {piece!r}.')
    return months


def _images(value, column: str) -> list[str]:
    return [url for url in re.split(r"[\s|]+", str(value).strip()) if url]


def _tiers(value, column: str) -> list[dict]:
    tiers = []
    for i, piece in enumerate(p for p in re.split(r"[;\n]+", unicodedata.normalize("NFKC", str(value))) if p.strip()):
        min_qty, sep, price = piece.partition(":")
        if not sep:
            raise CellError(f'Tier {i + 1}: write min_qty:price_fen, tiers separated by ";" '
                            f'(e.g. 100:5000;500:4800), not {piece.strip()!r}.')
        try:
            tiers.append({"min_qty": _int(min_qty, "min_order_qty"), "price_fen": _int(price, column)})
        except CellError as error:
            raise CellError(f"Tier {i + 1}: {error}")
    return tiers


PARSERS = {column: _text for column in COLUMNS} | {
    "shelf_life_days": _int, "weight_g": _int, "price_fen": _int, "stock": _int, "min_order_qty": _int,
    "qty_step": _int, "cold_chain": _bool, "sale_months": _months, "images": _images, "price_tiers": _tiers}


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
            if _blank(raw):
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
    values = {k: v for k, v in loaded.items() if k in services.PRODUCT_FIELDS}
    try:
        services.check_product(values)
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
    publish=True) in one transaction. Members of the supplier only (others: 404).

    Returns {"dry_run", "rows", "products", "skus", "errors", "error_count", "imported_product_ids"}; a
    real run with errors raises ValidationFailed import_rejected (422) carrying the report in errors["rows"].
    `progress(label, length)` is a context manager whose `update(n)` is called as rows are done (a click
    progress bar)."""
    supplier = require_member_of(user=user, supplier_id=supplier_id, what="supplier")
    if publish:
        supplier_services().ensure_can_publish(supplier=supplier)
    sheet = read_sheet(data, filename)
    with progress("Checking rows", len(sheet.rows)) as bar:
        planned, report, stats = check_sheet(sheet, supplier_id=supplier.id, progress=bar)
    errors = report.sorted()
    result = {"dry_run": dry_run, "publish": publish, **stats, "error_count": len(errors),
              "errors": errors[:MAX_ERRORS], "imported_product_ids": []}
    if dry_run:
        db.session.rollback()  # nothing was written; end the read transaction
        return result
    if errors:
        db.session.rollback()
        raise ValidationFailed(f"{len(errors)} problem(s) in the file: nothing was imported.", code="import_rejected",
                               errors={"rows": errors[:MAX_ERRORS], "error_count": len(errors)})
    if not planned:
        raise ValidationFailed("The file has no product rows.", code="empty_import",
                               errors={"file": ["No rows below the header."]})
    result["imported_product_ids"] = _create_all(user=user, supplier_id=supplier.id, planned=planned,
                                                 publish=publish, progress=progress)
    return result


def _create_all(*, user, supplier_id: int, planned: list[Planned], publish: bool, progress) -> list[int]:
    """All products in one transaction, through create_product (the same rules, stock history and search text
    as POST /products), committed once: on any failure nothing stays."""
    ids = []
    now = utcnow()
    try:
        with progress("Importing products", len(planned)) as bar:
            for plan in planned:
                product = services.create_product(user=user, supplier_id=supplier_id, skus=plan.skus,
                                                  sale_months=plan.sale_months, external_ref=plan.ref,
                                                  commit=False, **plan.fields)
                if publish:  # a fresh draft with its SKUs; the supplier's approval was checked up front
                    assert product.can_move_to("active")
                    product.status, product.published_at = "active", now
                ids.append(product.id)
                bar.update(1)
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        if "external_ref" not in str(error):
            raise
        raise Conflict("Another import created one of these product_refs meanwhile: nothing was imported; "
                       "run the import again to see which.", code="duplicate_product_ref")
    except BaseException:
        db.session.rollback()
        raise
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
