"""The search index (FTS5 trigram table on SQLite, pg_trgm and grams on PostgreSQL) only narrows: every needle
finds exactly the products a plain substring test finds, in the same order (name matches first, then newest),
on every page, whatever the needle holds; writes of any kind (ORM, Core, deletes) reach the index at once."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text, update

from shop.catalog import search
from shop.catalog.models import Product
from shop.extensions import db
from tests.catalog.factories import make_product
from tests.support import make_user, record_statements
from tests.suppliers.factories import make_supplier

API = "/api/v1"

PRODUCTS = [  # (supplier, name, subtitle, description)
    ("wushan", "巫山脆李", "高山脆李 5斤装", "巫山县曲尺乡的李子，脆甜。"),
    ("wushan", "巫山·脆李 礼盒", "", "内含巫山脆李两斤、奉节脐橙三个！"),
    ("fengjie", "奉节脐橙", "72变 鲜甜多汁", ""),
    ("fengjie", "Navel Orange XO", "", "exported as-is"),
    ("fuling", "涪陵榨菜 鲜脆丝", "", "乌江榨菜，3袋/组"),
    ("fuling", "100%纯 花椒_特级", "", 'a\\b 反斜杠 "引号" (括号) NEAR(a b) AND OR NOT ^开头 col:值 *星号* {x} -减 +加'),
    ("fuling", "𠮷野家 酱油", "", "李"),
    ("wushan", "李", "", ""),
    ("wushan", "三峡果礼盒", "", "含巫山脆李两斤，奉节脐橙三个"),
]

NEEDLES = [
    # Chinese: one character, two (most words: no trigram of their own), three and more
    "李", "脆", "县", "丝", "𠮷", "脆李", "奉节", "巫山", "榨菜", "果礼", "李子", "巫山脆李", "红叶果业", "奉节脐橙三个",
    # full pinyin, initials, pieces of them, mixed case and full width
    "wushancuili", "cuili", "li", "l", "w", "ws", "wscl", "fjqc", "sxglh", "WuShan", "ＷＳＣＬ", "Cui Li",
    "qicheng", "o", "xo", "navel",
    # mixed scripts and digits
    "72变", "5斤", "3袋", "a脆", "100", "1",
    # punctuation, and LIKE's metacharacters as literal text
    "·", "巫山·", "，", "。", "！", "/", "%", "_", "\\", "100%", "纯花椒_", "%_%", "\\%", "a\\b", "as-is",
    # FTS5 query syntax as literal text
    '"', '""', '"引号"', '"脆李"', "*", "脆*", "*星号*", "(", ")", "()", "(括号)", "near", "NEAR(a", "AND", "OR",
    "NOT", "ornot", "^", "^开头", ":", "col:值", "col:", "{x}", "-", "-减", "+加", "'", "a OR b",
    # nothing like it
    "zzz", "zq", "鑫", "犇", "xq", "q", "x", "犇x",
]


@pytest.fixture
def catalog():
    suppliers = {
        "wushan": make_supplier(make_user(), name="巫山县红叶果业专业合作社", district_code="500237"),
        "fengjie": make_supplier(make_user(), name="奉节县夔门果业有限公司", district_code="500236",
                                 kind="leading_enterprise"),
        "fuling": make_supplier(make_user(), name="涪陵榨菜食品厂", district_code="500102", kind="processor"),
    }
    for key, name, subtitle, description in PRODUCTS:
        make_product(suppliers[key], name=name, subtitle=subtitle, description=description, category="other-fruit")
    make_product(suppliers["wushan"], name="巫山脆李 草稿", status="draft")  # not public: never found
    # Texts of one and two characters (the edges of the padded trigrams), written as an import might.
    short = [make_product(suppliers["wushan"], name=name).id for name in ("犇", "xq")]
    db.session.execute(update(Product).where(Product.id.in_(short)).values(search_text=Product.name))
    db.session.commit()
    return suppliers


def expected(needle: str) -> list[int]:
    """What the search means, computed without any index: public products whose search text contains the
    needle, those whose name does first, then newest first."""
    rows = db.session.execute(select(Product.id, Product.search_text, Product.search_name)
                              .where(Product.status == "active")).all()
    hits = [(0 if needle in name else 1, -product_id) for product_id, search_text, name in rows
            if needle in search_text]
    return [-negated for _, negated in sorted(hits)]


def every_page(client, q: str, limit: int) -> list[int]:
    ids, cursor = [], None
    while True:
        response = client.get(f"{API}/products", query_string={"q": q, "limit": limit,
                                                               **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, (q, response.json)
        ids += [item["id"] for item in response.json["items"]]
        cursor = response.json["next_cursor"]
        if not cursor:
            return ids


def test_every_needle_finds_what_a_substring_test_finds_on_every_page(client, catalog):
    text_of_products = db.session.scalars(select(Product.search_text)).all()
    # The first and last one and two characters of each text: the edges of what the index holds.
    edges = {piece for t in text_of_products for piece in (t[:1], t[:2], t[-1:], t[-2:], t[-3:])}
    found_something = 0
    for q in NEEDLES + sorted(edges):
        needle = search.query_needle(q)
        want = expected(needle)
        found_something += bool(want)
        assert every_page(client, q, limit=100) == want, q
        if len(want) > 3:
            assert every_page(client, q, limit=3) == want, q
    assert found_something > 60  # the needles do find things: equality is not only of empty lists


def test_a_product_changed_by_the_orm_is_found_by_its_new_text_only(client, catalog):
    product = make_product(catalog["fuling"], name="青菜头")
    assert every_page(client, "qingcaitou", 100) == [product.id]
    product = db.session.get(Product, product.id)
    product.name = "榨菜头"
    search.reindex(product, supplier_name=catalog["fuling"].name, district_name="涪陵区")
    db.session.commit()
    assert every_page(client, "qingcaitou", 100) == []
    assert every_page(client, "zhacaitou", 100) == [product.id]
    assert every_page(client, "菜头", 100) == [product.id]
    assert product.id in every_page(client, "头", 100) == expected("头")


def test_rows_written_with_core_reach_the_index(client, catalog):
    """Imports and the benchmark write with Core: the index must not depend on the ORM."""
    template = make_product(catalog["wushan"], name="模板")
    columns = {c.name: getattr(template, c.key) for c in Product.__table__.columns if c.name != "id"}
    db.session.commit()  # outside a request the session's reads hold SQLite's write lock
    with db.engine.begin() as conn:
        new_id = conn.execute(insert(Product).values(
            {**columns, "name": "巫溪洋芋", "search_name": search.search_name_for("巫溪洋芋"),
             "search_text": search.search_text_for(name="巫溪洋芋"),
             "search_grams": search.grams_of(search.search_text_for(name="巫溪洋芋"))}).returning(Product.id)
        ).scalar_one()
    assert every_page(client, "洋芋", 100) == [new_id]
    assert every_page(client, "wxyy", 100) == [new_id]
    assert every_page(client, "芋", 100) == [new_id]
    db.session.commit()
    with db.engine.begin() as conn:
        conn.execute(update(Product).where(Product.id == new_id).values(
            search_text="城口老腊肉", search_name="", search_grams=search.grams_of("城口老腊肉")))
    assert every_page(client, "洋芋", 100) == []
    assert every_page(client, "腊肉", 100) == [new_id]
    db.session.commit()
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM sku WHERE product_id = :id"), {"id": new_id})
        conn.execute(text("DELETE FROM product WHERE id = :id"), {"id": new_id})
    assert every_page(client, "腊肉", 100) == []


def _indexed_ids(fts_query: str) -> list[int]:
    ids = db.session.scalars(text("SELECT rowid FROM product_search WHERE product_search MATCH :q ORDER BY rowid"),
                             {"q": fts_query}).all()
    db.session.commit()  # outside a request the session's reads hold SQLite's write lock
    return ids


def test_a_deleted_product_leaves_the_sqlite_index_and_its_id_can_be_reused(app, client, catalog):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the FTS5 table exists on SQLite only")
    last_id = make_product(catalog["wushan"], name="甲乙丙丁").id
    assert _indexed_ids('"甲乙丙"') == [last_id]
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM sku WHERE product_id = :id"), {"id": last_id})
        conn.execute(text("DELETE FROM product WHERE id = :id"), {"id": last_id})
    assert _indexed_ids('"甲乙丙"') == []
    reused_id = make_product(catalog["wushan"], name="戊己庚辛").id
    assert reused_id == last_id  # SQLite hands out the highest id + 1 again
    assert _indexed_ids('"甲乙丙"') == [] and _indexed_ids('"戊己庚"') == [reused_id]
    db.session.execute(text("INSERT INTO product_search (product_search) VALUES ('integrity-check')"))


@pytest.mark.parametrize("q", ["脆李", "巫山脆李", "wscl", "李", "ws", '"*(NEAR'])
@pytest.mark.parametrize("sort", ["newest", "price_asc"])
def test_sqlite_search_reads_the_fts_index_not_the_product_table(client, catalog, q, sort):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's trigram indexes are checked by the benchmark (a 10,000-row table)")
    url = f"{API}/products"
    statements, response = record_statements(lambda: client.get(url, query_string={"q": q, "sort": sort}))
    assert response.status_code == 200
    statement, parameters = next((s, p) for s, p in statements if "FROM product" in s)
    plan = [row[-1] for row in db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                         parameters)]
    assert any(line.startswith("SCAN product_search VIRTUAL TABLE") for line in plan), plan
    product_access = [line for line in plan if line.split()[:2] in (["SCAN", "product"], ["SEARCH", "product"])]
    assert product_access and all(line.startswith("SEARCH product") and "id=?" in line for line in product_access), \
        plan


def test_fts_queries_quote_what_the_user_typed():
    assert search.fts_query('a"b*').value == '"a""b*"'
    assert search._successor("ws") == "wt" and search._successor("a\U0010ffff") == "b"
    assert search._successor("\U0010ffff") is None and search._successor("\ud7ff") == "\ue000"
