"""Search with `q`: Chinese substrings, full pinyin, initials, supplier and district names; name matches first."""
from __future__ import annotations

import pytest

from shop.catalog import search
from shop.extensions import db
from tests.catalog.factories import make_product
from tests.support import token_client, make_user
from tests.suppliers.factories import make_supplier

API = "/api/v1"


@pytest.fixture
def catalog():
    wushan = make_supplier(make_user(), name="巫山县红叶果业专业合作社", district_code="500237")
    fengjie = make_supplier(make_user(), name="奉节县夔门果业有限公司", district_code="500236",
                            kind="leading_enterprise")
    fuling = make_supplier(make_user(), name="涪陵榨菜食品厂", district_code="500102", kind="processor")
    products = {
        "cuili": make_product(wushan, name="巫山脆李", subtitle="高山脆李", category="plums"),
        "qicheng": make_product(fengjie, name="奉节脐橙", subtitle="72变 鲜甜多汁", category="citrus"),
        "zhacai": make_product(fuling, name="涪陵榨菜 鲜脆丝", category="zhacai", product_type="prepackaged",
                               food_filing_number="YB150010200001", return_policy="seven_day"),
        # Mentions 脆李 only in the description: ranks after the products named so.
        "gift": make_product(wushan, name="三峡果礼盒", description="内含巫山脆李两斤、奉节脐橙三个。",
                             category="other-fruit"),
        "percent": make_product(fuling, name="100%纯 花椒_特级", category="sichuan-pepper",
                                return_policy="seven_day"),
    }
    return {name: p.id for name, p in products.items()}


def found(client, q: str, **extra) -> list[int]:
    response = client.get(f"{API}/products", query_string={"q": q, "limit": 100, **extra})
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


@pytest.mark.parametrize("q, expected", [
    ("脆李", ["cuili", "gift"]),
    ("脐橙", ["qicheng", "gift"]),
    ("wushancuili", ["cuili", "gift"]),
    ("WuShan CuiLi", ["cuili", "gift"]),
    ("cui li", ["cuili", "gift"]),
    ("wscl", ["cuili", "gift"]),  # initials of the gift box's description too ("...巫山脆李...")
    ("fjqc", ["qicheng", "gift"]),
    ("sxglh", ["gift"]),  # initials of 三峡果礼盒
    ("qicheng", ["qicheng", "gift"]),
    ("榨菜", ["zhacai", "percent"]),  # the second only through its supplier's name (涪陵榨菜食品厂)
    ("zhacai", ["zhacai", "percent"]),
    ("红叶果业", ["gift", "cuili"]),  # the supplier's name (newest first among equal ranks)
    ("hongye", ["gift", "cuili"]),
    ("巫山", ["cuili", "gift"]),  # district name, and in the names
    ("涪陵区", ["percent", "zhacai"]),
    ("夔门", ["qicheng"]),
    ("72变", ["qicheng"]),
    ("ＷＳＣＬ", ["cuili", "gift"]),  # full-width letters
    ("100%", ["percent"]),
    ("%", ["percent"]),
    ("_", ["percent"]),
    ("no such thing", []),
])
def test_search(client, catalog, q, expected):
    assert found(client, q) == [catalog[name] for name in expected]


def test_name_matches_rank_above_description_matches_whatever_the_sort(client, catalog):
    gift, cuili = catalog["gift"], catalog["cuili"]
    assert gift > cuili  # newest first would put the gift box first, were it not for the rank
    for sort in ("newest", "price_asc", "price_desc", "best_selling"):
        assert found(client, "脆李", sort=sort) == [cuili, gift]


def test_search_pages_by_rank_then_sort_key(client):
    supplier = make_supplier(make_user(), name="合作社")
    named = [make_product(supplier, name=f"巫山脆李{i}号").id for i in range(4)]
    described = [make_product(supplier, name=f"礼盒{i}", description="含巫山脆李").id for i in range(4)]
    seen, cursor = [], None
    while True:
        query = {"q": "脆李", "limit": 3, **({"cursor": cursor} if cursor else {})}
        response = client.get(f"{API}/products", query_string=query)
        seen += [item["id"] for item in response.json["items"]]
        cursor = response.json["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(named, reverse=True) + sorted(described, reverse=True)


def test_index_terms():
    assert search.index_terms("巫山 脆李") == "巫山脆李 wushancuili wscl"
    assert search.index_terms("丰都锦橙") == "丰都锦橙 fengdujincheng fdjc"
    assert search.index_terms("Navel Orange") == "navelorange"
    assert search.index_terms("巫山·脆李") == "巫山·脆李 wushancuili wscl"
    assert search.index_terms("") == ""
    assert search.query_needle("  Cui  Li ") == "cuili"
    assert search.query_needle("   ") is None


def test_search_text_is_refreshed_on_update(api_as_owner):
    client, supplier = api_as_owner
    product = make_product(supplier, name="青菜头")
    assert found(client, "zhacai") == []
    response = client.patch(f"{API}/products/{product.id}", json={"name": "榨菜青菜头"})
    assert response.status_code == 200, response.json
    assert found(client, "zhacai") == [product.id]
    db.session.expire_all()


@pytest.fixture
def api_as_owner(app):
    owner = make_user()
    supplier = make_supplier(owner, name="涪陵青菜头合作社", district_code="500102")
    return token_client(owner), supplier


def test_two_character_chinese_needles_use_the_gram_index_on_postgresql_only():
    from sqlalchemy.dialects import postgresql, sqlite

    from shop.catalog.search import grams_of, matches

    assert grams_of("巫山脆李 wushancuili wscl 奉节县") == sorted({"巫山", "山脆", "脆李", "奉节", "节县"})
    on_pg = str(matches("脆李", "postgresql").compile(dialect=postgresql.dialect()))
    assert "@>" in on_pg and "LIKE" in on_pg  # narrowed by the GIN-indexed grams, still exact
    assert "@>" not in str(matches("巫山脆李", "postgresql").compile(dialect=postgresql.dialect()))  # trigrams
    assert "@>" not in str(matches("wscl", "postgresql").compile(dialect=postgresql.dialect()))
    assert "@>" not in str(matches("脆李", "sqlite").compile(dialect=sqlite.dialect()))


def test_renaming_a_supplier_moves_its_products_in_search(api_as_owner):
    client, supplier = api_as_owner
    product = make_product(supplier, name="青菜头")
    assert found(client, "qingcaitouhezuoshe") == [product.id]
    response = client.patch(f"{API}/suppliers/{supplier.id}", json={"name": "涪陵红土地农业合作社"})
    assert response.status_code == 200, response.json
    assert found(client, "红土地") == [product.id]
    assert found(client, "qingcaitouhezuoshe") == []
    db.session.expire_all()
