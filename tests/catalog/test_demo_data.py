"""Demo catalog: idempotent, valid, honest about GI records, and usable by the demo accounts."""
from __future__ import annotations

from sqlalchemy import func, select
from stdnum.cn import uscc

from shop.catalog import queries, services
from shop.catalog.demo_data import load_demo_catalog
from shop.catalog.models import GiRecord, Product, Sku, StockMovement
from shop.extensions import db
from shop.suppliers.models import Supplier, SupplierMember
from tests.support import make_user


def counts():
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Supplier, SupplierMember, Product, Sku, StockMovement))


def test_demo_catalog_is_idempotent_and_valid():
    owner, staff = make_user(), make_user()
    first = load_demo_catalog(owner, staff)
    assert first["products"] >= 14 and first["suppliers"] >= 7 and first["members"] == 2
    before = counts()
    assert load_demo_catalog(owner, staff) == {"suppliers": 0, "members": 0, "products": 0, "skus": 0}
    assert counts() == before

    suppliers = list(db.session.scalars(select(Supplier)))
    assert all(s.is_demo and s.status == "approved" and s.name.endswith("（演示）") for s in suppliers)
    assert all(uscc.is_valid(s.credit_code) for s in suppliers)
    products = {p.name: p for p in db.session.scalars(select(Product))}
    assert all(p.is_demo and p.status == "active" and p.min_price_fen > 0 and "演示" in p.description
               for p in products.values())
    records = {name: list(db.session.scalars(select(GiRecord).where(GiRecord.product_id == p.id)))
               for name, p in products.items()}
    for name in ("三峡白蜜", "燕山红茶", "玫瑰香橙", "高山腊肉", "开州春橙"):
        assert records[name] == [], name
    [orange] = records["奉节脐橙"]
    assert (orange.scheme, orange.number, orange.status) == ("gi_trademark", "4049199", "claimed")
    [plum] = records["巫山脆李"]
    assert plum.scheme == "agricultural_gi" and "demo" in plum.number
    assert products["巫山脆李"].sale_months == [6, 7, 8] and products["巫山脆李"].origin_district_code == "500237"
    assert products["巫山脆李"].cold_chain and products["巫山脆李"].return_policy == "excluded_fresh"
    assert products["涪陵榨菜"].product_type == "prepackaged" and products["涪陵榨菜"].return_policy == "seven_day"
    assert products["高山腊肉"].return_policy == "excluded_with_confirmation"
    assert products["奉节脐橙"].sale_months == [1, 2, 3, 4, 5, 11, 12]


def test_demo_accounts_manage_the_wushan_cooperative():
    owner, staff = make_user(), make_user()
    load_demo_catalog(owner, staff)
    wushan = db.session.scalar(select(Supplier).where(Supplier.district_code == "500237"))
    roles = dict(db.session.execute(select(SupplierMember.user_id, SupplierMember.role)
                                    .where(SupplierMember.supplier_id == wushan.id)).all())
    assert roles == {owner.id: "owner", staff.id: "staff"}
    page = queries.list_supplier_products(user=staff, supplier_id=wushan.id, limit=20, cursor=None)
    assert "巫山脆李" in [p.name for p in page["items"]]
    cuili = next(p for p in page["items"] if p.name == "巫山脆李")
    assert services.archive_product(user=staff, product_id=cuili.id).status == "archived"
    found = queries.list_public_products(limit=20, cursor=None, q="wscl")
    assert [p["name"] for p in found["items"]] == []
    assert [p["name"] for p in queries.list_public_products(limit=50, cursor=None, q="脐橙")["items"]] == ["奉节脐橙"]


# 《食品生产许可分类目录》 (2016): the three digits after "SC" are the food category. Per demo category slug, the code
# its SC numbers must carry. TCM decoction pieces are drugs, outside the food catalogue: the catch-all 131.
SC_FOOD_CATEGORY = {"cured-meat": "104",        # 肉制品 (腌腊肉制品)
                    "zhacai": "116",            # 蔬菜制品 (酱腌菜)
                    "condiments": "103",        # 调味品
                    "tea": "114",               # 茶叶及相关制品
                    "bee-products": "126",      # 蜂产品
                    "grain-oil": "101",         # 粮食加工品
                    "walnuts": "118",           # 炒货食品及坚果制品
                    "tcm-decoction-pieces": "131"}  # 其他食品 (placeholder: really a drug licence)


def test_every_demo_sc_number_names_its_products_food_category_and_origin_county():
    from shop.catalog.demo_data import DEMO_PRODUCTS

    with_sc = [spec for spec in DEMO_PRODUCTS if spec.get("sc_license_number")]
    assert with_sc
    for spec in with_sc:
        number = spec["sc_license_number"]
        assert len(number) == 16 and number[:2] == "SC" and number[2:].isdigit(), number
        assert spec["category"] in SC_FOOD_CATEGORY, f"{spec['name']}: no SC food category for {spec['category']}"
        assert number[2:5] == SC_FOOD_CATEGORY[spec["category"]], (spec["name"], number)
        assert number[5:11] == spec["district"], (spec["name"], number)  # 2 province, 2 city, 2 county
