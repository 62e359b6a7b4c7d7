"""Product cards (the public list and search) and the public product page, read as columns and built as dicts.

These are the shop's hottest reads. Loading Product entities (search_text, search_grams, description and the
supplier's whole row come along), populating the identity map and dumping them through nested marshmallow
schemas took most of a list request (benchmarks/README.md, "Read paths"). Here Core SELECTs read only what
is shown, and the dicts are already in the dumped shape of ProductSummarySchema / ProductDetailSchema, which
stay the documented response schemas: tests/catalog/test_cards.py compares these dicts with those schemas'
dump of the same products, so a field added to a schema and not here fails there.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import aliased

from shop.catalog.models import GiRecord, Product, Sku, mask_to_months, on_sale_again_month_of
from shop.catalog.return_policies import notice_for
from shop.extensions import db
from shop.regions.models import Region
from shop.suppliers.models import Supplier

_SupplierDistrict = aliased(Region, name="supplier_district")

# Labelled as the entities name them where a sort key reads them back for the cursor (id, min_price_fen, ...).
CARD_COLUMNS = (
    Product.id, Product.name, Product.subtitle, Product.category_id, Product.min_price_fen, Product.sales_count,
    Product.images, Product.cold_chain, Product.sale_months_mask, Product.return_policy, Product.status,
    Product.published_at, Product.supplier_id, Supplier.name.label("supplier_name"),
    Supplier.kind.label("supplier_kind"), Product.origin_district_code, Region.name.label("district_name"),
    Region.level.label("district_level"),
)
# The product page adds these, and the supplier's status (who may see an unpublished product).
DETAIL_COLUMNS = CARD_COLUMNS + (
    Product.description, Product.product_type, Product.sc_license_number, Product.food_filing_number,
    Product.shelf_life_days, Product.storage, Product.created_at, Product.updated_at,
    Supplier.status.label("supplier_status"), Supplier.district_code.label("supplier_district_code"),
    _SupplierDistrict.name.label("supplier_district_name"), _SupplierDistrict.level.label("supplier_district_level"),
)
_GI_COLUMNS = (GiRecord.product_id, GiRecord.id, GiRecord.scheme, GiRecord.number, GiRecord.protected_area,
               GiRecord.harvest_months_mask, GiRecord.status)
_SKU_COLUMNS = (Sku.id, Sku.product_id, Sku.spec, Sku.unit, Sku.weight_g, Sku.price_fen, Sku.stock,
                Sku.min_order_qty, Sku.qty_step, Sku.price_tiers, Sku.barcode, Sku.is_active)


def card_select(*extra_columns):
    """SELECT of the card columns (and `extra_columns`) from product joined to its supplier and origin district;
    the caller adds the WHERE clauses."""
    return (select(*CARD_COLUMNS, *extra_columns).select_from(Product).join(Product.supplier)
            .join(Product.origin_district))


@lru_cache(maxsize=None)  # at most 4,096 masks x 12 months; a pure function of both
def _season(mask: int, month: int) -> tuple[tuple[int, ...], bool, int | None]:
    return tuple(mask_to_months(mask)), bool(mask & (1 << (month - 1))), on_sale_again_month_of(mask, month)


def _iso(moment):
    return moment.isoformat() if moment is not None else None


def _gi_briefs(product_ids: list[int]) -> dict[int, list[dict]]:
    """GiRecordBriefSchema dicts of several products in one statement, each product's in id order."""
    briefs: dict[int, list[dict]] = {}
    if not product_ids:
        return briefs
    rows = db.session.execute(select(*_GI_COLUMNS).where(GiRecord.product_id.in_(product_ids))
                              .order_by(GiRecord.id))
    for row in rows:
        briefs.setdefault(row.product_id, []).append({
            "id": row.id, "scheme": row.scheme, "number": row.number, "protected_area": row.protected_area,
            "harvest_months": mask_to_months(row.harvest_months_mask), "status": row.status})
    return briefs


def _card(row, gi_records: list[dict], month: int) -> dict:
    months, in_season, again = _season(row.sale_months_mask, month)
    images = row.images
    return {
        "id": row.id, "name": row.name, "subtitle": row.subtitle, "category_id": row.category_id,
        "supplier": {"id": row.supplier_id, "name": row.supplier_name, "kind": row.supplier_kind},
        "origin_district": {"code": row.origin_district_code, "name": row.district_name,
                            "level": row.district_level},
        "min_price_fen": row.min_price_fen, "sales_count": row.sales_count,
        "cover_image": images[0] if images else None,
        "gi_records": gi_records, "gi_verified": any(r["status"] == "verified" for r in gi_records),
        "cold_chain": row.cold_chain, "sale_months": list(months), "in_season": in_season,
        "on_sale_again_month": again, "return_policy": row.return_policy,
        "return_notice": notice_for(row.return_policy), "status": row.status, "published_at": _iso(row.published_at),
    }


def cards(rows, *, month: int) -> list[dict]:
    """ProductSummarySchema dicts of card_select() rows; one more statement (their GI records) for the lot."""
    gi = _gi_briefs([row.id for row in rows])
    return [_card(row, gi.get(row.id, []), month) for row in rows]


# --- the product page ---------------------------------------------------------------------------------------


def detail_row(product_id: int):
    """The product page's columns of one product, any status, or None."""
    return db.session.execute(
        select(*DETAIL_COLUMNS).select_from(Product).join(Product.supplier).join(Product.origin_district)
        .join(_SupplierDistrict, _SupplierDistrict.code == Supplier.district_code)
        .where(Product.id == product_id)).one_or_none()


def _skus(product_id: int) -> list[dict]:
    return [{"id": s.id, "product_id": s.product_id, "spec": s.spec, "unit": s.unit, "weight_g": s.weight_g,
             "price_fen": s.price_fen, "stock": s.stock, "min_order_qty": s.min_order_qty, "qty_step": s.qty_step,
             "price_tiers": [{"min_qty": t["min_qty"], "price_fen": t["price_fen"]} for t in s.price_tiers or []],
             "barcode": s.barcode, "is_active": s.is_active}
            for s in db.session.execute(select(*_SKU_COLUMNS).where(Sku.product_id == product_id).order_by(Sku.id))]


def detail(row, *, month: int, supporting_regions: list[dict]) -> dict:
    """ProductDetailSchema dict of a detail_row(); two more statements (SKUs, GI records)."""
    page = _card(row, _gi_briefs([row.id]).get(row.id, []), month)
    page["supplier"]["district"] = {"code": row.supplier_district_code, "name": row.supplier_district_name,
                                    "level": row.supplier_district_level}
    page.update({
        "supplier_id": row.supplier_id, "description": row.description,
        "origin_district_code": row.origin_district_code, "product_type": row.product_type,
        "sc_license_number": row.sc_license_number, "food_filing_number": row.food_filing_number,
        "shelf_life_days": row.shelf_life_days, "storage": row.storage, "images": list(row.images or []),
        "skus": _skus(row.id), "created_at": _iso(row.created_at), "updated_at": _iso(row.updated_at),
        "supporting_regions": supporting_regions,
    })
    return page
