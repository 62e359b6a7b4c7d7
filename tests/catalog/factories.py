"""Catalog factories for any domain's tests: products with SKUs, built with the catalog's own rules."""
from __future__ import annotations

from sqlalchemy import select

from shop.catalog import gi, search, services
from shop.catalog.models import Category, Product, Sku, months_to_mask
from shop.database import utcnow
from shop.extensions import db
from shop.regions.models import Region

DEFAULT_SKU = {"spec": "5斤装 特级果", "unit": "箱", "weight_g": 2500, "price_fen": 5990, "stock": 100}


def category_id(slug: str) -> int:
    """The seeded category's id (tests/conftest.py seeds the tree for every test)."""
    found = db.session.scalar(select(Category.id).where(Category.slug == slug))
    assert found is not None, f"no seeded category {slug!r}"
    return found


def sku_body(**overrides) -> dict:
    return {**DEFAULT_SKU, **overrides}


def product_body(supplier_id: int, **overrides) -> dict:
    """A valid POST /products body (also create_product's keyword arguments)."""
    body = dict(supplier_id=supplier_id, name="巫山脆李", subtitle="高山脆李 现摘现发",
                description="巫山县曲尺乡果园直供。演示数据：价格为演示。", category_id=category_id("plums"),
                origin_district_code="500237", product_type="raw_produce", return_policy="excluded_fresh",
                cold_chain=True, sale_months=[6, 7, 8], shelf_life_days=7, storage="冷藏 0–4℃",
                images=["https://img.example.test/cuili-1.jpg"], skus=[sku_body()])
    body.update(overrides)
    return body


def make_product(supplier, *, status: str = "active", skus: list[dict] | None = None, category: str = "plums",
                 sale_months: list[int] | None = None, **fields) -> Product:
    """A product of `supplier` in `status` (with SKUs; default one), derived columns filled in as the services
    do. Fields default to a valid 巫山脆李 in the supplier's district."""
    values = dict(name="巫山脆李", subtitle="", description="", category_id=category_id(category),
                  origin_district_code=supplier.district_code, product_type="raw_produce",
                  return_policy="excluded_fresh")
    values.update(fields)
    services.check_product(values)
    gi_claim = {key: values.pop(f"gi_{key}") for key in ("scheme", "number", "protected_area") if f"gi_{key}" in values}
    product = Product(supplier_id=supplier.id, status=status, **values)
    if sale_months is not None:
        product.sale_months_mask = months_to_mask(sale_months)
    if status == "active":
        product.published_at = utcnow()
    district = db.session.get(Region, product.origin_district_code)
    search.reindex(product, supplier_name=supplier.name, district_name=district.name)
    db.session.add(product)
    db.session.flush()
    for sku in (skus if skus is not None else [DEFAULT_SKU]):
        db.session.add(Sku(product_id=product.id, **{**services.SKU_DEFAULTS, **sku}))
    if gi_claim.get("scheme"):
        gi.claim_in_unit(product, **gi_claim)
    services.refresh_min_price(product)
    db.session.commit()
    return product
