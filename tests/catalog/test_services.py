"""Catalog verbs called directly: ownership, product and SKU rules, status moves, stock, derived columns."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shop.catalog import queries, services
from shop.catalog.models import Category, Product, Sku, StockMovement
from shop.catalog.seed import CATEGORIES, load_categories
from shop.catalog.stock import InsufficientStock
from shop.errors import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.suppliers.models import SupplierMember
from tests.catalog.factories import category_id, make_product, product_body, sku_body
from tests.support import make_user
from tests.suppliers.factories import make_supplier


@pytest.fixture
def owner():
    return make_user()


@pytest.fixture
def supplier(owner):
    return make_supplier(owner, name="巫山县曲尺乡脆李专业合作社")


def create(user, supplier_id, **overrides):
    body = product_body(supplier_id, **overrides)
    return services.create_product(user=user, **body)


def errors_of(excinfo) -> dict:
    return excinfo.value.errors or {}


# --- categories ---------------------------------------------------------------------------------------------


def test_categories_are_seeded_idempotently_with_materialised_paths():
    assert load_categories() == {"categories": 0}  # the fixture already loaded them
    assert db.session.scalar(select(func.count()).select_from(Category)) == len(CATEGORIES)
    by_slug = {c.slug: c for c in db.session.scalars(select(Category))}
    fruit, citrus = by_slug["fresh-fruit"], by_slug["citrus"]
    assert fruit.path == f"/{fruit.id}/" and fruit.parent_id is None
    assert citrus.path == f"/{fruit.id}/{citrus.id}/" and citrus.parent_id == fruit.id
    assert by_slug["zhacai"].name == "榨菜" and by_slug["zhacai"].parent_id == by_slug["condiments"].id
    tree = queries.list_categories()
    roots = [node["slug"] for node in tree]
    assert roots[:3] == ["fresh-fruit", "vegetables", "bee-products"]
    assert [c["name"] for c in tree[0]["children"]] == ["柑橘", "李子", "其他鲜果"]
    dried = next(node for node in tree if node["slug"] == "dried-goods")
    assert [c["name"] for c in dried["children"]] == ["木耳", "核桃"]


# --- creating and changing products -------------------------------------------------------------------------


def test_member_creates_a_draft_with_skus_and_derived_columns(owner, supplier):
    skus = [sku_body(price_fen=7990, stock=30), sku_body(spec="10斤装", price_fen=12900, weight_g=5000, stock=0)]
    product = create(owner, supplier.id, skus=skus)
    assert product.status == "draft"
    assert product.min_price_fen == 7990
    assert product.sale_months == [6, 7, 8]
    assert product.search_name == "巫山脆李 wushancuili wscl"
    assert "巫山县曲尺乡脆李专业合作社" in product.search_text and "wushanxian" in product.search_text
    assert [s.stock for s in product.skus] == [30, 0]
    [movement] = db.session.scalars(select(StockMovement)).all()
    assert (movement.sku_id, movement.delta, movement.reason, movement.actor_id) == (product.skus[0].id, 30,
                                                                                    "adjustment", owner.id)


def test_staff_member_may_manage_products(owner, supplier):
    staff = make_user()
    db.session.add(SupplierMember(supplier_id=supplier.id, user_id=staff.id, role="staff"))
    db.session.commit()
    product = create(staff, supplier.id)
    assert services.update_product(user=staff, product_id=product.id, changes={"name": "巫山脆李 精品"}).name == \
        "巫山脆李 精品"


def test_another_suppliers_member_gets_not_found_everywhere(owner, supplier):
    other_owner = make_user()
    make_supplier(other_owner, name="奉节脐橙合作社", district_code="500236")
    product = make_product(supplier, status="draft")
    sku_id = db.session.scalar(select(Sku.id).where(Sku.product_id == product.id))
    attempts = [
        lambda: create(other_owner, supplier.id),
        lambda: services.update_product(user=other_owner, product_id=product.id, changes={"name": "x"}),
        lambda: services.publish_product(user=other_owner, product_id=product.id),
        lambda: services.archive_product(user=other_owner, product_id=product.id),
        lambda: services.add_sku(user=other_owner, product_id=product.id, **sku_body()),
        lambda: services.update_sku(user=other_owner, sku_id=sku_id, changes={"price_fen": 1}),
        lambda: services.adjust_stock(user=other_owner, sku_id=sku_id, delta=5, reason="adjustment"),
        lambda: queries.list_stock_movements(user=other_owner, sku_id=sku_id, limit=10, cursor=None),
        lambda: queries.list_supplier_products(user=other_owner, supplier_id=supplier.id, limit=10, cursor=None),
        lambda: queries.get_product(product_id=product.id, user=other_owner),
        lambda: queries.get_sku(sku_id=sku_id, user=other_owner),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            attempt()
    db.session.expire_all()
    assert db.session.get(Product, product.id).name == "巫山脆李"


@pytest.mark.parametrize("given, missing", [
    ({"gi_scheme": "agricultural_gi"}, {"gi_number", "gi_protected_area"}),
    ({"gi_number": "AGI02891"}, {"gi_scheme", "gi_protected_area"}),
    ({"gi_scheme": "gi_trademark", "gi_number": "4049199"}, {"gi_protected_area"}),
])
def test_partial_gi_record_names_the_missing_fields(owner, supplier, given, missing):
    with pytest.raises(ValidationFailed) as excinfo:
        create(owner, supplier.id, **given)
    assert set(errors_of(excinfo)) == missing


def test_gi_record_is_checked_on_the_merged_state(owner, supplier):
    product = create(owner, supplier.id, gi_scheme="agricultural_gi", gi_number="AGI2020-demo",
                     gi_protected_area="重庆市巫山县")
    assert [(r.scheme, r.status) for r in product.gi_records] == [("agricultural_gi", "claimed")]
    with pytest.raises(ValidationFailed) as excinfo:
        services.update_product(user=owner, product_id=product.id, changes={"gi_scheme": "gi_trademark"})
    assert set(errors_of(excinfo)) == {"gi_number", "gi_protected_area"}
    db.session.rollback()
    # Inline GI fields claim one more record; they never remove one (that is DELETE /gi-records/{id}).
    more = services.update_product(user=owner, product_id=product.id, changes={
        "gi_scheme": "gi_trademark", "gi_number": "4049199", "gi_protected_area": "重庆市奉节县"})
    assert [r.scheme for r in more.gi_records] == ["agricultural_gi", "gi_trademark"]


@pytest.mark.parametrize("product_type, field", [
    ("prepackaged", "food_filing_number"), ("seller_processed", "sc_license_number"),
    ("tcm_decoction", "sc_license_number"),
])
def test_product_type_needs_its_licence(owner, supplier, product_type, field):
    with pytest.raises(ValidationFailed) as excinfo:
        create(owner, supplier.id, product_type=product_type)
    assert set(errors_of(excinfo)) == {field}
    value = "SC10350010200015" if field == "sc_license_number" else "YB150010200001"
    assert create(owner, supplier.id, product_type=product_type, **{field: value}).product_type == product_type


def test_origin_must_be_a_reservoir_district_and_category_must_exist(owner, supplier):
    with pytest.raises(ValidationFailed) as excinfo:
        create(owner, supplier.id, origin_district_code="110000")
    assert set(errors_of(excinfo)) == {"origin_district_code"}
    with pytest.raises(ValidationFailed) as excinfo:
        create(owner, supplier.id, category_id=99999)
    assert excinfo.value.code == "invalid_category"


@pytest.mark.parametrize("sku, field", [
    ({"min_order_qty": 5, "qty_step": 2}, "min_order_qty"),
    ({"price_tiers": [{"min_qty": 10, "price_fen": 5990}]}, "price_tiers"),  # not below the base price
    ({"price_tiers": [{"min_qty": 10, "price_fen": 5000}, {"min_qty": 10, "price_fen": 4000}]}, "price_tiers"),
    ({"price_tiers": [{"min_qty": 10, "price_fen": 4000}, {"min_qty": 20, "price_fen": 5000}]}, "price_tiers"),
])
def test_sku_rules_are_field_errors(owner, supplier, sku, field):
    with pytest.raises(ValidationFailed) as excinfo:
        create(owner, supplier.id, skus=[sku_body(), sku_body(**sku)])
    assert list(errors_of(excinfo)["skus"]) == ["1"]
    assert field in errors_of(excinfo)["skus"]["1"]
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_valid_price_tiers_and_case_sizes(owner, supplier):
    product = create(owner, supplier.id, skus=[sku_body(min_order_qty=6, qty_step=6, price_tiers=[
        {"min_qty": 60, "price_fen": 5500}, {"min_qty": 120, "price_fen": 5200}])])
    sku = product.skus[0]
    assert (sku.unit_price_for(6), sku.unit_price_for(60), sku.unit_price_for(600)) == (5990, 5500, 5200)
    with pytest.raises(ValidationFailed) as excinfo:  # the base price may not fall below a tier
        services.update_sku(user=owner, sku_id=sku.id, changes={"price_fen": 5300})
    assert "price_tiers" in errors_of(excinfo)


# --- status moves -------------------------------------------------------------------------------------------


def test_publish_and_archive_follow_the_state_machine(owner, supplier):
    product = create(owner, supplier.id)
    published = services.publish_product(user=owner, product_id=product.id)
    assert published.status == "active" and published.published_at is not None
    with pytest.raises(Conflict) as excinfo:
        services.publish_product(user=owner, product_id=product.id)
    assert excinfo.value.code == "illegal_product_transition"
    assert services.archive_product(user=owner, product_id=product.id).status == "archived"
    with pytest.raises(Conflict) as excinfo:
        services.archive_product(user=owner, product_id=product.id)
    assert excinfo.value.code == "illegal_product_transition"
    assert services.publish_product(user=owner, product_id=product.id).status == "active"


@pytest.mark.parametrize("status", ["pending", "suspended", "rejected"])
def test_only_an_approved_supplier_publishes(owner, status):
    supplier = make_supplier(owner, status=status)
    product = create(owner, supplier.id)
    with pytest.raises(Conflict) as excinfo:
        services.publish_product(user=owner, product_id=product.id)
    assert excinfo.value.code == "supplier_not_approved"
    db.session.expire_all()
    assert db.session.get(Product, product.id).status == "draft"


def test_publishing_needs_an_active_sku(owner, supplier):
    product = create(owner, supplier.id, skus=[])
    with pytest.raises(Conflict) as excinfo:
        services.publish_product(user=owner, product_id=product.id)
    assert excinfo.value.code == "no_sku"
    sku = services.add_sku(user=owner, product_id=product.id, **sku_body(is_active=False))
    with pytest.raises(Conflict) as excinfo:
        services.publish_product(user=owner, product_id=product.id)
    assert excinfo.value.code == "no_sku"
    services.update_sku(user=owner, sku_id=sku.id, changes={"is_active": True})
    assert services.publish_product(user=owner, product_id=product.id).status == "active"


# --- min price, SKUs ----------------------------------------------------------------------------------------


def test_min_price_follows_active_skus(owner, supplier):
    product = make_product(supplier, skus=[sku_body(price_fen=5990)])
    assert product.min_price_fen == 5990
    cheap = services.add_sku(user=owner, product_id=product.id, **sku_body(spec="2斤装", price_fen=2990))
    assert db.session.get(Product, product.id).min_price_fen == 2990
    services.update_sku(user=owner, sku_id=cheap.id, changes={"price_fen": 3290})
    assert db.session.get(Product, product.id).min_price_fen == 3290
    services.update_sku(user=owner, sku_id=cheap.id, changes={"is_active": False})
    assert db.session.get(Product, product.id).min_price_fen == 5990


def test_the_last_active_sku_of_an_active_product_stays_active(owner, supplier):
    product = make_product(supplier)
    sku_id = db.session.scalar(select(Sku.id).where(Sku.product_id == product.id))
    with pytest.raises(Conflict) as excinfo:
        services.update_sku(user=owner, sku_id=sku_id, changes={"is_active": False})
    assert excinfo.value.code == "no_sku"
    db.session.expire_all()
    assert db.session.get(Sku, sku_id).is_active


# --- stock --------------------------------------------------------------------------------------------------


def test_stock_adjustments_keep_a_history_and_never_go_negative(owner, supplier):
    product = make_product(supplier, skus=[sku_body(stock=0)])
    sku_id = db.session.scalar(select(Sku.id).where(Sku.product_id == product.id))
    assert services.adjust_stock(user=owner, sku_id=sku_id, delta=50, reason="adjustment", note="到货").stock == 50
    assert services.adjust_stock(user=owner, sku_id=sku_id, delta=-3, reason="damage", note="压伤").stock == 47
    assert services.adjust_stock(user=owner, sku_id=sku_id, delta=-7, reason="stocktake").stock == 40
    with pytest.raises(InsufficientStock) as excinfo:
        services.adjust_stock(user=owner, sku_id=sku_id, delta=-41, reason="stocktake")
    assert excinfo.value.code == "insufficient_stock" and excinfo.value.status == 409
    with pytest.raises(ValidationFailed):
        services.adjust_stock(user=owner, sku_id=sku_id, delta=5, reason="damage")
    db.session.expire_all()
    assert db.session.get(Sku, sku_id).stock == 40
    page = queries.list_stock_movements(user=owner, sku_id=sku_id, limit=2, cursor=None)
    assert [(m.delta, m.reason) for m in page["items"]] == [(-7, "stocktake"), (-3, "damage")]
    rest = queries.list_stock_movements(user=owner, sku_id=sku_id, limit=2, cursor=page["next_cursor"])
    assert [(m.delta, m.note, m.actor_id) for m in rest["items"]] == [(50, "到货", owner.id)]
    assert rest["next_cursor"] is None


# --- what other domains use ---------------------------------------------------------------------------------


def test_pricing_lookup_and_sellability(owner, supplier):
    product = make_product(supplier, skus=[sku_body(), sku_body(spec="10斤装", is_active=False)])
    draft = make_product(supplier, status="draft")
    ids = list(db.session.scalars(select(Sku.id).order_by(Sku.id)))
    skus = queries.get_skus_for_pricing(sku_ids=ids + [99999])
    assert sorted(skus) == ids
    first, inactive, of_draft = (skus[i] for i in ids)
    assert first.product.supplier.name == supplier.name and first.product.origin_district.name == "巫山县"
    assert queries.sellable_problem(first) is None
    assert queries.sellable_problem(inactive) and queries.sellable_problem(of_draft)
    assert queries.get_sku_for_pricing(sku_id=first.id).product_id == product.id
    with pytest.raises(NotFound):
        queries.get_sku_for_pricing(sku_id=of_draft.id)
    assert of_draft.product_id == draft.id


def test_record_sales_adds_to_sales_count(owner, supplier):
    a, b = make_product(supplier), make_product(supplier, name="三峡白蜜")
    services.record_sales(quantities={b.id: 2, a.id: 5})
    services.record_sales(quantities={a.id: 1})
    db.session.commit()
    db.session.expire_all()
    assert (db.session.get(Product, a.id).sales_count, db.session.get(Product, b.id).sales_count) == (6, 2)


def test_reindex_after_a_supplier_rename(owner, supplier):
    product = make_product(supplier)
    supplier.name = "巫山红叶果业合作社"
    db.session.commit()
    assert services.reindex_supplier_products(supplier_id=supplier.id) == 1
    db.session.expire_all()
    assert "hongyeguoye" in db.session.get(Product, product.id).search_text


def test_category_helper_matches_seed():
    assert category_id("citrus") == db.session.scalar(select(Category.id).where(Category.name == "柑橘"))
