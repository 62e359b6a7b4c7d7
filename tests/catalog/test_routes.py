"""HTTP behaviour of the catalog: visibility, supplier-side management, validation, filters, sorts, paging."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from shop.catalog import gi, queries
from shop.catalog.models import Sku
from shop.extensions import db
from shop.money import MAX_PRICE_FEN
from shop.suppliers.models import SupplierMember
from tests.catalog.factories import category_id, make_product, product_body, sku_body
from tests.support import count_statements as count_request_statements, make_user, assert_problem, PROBLEM_JSON
from tests.suppliers.factories import make_supplier

API = "/api/v1"


@pytest.fixture
def supplier(owner):
    return make_supplier(owner, name="巫山县脆李专业合作社")


@pytest.fixture
def rival(api_as):
    """Staff of another (approved) supplier."""
    rival_owner = make_user()
    rival_supplier = make_supplier(rival_owner, name="奉节脐橙合作社", district_code="500236")
    staff = make_user()
    db.session.add(SupplierMember(supplier_id=rival_supplier.id, user_id=staff.id, role="staff"))
    db.session.commit()
    return api_as(staff)


def first_sku_id(product_id: int) -> int:
    return db.session.scalar(select(Sku.id).where(Sku.product_id == product_id).order_by(Sku.id))


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.json["items"]]


# --- visibility ---------------------------------------------------------------------------------------------


def test_anonymous_sees_only_active_products_of_approved_suppliers(client, owner, supplier):
    active = make_product(supplier)
    draft = make_product(supplier, status="draft")
    archived = make_product(supplier, status="archived")
    suspended_supplier = make_supplier(make_user(), status="suspended", name="停业合作社")
    of_suspended = make_product(suspended_supplier)
    pending_supplier = make_supplier(make_user(), status="pending", name="待审合作社")
    of_pending = make_product(pending_supplier)

    assert ids(client.get(f"{API}/products")) == [active.id]
    for hidden in (draft, archived, of_suspended, of_pending):
        assert_problem(client.get(f"{API}/products/{hidden.id}"), 404, "not_found")
        assert_problem(client.get(f"{API}/skus/{first_sku_id(hidden.id)}"), 404, "not_found")
    assert client.get(f"{API}/products/{active.id}").status_code == 200
    assert client.get(f"{API}/skus/{first_sku_id(active.id)}").json["product"]["id"] == active.id


def test_members_see_their_unpublished_products_others_do_not(member, rival, owner, supplier):
    draft = make_product(supplier, status="draft")
    archived = make_product(supplier, status="archived")
    active = make_product(supplier)
    assert member.get(f"{API}/products/{draft.id}").json["status"] == "draft"
    assert member.get(f"{API}/skus/{first_sku_id(draft.id)}").status_code == 200
    listing = member.get(f"{API}/suppliers/{supplier.id}/products")
    assert ids(listing) == [active.id, archived.id, draft.id]
    assert listing.json["items"][0]["skus"][0]["spec"] == "5斤装 特级果"
    assert ids(member.get(f"{API}/suppliers/{supplier.id}/products?status=draft")) == [draft.id]
    assert_problem(rival.get(f"{API}/products/{draft.id}"), 404, "not_found")
    assert_problem(rival.get(f"{API}/suppliers/{supplier.id}/products"), 404, "not_found")
    assert ids(rival.get(f"{API}/products")) == [active.id]


def test_detail_shows_skus_supplier_gi_season_and_supporters(client, supplier):
    product = make_product(supplier, gi_scheme="agricultural_gi", gi_number="AGI2020-demo",
                           gi_protected_area="重庆市巫山县", sale_months=[6, 7, 8], return_policy="excluded_fresh",
                           skus=[sku_body(), sku_body(spec="10斤装", price_fen=9900, weight_g=5000)])
    body = client.get(f"{API}/products/{product.id}").json
    assert body["supplier"] == {"id": supplier.id, "name": supplier.name, "kind": "cooperative",
                                "district": {"code": "500237", "name": "巫山县", "level": "county"}}
    assert body["origin_district"]["name"] == "巫山县"
    [record] = body["gi_records"]
    assert {k: record[k] for k in ("scheme", "number", "protected_area", "status")} == {
        "scheme": "agricultural_gi", "number": "AGI2020-demo", "protected_area": "重庆市巫山县", "status": "claimed"}
    assert body["gi_verified"] is False
    assert body["sale_months"] == [6, 7, 8] and body["return_policy"] == "excluded_fresh"
    assert [s["price_fen"] for s in body["skus"]] == [5990, 9900] and body["min_price_fen"] == 5990
    assert [r["name"] for r in body["supporting_regions"]] == ["广东省"]
    assert "search_text" not in body and "search_name" not in body


# --- supplier side over HTTP --------------------------------------------------------------------------------


def test_create_publish_archive_over_http(member, supplier, client):
    created = member.post(f"{API}/products", json=product_body(supplier.id))
    assert created.status_code == 201, created.json
    product_id = created.json["id"]
    assert created.json["status"] == "draft" and created.json["skus"][0]["stock"] == 100
    patched = member.patch(f"{API}/products/{product_id}", json={"subtitle": "七月现摘", "sale_months": [7, 8]})
    assert patched.json["subtitle"] == "七月现摘" and patched.json["sale_months"] == [7, 8]
    assert member.post(f"{API}/products/{product_id}/publish").json["status"] == "active"
    assert_problem(member.post(f"{API}/products/{product_id}/publish"), 409, "illegal_product_transition")
    assert ids(client.get(f"{API}/products")) == [product_id]
    assert member.post(f"{API}/products/{product_id}/archive").json["status"] == "archived"
    assert ids(client.get(f"{API}/products")) == []


def test_anonymous_cannot_write(client, supplier):
    assert_problem(client.post(f"{API}/products", json=product_body(supplier.id)), 401, "unauthorized")


@pytest.mark.parametrize("status", ["pending", "suspended"])
def test_unapproved_supplier_cannot_publish(api_as, status):
    owner = make_user()
    supplier = make_supplier(owner, status=status)
    client = api_as(owner)
    product_id = client.post(f"{API}/products", json=product_body(supplier.id)).json["id"]
    assert_problem(client.post(f"{API}/products/{product_id}/publish"), 409, "supplier_not_approved")


def test_publishing_without_sku_is_no_sku(member, supplier):
    product_id = member.post(f"{API}/products", json=product_body(supplier.id, skus=[])).json["id"]
    assert_problem(member.post(f"{API}/products/{product_id}/publish"), 409, "no_sku")


def test_rival_staff_gets_404_on_every_write(rival, supplier):
    product = make_product(supplier, status="draft")
    sku_id = first_sku_id(product.id)
    calls = [
        rival.post(f"{API}/products", json=product_body(supplier.id)),
        rival.patch(f"{API}/products/{product.id}", json={"name": "改名"}),
        rival.post(f"{API}/products/{product.id}/publish"),
        rival.post(f"{API}/products/{product.id}/archive"),
        rival.post(f"{API}/products/{product.id}/skus", json=sku_body()),
        rival.get(f"{API}/skus/{sku_id}"),
        rival.patch(f"{API}/skus/{sku_id}", json={"price_fen": 1}),
        rival.post(f"{API}/skus/{sku_id}/stock-adjustments", json={"delta": -100, "reason": "damage"}),
        rival.get(f"{API}/skus/{sku_id}/stock-movements"),
    ]
    for response in calls:
        assert_problem(response, 404, "not_found")
    db.session.expire_all()
    assert db.session.get(Sku, sku_id).stock == 100


@pytest.mark.parametrize("price", [0, -1, 2.5, 10**12, MAX_PRICE_FEN + 1, "5990", None])
def test_bad_prices_are_rejected(member, supplier, price):
    body = product_body(supplier.id, skus=[sku_body(price_fen=price)])
    problem = assert_problem(member.post(f"{API}/products", json=body), 422, "validation_error")
    assert "price_fen" in problem["errors"]["skus"]["0"]
    product = make_product(supplier)
    sku_id = first_sku_id(product.id)
    assert "price_fen" in assert_problem(member.patch(f"{API}/skus/{sku_id}", json={"price_fen": price}),
                                         422, "validation_error")["errors"]
    assert "price_fen" in assert_problem(member.post(f"{API}/products/{product.id}/skus",
                                                     json=sku_body(price_fen=price)), 422, "validation_error")["errors"]


def test_moq_must_be_a_multiple_of_the_step(member, supplier):
    problem = assert_problem(member.post(f"{API}/products", json=product_body(
        supplier.id, skus=[sku_body(min_order_qty=5, qty_step=2)])), 422, "validation_error")
    assert "min_order_qty" in problem["errors"]["skus"]["0"]
    product = make_product(supplier, skus=[sku_body(min_order_qty=6, qty_step=6)])
    problem = assert_problem(member.patch(f"{API}/skus/{first_sku_id(product.id)}", json={"qty_step": 4}),
                             422, "validation_error")
    assert "min_order_qty" in problem["errors"]


def test_partial_gi_names_the_missing_fields(member, supplier):
    problem = assert_problem(member.post(f"{API}/products", json=product_body(
        supplier.id, gi_scheme="gi_trademark")), 422, "validation_error")
    assert set(problem["errors"]) == {"gi_number", "gi_protected_area"}
    assert "gi_number" in problem["detail"] and "gi_protected_area" in problem["detail"]


@pytest.mark.parametrize("sc", ["SC1234", "sc10350010200015", "SC1035001020001X", "XX10350010200015",
                                "SC103500102000155"])
def test_bad_sc_number_is_rejected(member, supplier, sc):
    problem = assert_problem(member.post(f"{API}/products", json=product_body(
        supplier.id, product_type="seller_processed", sc_license_number=sc)), 422, "validation_error")
    assert "sc_license_number" in problem["errors"]


@pytest.mark.parametrize("field, value", [
    ("images", [f"https://img.example.test/{i}.jpg" for i in range(10)]),
    ("images", ["ftp://img.example.test/1.jpg"]),
    ("sale_months", [0]), ("sale_months", [13]), ("sale_months", [6, 6]), ("sale_months", [6.5]),
    ("shelf_life_days", 0), ("return_policy", "thirty_day"), ("product_type", "fresh"),
    ("origin_district_code", "110000"), ("category_id", 99999),
])
def test_bad_product_fields_are_422(member, supplier, field, value):
    problem = member.post(f"{API}/products", json=product_body(supplier.id, **{field: value}))
    assert problem.status_code == 422, problem.json
    assert field in problem.json["errors"]


@pytest.mark.parametrize("sku, field", [
    ({"weight_g": 0}, "weight_g"), ({"stock": -1}, "stock"), ({"barcode": "12ab5678"}, "barcode"),
    ({"barcode": "1234567"}, "barcode"), ({"price_tiers": [{"min_qty": 10, "price_fen": 2.5}]}, "price_tiers"),
    ({"price_tiers": [{"min_qty": 10, "price_fen": 9000}]}, "price_tiers"),
])
def test_bad_sku_fields_are_422(member, supplier, sku, field):
    problem = member.post(f"{API}/products", json=product_body(supplier.id, skus=[sku_body(**sku)]))
    assert problem.status_code == 422, problem.json
    assert field in problem.json["errors"]["skus"]["0"]


def test_stock_adjustments_and_history_over_http(member, supplier):
    product = make_product(supplier, skus=[sku_body(stock=10)])
    sku_id = first_sku_id(product.id)
    url = f"{API}/skus/{sku_id}/stock-adjustments"
    added = member.post(url, json={"delta": 20, "reason": "adjustment", "note": "新到一批"})
    assert added.status_code == 201 and added.json["stock"] == 30
    assert member.post(url, json={"delta": -5, "reason": "damage"}).json["stock"] == 25
    assert_problem(member.post(url, json={"delta": -26, "reason": "stocktake"}), 409, "insufficient_stock")
    for bad in ({"delta": 0, "reason": "adjustment"}, {"delta": 2.5, "reason": "adjustment"},
                {"delta": 3, "reason": "order_reserved"}, {"reason": "adjustment"}):
        assert_problem(member.post(url, json=bad), 422, "validation_error")
    history = member.get(f"{API}/skus/{sku_id}/stock-movements?limit=1")
    assert [(m["delta"], m["reason"]) for m in history.json["items"]] == [(-5, "damage")]
    rest = member.get(f"{API}/skus/{sku_id}/stock-movements?cursor={history.json['next_cursor']}")
    assert [(m["delta"], m["note"]) for m in rest.json["items"]] == [(20, "新到一批")]
    assert member.get(f"{API}/skus/{sku_id}").json["stock"] == 25


def test_patch_sku_cannot_overwrite_stock(member, supplier):
    product = make_product(supplier)
    sku_id = first_sku_id(product.id)
    problem = assert_problem(member.patch(f"{API}/skus/{sku_id}", json={"stock": 5}), 422, "validation_error")
    assert "stock" in problem["errors"]  # stock moves only through stock-adjustments
    response = member.patch(f"{API}/skus/{sku_id}", json={"spec": "6斤装"})
    assert response.status_code == 200 and response.json["stock"] == 100 and response.json["spec"] == "6斤装"


# --- filters and sorts --------------------------------------------------------------------------------------


@pytest.fixture
def shelf(supplier):
    """A small public catalog across districts, categories and prices."""
    fengjie = make_supplier(make_user(), name="奉节脐橙公司", district_code="500236", kind="leading_enterprise")
    p = {
        "plum": make_product(supplier, category="plums", sale_months=[6, 7, 8], cold_chain=True,
                             skus=[sku_body(price_fen=5990)]),
        "orange": make_product(fengjie, name="奉节脐橙", category="citrus", sale_months=[11, 12, 1, 2, 3, 4, 5],
                               cold_chain=True, gi_scheme="gi_trademark", gi_number="4049199",
                               gi_protected_area="重庆市奉节县", skus=[sku_body(price_fen=8800, stock=0)]),
        "honey": make_product(supplier, name="三峡白蜜", category="bee-products", return_policy="seven_day",
                              skus=[sku_body(price_fen=12800)]),
        "walnut": make_product(fengjie, name="核桃", category="walnuts", return_policy="seven_day",
                               skus=[sku_body(price_fen=3900), sku_body(price_fen=2500, is_active=False)]),
    }
    for name, sales in (("plum", 30), ("orange", 50), ("honey", 5), ("walnut", 30)):
        p[name].sales_count = sales
    # gi_only lists verified GIs: the orange's claim is verified, the walnut's only claimed.
    gi.claim_in_unit(p["walnut"], scheme="agricultural_gi", number="AGI-claimed-only", protected_area="巫溪县")
    db.session.commit()
    [orange_gi] = gi.list_records(user=None, product_id=p["orange"].id)
    gi.review(user=make_user(admin=True), record_id=orange_gi.id, action="verify")
    return {name: product.id for name, product in p.items()}


@pytest.mark.parametrize("query, expected", [
    ("", ["walnut", "honey", "orange", "plum"]),
    (f"category=fresh-fruit", ["orange", "plum"]),
    ("category=citrus", ["orange"]),
    ("category=dried-goods", ["walnut"]),
    ("origin_district=500236", ["walnut", "orange"]),
    ("gi_only=true", ["orange"]),
    ("in_stock=true", ["walnut", "honey", "plum"]),
    ("cold_chain=true", ["orange", "plum"]),
    ("cold_chain=false", ["walnut", "honey"]),
    ("min_price_fen=5000&max_price_fen=9000", ["orange", "plum"]),
    ("max_price_fen=3900", ["walnut"]),
    ("sort=price_asc", ["walnut", "plum", "orange", "honey"]),
    ("sort=price_desc", ["honey", "orange", "plum", "walnut"]),
    ("sort=best_selling", ["orange", "walnut", "plum", "honey"]),
    ("sort=price_asc&category=fresh-fruit&in_stock=true", ["plum"]),
])
def test_filters_and_sorts(client, shelf, query, expected):
    if "category=" in query:  # slugs → ids
        slug = query.split("category=")[1].split("&")[0]
        query = query.replace(f"category={slug}", f"category={category_id(slug)}")
    assert ids(client.get(f"{API}/products?{query}")) == [shelf[name] for name in expected]


def test_supplier_filter_and_in_season(client, shelf, supplier, monkeypatch):
    assert ids(client.get(f"{API}/products?supplier_id={supplier.id}")) == [shelf["honey"], shelf["plum"]]
    monkeypatch.setattr(queries, "current_month", lambda: 7)
    assert ids(client.get(f"{API}/products?in_season=true")) == [shelf["walnut"], shelf["honey"], shelf["plum"]]
    monkeypatch.setattr(queries, "current_month", lambda: 12)
    assert ids(client.get(f"{API}/products?in_season=true")) == [shelf["walnut"], shelf["honey"], shelf["orange"]]


def test_walnut_min_price_ignores_inactive_sku(client, shelf):
    assert client.get(f"{API}/products/{shelf['walnut']}").json["min_price_fen"] == 3900


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=2.5", "sort=cheapest", "cursor=notacursor",
                                   "min_price_fen=-1", "min_price_fen=10&max_price_fen=5", "origin_district=5002"])
def test_bad_list_arguments_are_422(client, query):
    response = client.get(f"{API}/products?{query}")
    assert response.status_code == 422, response.json
    assert response.mimetype == PROBLEM_JSON


# --- keyset paging ------------------------------------------------------------------------------------------


def walk(client, query: str, limit: int) -> list[int]:
    seen, cursor = [], None
    for _ in range(100):
        url = f"{API}/products?limit={limit}&{query}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url)
        page = ids(response)
        assert len(page) <= limit
        seen += page
        cursor = response.json["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc", "best_selling"])
def test_keyset_pages_neither_repeat_nor_skip(client, supplier, sort):
    products = [make_product(supplier, name=f"巫山脆李 {i}", skus=[sku_body(price_fen=1000 + 100 * (i % 4))])
                for i in range(23)]
    for i, product in enumerate(products):
        product.sales_count = i % 3  # many ties: the id must break them
    db.session.commit()
    everything = ids(client.get(f"{API}/products?limit=100&sort={sort}"))
    assert sorted(everything) == sorted(p.id for p in products)
    for limit in (1, 5, 7):
        assert walk(client, f"sort={sort}", limit) == everything
    key = {"newest": lambda p: -p.id, "price_asc": lambda p: (p.min_price_fen, p.id),
           "price_desc": lambda p: (-p.min_price_fen, -p.id), "best_selling": lambda p: (-p.sales_count, -p.id)}[sort]
    assert everything == [p.id for p in sorted(products, key=key)]


# --- a constant number of statements ------------------------------------------------------------------------


def count_statements(app, call) -> int:
    count, response = count_request_statements(call)
    assert response.status_code == 200
    return count


def test_list_runs_a_constant_number_of_statements(app, client, supplier):
    other = make_supplier(make_user(), name="奉节脐橙公司", district_code="500236")
    for i in range(60):
        make_product(supplier if i % 2 else other, name=f"产品{i}", skus=[sku_body(), sku_body(spec="大箱")])
    counts = {}
    for limit in (5, 50):
        url = f"{API}/products?limit={limit}&q=chanpin&in_stock=true&category={category_id('fresh-fruit')}"
        counts[limit] = count_statements(app, lambda: client.get(url))
        assert len(client.get(url).json["items"]) == limit
    assert counts[5] == counts[50] <= 4, counts
    members = {limit: count_statements(app, lambda: client.get(f"{API}/products?limit={limit}")) for limit in (5, 50)}
    assert members[5] == members[50] <= 4
