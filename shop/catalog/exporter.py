"""A supplier's catalog as an .xlsx in the import format (shop.catalog.importer), so export → import round-trips.

One row per active SKU, product columns repeated; product_ref is the product's external_ref, or "P<id>" for a
product created otherwise. Draft and active products are exported, archived ones are not (they are off the
catalog). A product without an active SKU gets one row with the SKU columns blank: the import reports those
cells, which is the truth (a product needs a SKU). Codes, months and other text are written as text cells, so
that Excel does not turn 500237 into a number or "6-8" into a date when someone edits them.
"""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from shop.catalog.importer import ALIASES, COLUMNS, REQUIRED_COLUMNS
from shop.catalog.models import ALL_MONTHS_MASK, Product
from shop.catalog.queries import require_member_of
from shop.extensions import db
from shop.spreadsheets import XLSX_MIMETYPE  # noqa: F401  (the catalog routes and the statements read it here)

BATCH = 500
TEXT_COLUMNS = {"product_ref", "origin_district_code", "sc_license_number", "food_filing_number", "gi_number",
                "sale_months", "barcode", "price_tiers", "spec", "unit", "cold_chain"}
WIDTHS = {"name": 28, "subtitle": 28, "description": 40, "images": 40, "spec": 20, "price_tiers": 20}


def month_ranges(months: list[int]) -> str:
    """[6, 7, 8, 10] → "6-8,10" (what the import reads back)."""
    pieces, start = [], None
    for i, month in enumerate(months):
        if start is None:
            start = month
        if i + 1 == len(months) or months[i + 1] != month + 1:
            pieces.append(str(start) if start == month else f"{start}-{month}")
            start = None
    return ",".join(pieces)


def product_rows(product: Product) -> list[dict]:
    common = {
        "product_ref": product.external_ref or f"P{product.id}",
        "name": product.name, "subtitle": product.subtitle or None, "description": product.description or None,
        "category": product.category.slug, "origin_district_code": product.origin_district_code,
        "product_type": product.product_type, "sc_license_number": product.sc_license_number,
        "food_filing_number": product.food_filing_number,
        # The sheet has room for one GI claim: the first (the API lists them all).
        **{f"gi_{key}": getattr(product.gi_records[0], key) if product.gi_records else None
           for key in ("scheme", "number", "protected_area")},
        "shelf_life_days": product.shelf_life_days, "storage": product.storage or None,
        "cold_chain": "true" if product.cold_chain else "false",
        "sale_months": None if product.sale_months_mask == ALL_MONTHS_MASK else month_ranges(product.sale_months),
        "return_policy": product.return_policy, "images": " | ".join(product.images or []) or None,
    }
    skus = [sku for sku in product.skus if sku.is_active]
    if not skus:
        return [common]
    return [common | {
        "spec": sku.spec, "unit": sku.unit, "weight_g": sku.weight_g, "price_fen": sku.price_fen,
        "stock": sku.stock, "min_order_qty": sku.min_order_qty, "qty_step": sku.qty_step, "barcode": sku.barcode,
        "price_tiers": ";".join(f"{t['min_qty']}:{t['price_fen']}" for t in sku.price_tiers or []) or None,
    } for sku in skus]


def _products(supplier_id: int):
    """Draft and active products, oldest first, BATCH at a time (2 statements a batch; the session's identity map
    holds loaded rows weakly, so memory stays bounded)."""
    last_id = 0
    while True:
        batch = list(db.session.scalars(
            select(Product).where(Product.supplier_id == supplier_id, Product.status != "archived",
                                  Product.id > last_id)
            .options(joinedload(Product.category), selectinload(Product.skus), selectinload(Product.gi_records))
            .order_by(Product.id).limit(BATCH)))
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def export_catalog(*, user, supplier_id: int) -> bytes:
    """The .xlsx bytes of the supplier's catalog; members only (others: 404)."""
    require_member_of(user=user, supplier_id=supplier_id, what="supplier", action="edit_listings")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("catalog")
    for i, column in enumerate(COLUMNS):
        sheet.column_dimensions[_letter(i)].width = WIDTHS.get(column, 14)
    sheet.freeze_panes = "B2"
    bold = Font(bold=True)

    def cell(value, *, text=False, font=None):
        c = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # never a formula: product text written by staff must not run in the owner's Excel
        if text:
            c.number_format = "@"
        if font:
            c.font = font
        return c

    sheet.append([cell(column, font=bold) for column in COLUMNS])
    for product in _products(supplier_id):
        for row in product_rows(product):
            sheet.append([cell(row.get(column), text=column in TEXT_COLUMNS) for column in COLUMNS])
    notes = workbook.create_sheet("说明")
    notes.append(["column", "中文", "required", "notes"])
    for column in COLUMNS:
        notes.append([column, " / ".join(ALIASES.get(column, ())), "yes" if column in REQUIRED_COLUMNS else "",
                      NOTES.get(column, "")])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


NOTES = {
    "product_ref": "Your own product code; rows with the same product_ref are one product (one row per SKU).",
    "category": "A category slug (GET /api/v1/categories).",
    "origin_district_code": "6-digit code of a Three Gorges reservoir-area district.",
    "product_type": "raw_produce | prepackaged | seller_processed | tcm_decoction",
    "sc_license_number": "SC + 14 digits; required for seller_processed and tcm_decoction.",
    "food_filing_number": "Required for prepackaged.",
    "gi_scheme": "gi_trademark | gi_protected_product | agricultural_gi; with gi_number and gi_protected_area, "
                 "or all three blank.",
    "cold_chain": "true / false (是 / 否).",
    "sale_months": "e.g. 6-8 or 6,7,8; blank = all year.",
    "return_policy": "seven_day | excluded_fresh | excluded_custom | excluded_with_confirmation",
    "images": "Image URLs separated by | or spaces (at most 9).",
    "price_fen": "Integer fen (分): ¥59.90 is 5990.",
    "min_order_qty": "A multiple of qty_step.",
    "price_tiers": "min_qty:price_fen;... e.g. 100:5000;500:4800 (prices below price_fen, falling).",
}
