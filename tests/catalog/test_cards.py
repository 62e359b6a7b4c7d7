"""The public list, search and product page are built as dicts (catalog.cards), not dumped: each must equal what
its documented schema (ProductPageSchema, ProductDetailSchema) dumps from the same products loaded as entities,
field for field, so the fast path can neither drop nor add nor reshape a field."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from shop.catalog import queries
from shop.catalog.models import GiRecord
from shop.catalog.schemas import ProductDetailSchema, ProductPageSchema
from shop.extensions import db
from shop.regions.models import SupportPair
from tests.catalog.factories import make_product, sku_body
from tests.support import count_statements, make_user, token_client
from tests.suppliers.factories import make_supplier

API = "/api/v1"


@pytest.fixture
def supplier(owner):
    return make_supplier(owner, name="巫山县脆李专业合作社")


def dumped(schema, value):
    """What flask-smorest would have answered: the schema's dump, through JSON."""
    return json.loads(json.dumps(schema.dump(value)))


def old_detail(product_id: int):
    """The product entity as ProductDetailSchema read it before the cards: loaded with everything, and the
    regions supporting its origin district as Region entities."""
    product = queries.load_product(product_id)
    pairs = db.session.scalars(select(SupportPair).options(joinedload(SupportPair.supporter)).where(
        SupportPair.recipient_code == product.origin_district_code, SupportPair.kind == "three_gorges_counterpart")
        .order_by(SupportPair.supporter_code))
    product.supporting_regions = [pair.supporter for pair in pairs]
    return product


@pytest.fixture
def catalog(supplier):
    """Products that exercise every card field: GI claimed and verified, in and out of season (so
    on_sale_again_month is set), no image, every return policy, price tiers, a barcode, an inactive SKU, another
    supplier in another district (万州区, with seven supporting regions), and names only some searches find."""
    month = queries.current_month()
    other = make_supplier(make_user(), name="万州区红橘有限公司", district_code="500101", kind="leading_enterprise")
    products = [
        make_product(supplier, gi_scheme="agricultural_gi", gi_number="AGI2020-demo",
                     gi_protected_area="重庆市巫山县", sale_months=[month],
                     skus=[sku_body(), sku_body(spec="10斤装", price_fen=9900, weight_g=5000, barcode="6901234567892",
                                                price_tiers=[{"min_qty": 10, "price_fen": 9500}])]),
        make_product(supplier, name="巫山脆李 礼盒", subtitle="过季预售", sale_months=[month % 12 + 1, (month + 4) % 12 + 1],
                     images=[], return_policy="seven_day", cold_chain=False,
                     skus=[sku_body(is_active=False), sku_body(spec="小箱", price_fen=3990)]),
        make_product(other, name="万州红橘", origin_district_code="500101", return_policy="excluded_custom",
                     images=["https://img.example.test/a.jpg", "https://img.example.test/b.jpg"],
                     gi_scheme="gi_trademark", gi_number="TM-12345", gi_protected_area="重庆市万州区"),
        make_product(other, name="万州红橘 家庭装", origin_district_code="500101",
                     return_policy="excluded_with_confirmation", sale_months=list(range(1, 13))),
    ]
    record = db.session.scalar(select(GiRecord).where(GiRecord.product_id == products[2].id))
    record.status = "verified"
    db.session.add(GiRecord(product_id=products[2].id, scheme="agricultural_gi", number="AGI-2", protected_area="万州",
                            harvest_months_mask=0b110000000000))
    db.session.commit()
    return products


def test_list_cards_equal_the_schema_dump(client, catalog):
    body = client.get(f"{API}/products?limit=100").json
    expected = [queries.load_product(p.id) for p in sorted(catalog, key=lambda p: -p.id)]
    assert body == dumped(ProductPageSchema(), {"items": expected, "next_cursor": None})
    # Not vacuous: the fields that need care are really there.
    by_name = {card["name"]: card for card in body["items"]}
    assert by_name["万州红橘"]["gi_verified"] is True and len(by_name["万州红橘"]["gi_records"]) == 2
    assert by_name["巫山脆李 礼盒"]["cover_image"] is None
    assert by_name["巫山脆李 礼盒"]["on_sale_again_month"] == queries.current_month() % 12 + 1


@pytest.mark.parametrize("q", ["巫山脆李", "wscl", "红橘", "万州"])
def test_search_cards_equal_the_schema_dump_page_by_page(client, catalog, q):
    found, url = [], f"{API}/products?limit=1&q={q}"
    while url:
        page = client.get(url).json
        found.extend(page["items"])
        url = page["next_cursor"] and f"{API}/products?limit=1&q={q}&cursor={page['next_cursor']}"
    assert found, q
    ids = [card["id"] for card in found]
    assert found == dumped(ProductPageSchema(), {"items": [queries.load_product(i) for i in ids],
                                                 "next_cursor": None})["items"]
    assert ids == [card["id"] for card in client.get(f"{API}/products?limit=100&q={q}").json["items"]]


def test_product_page_equals_the_schema_dump(client, catalog):
    for product in catalog:
        body = client.get(f"{API}/products/{product.id}").json
        assert body == dumped(ProductDetailSchema(), old_detail(product.id)), product.name
    assert len(client.get(f"{API}/products/{catalog[2].id}").json["supporting_regions"]) == 7  # 万州区
    assert client.get(f"{API}/products/{catalog[0].id}").json["skus"][1]["price_tiers"] == [
        {"min_qty": 10, "price_fen": 9500}]


def test_unpublished_product_page_equals_the_schema_dump_for_its_member(client, owner, supplier):
    draft = make_product(supplier, status="draft", name="未上架")
    assert client.get(f"{API}/products/{draft.id}").status_code == 404
    body = token_client(owner).get(f"{API}/products/{draft.id}").json
    assert body["published_at"] is None
    assert body == dumped(ProductDetailSchema(), old_detail(draft.id))


def statements_of(client, url: str) -> int:
    count, response = count_statements(lambda: client.get(url))
    assert response.status_code == 200, response.get_data(as_text=True)
    return count


def begin_statements() -> int:
    # SQLite: the app's own BEGIN DEFERRED goes through the cursor too.
    return 1 if db.engine.dialect.name == "sqlite" else 0


def test_list_and_search_read_one_statement_whatever_the_page(client, catalog, supplier):
    for i in range(30):
        make_product(supplier, name=f"巫山脆李 {i}", gi_scheme="agricultural_gi", gi_number=f"AGI-{i}",
                     gi_protected_area="重庆市巫山县", skus=[sku_body(), sku_body(spec="大箱")])
    for query in ("", "&q=wscl", "&q=脆李&in_stock=true&sort=price_asc", "&sort=best_selling&gi_only=true"):
        counts = {limit: statements_of(client, f"{API}/products?limit={limit}{query}") for limit in (1, 5, 30)}
        # The page's columns with each row's GI records.
        assert set(counts.values()) == {1 + begin_statements()}, (query, counts)


def test_product_page_reads_one_statement_whatever_it_holds(client, catalog):
    # The product with its supplier, both districts, SKUs, GI records and the regions supporting its district.
    assert {statements_of(client, f"{API}/products/{p.id}") for p in catalog} == {1 + begin_statements()}
