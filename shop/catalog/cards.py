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
from operator import itemgetter

from sqlalchemy import select
from sqlalchemy.orm import aliased

from shop.catalog.models import GiRecord, Product, Sku, mask_to_months, on_sale_again_month_of
from shop.catalog.return_policies import notice_for
from shop.database import json_objects
from shop.extensions import db
from shop.regions.models import Region
from shop.regions.services import supporting_regions_json
from shop.suppliers.models import Supplier

_SupplierDistrict = aliased(Region, name="supplier_district")

# What a card shows; the joined tables' columns labelled apart from the product's.
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


def _gi_records_json(product_id):
    """The product's GI records (GiRecordBriefSchema's fields, the months as their mask) as a JSON array."""
    return (select(json_objects(id=GiRecord.id, scheme=GiRecord.scheme, number=GiRecord.number,
                                protected_area=GiRecord.protected_area, months=GiRecord.harvest_months_mask,
                                status=GiRecord.status))
            .where(GiRecord.product_id == product_id).scalar_subquery())


def _skus_json(product_id):
    return (select(json_objects(id=Sku.id, product_id=Sku.product_id, spec=Sku.spec, unit=Sku.unit,
                                weight_g=Sku.weight_g, price_fen=Sku.price_fen, stock=Sku.stock,
                                min_order_qty=Sku.min_order_qty, qty_step=Sku.qty_step,
                                price_tiers=Sku.price_tiers, barcode=Sku.barcode, is_active=Sku.is_active))
            .where(Sku.product_id == product_id).scalar_subquery())


def card_select(*extra_columns):
    """SELECT of the card columns (and `extra_columns`) from product joined to its supplier and origin district;
    the caller adds the WHERE clauses, then pages it with with_gi_records as the outer SELECT."""
    return (select(*CARD_COLUMNS, *extra_columns).select_from(Product).join(Product.supplier)
            .join(Product.origin_district))


def with_gi_records(page):
    """The outer SELECT of a page of card_select(): its rows and each one's GI records, in the same statement
    (computed for the page's rows only, not for every row a sort considers)."""
    return select(page, _gi_records_json(page.c.id).label("gi_records"))


@lru_cache(maxsize=None)  # at most 4,096 masks x 12 months; a pure function of both
def _season(mask: int, month: int) -> tuple[tuple[int, ...], bool, int | None]:
    return tuple(mask_to_months(mask)), bool(mask & (1 << (month - 1))), on_sale_again_month_of(mask, month)


def _iso(moment):
    return moment.isoformat() if moment is not None else None


def _gi_briefs(records: list[dict] | None) -> list[dict]:
    return [{"id": r["id"], "scheme": r["scheme"], "number": r["number"], "protected_area": r["protected_area"],
             "harvest_months": mask_to_months(r["months"]), "status": r["status"]}
            for r in sorted(records or (), key=itemgetter("id"))]


def card(row, *, month: int) -> dict:
    """The ProductSummarySchema dict of a row of a with_gi_records page (or of detail_row)."""
    months, in_season, again = _season(row.sale_months_mask, month)
    images = row.images
    gi_records = _gi_briefs(row.gi_records)
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


# --- the product page ---------------------------------------------------------------------------------------


def detail_row(product_id: int):
    """The product page of one product, any status, in one statement (its SKUs, GI records and the regions
    supporting its origin district as JSON arrays), or None."""
    return db.session.execute(
        select(*DETAIL_COLUMNS, _gi_records_json(Product.id).label("gi_records"),
               _skus_json(Product.id).label("skus"),
               supporting_regions_json(Product.origin_district_code).label("supporting_regions"))
        .select_from(Product).join(Product.supplier).join(Product.origin_district)
        .join(_SupplierDistrict, _SupplierDistrict.code == Supplier.district_code)
        .where(Product.id == product_id)).one_or_none()


def _sku(s: dict) -> dict:
    return {"id": s["id"], "product_id": s["product_id"], "spec": s["spec"], "unit": s["unit"],
            "weight_g": s["weight_g"], "price_fen": s["price_fen"], "stock": s["stock"],
            "min_order_qty": s["min_order_qty"], "qty_step": s["qty_step"],
            "price_tiers": [{"min_qty": t["min_qty"], "price_fen": t["price_fen"]} for t in s["price_tiers"] or []],
            "barcode": s["barcode"], "is_active": bool(s["is_active"])}  # SQLite's JSON says 0/1


def detail(row, *, month: int) -> dict:
    """The ProductDetailSchema dict of a detail_row()."""
    page = card(row, month=month)
    page["supplier"]["district"] = {"code": row.supplier_district_code, "name": row.supplier_district_name,
                                    "level": row.supplier_district_level}
    page.update({
        "supplier_id": row.supplier_id, "description": row.description,
        "origin_district_code": row.origin_district_code, "product_type": row.product_type,
        "sc_license_number": row.sc_license_number, "food_filing_number": row.food_filing_number,
        "shelf_life_days": row.shelf_life_days, "storage": row.storage, "images": list(row.images or []),
        "skus": [_sku(s) for s in sorted(row.skus or (), key=itemgetter("id"))],
        "created_at": _iso(row.created_at), "updated_at": _iso(row.updated_at),
        "supporting_regions": [{"code": r["code"], "name": r["name"], "level": r["level"]}
                               for r in sorted(row.supporting_regions or (), key=itemgetter("code"))],
    })
    return page
