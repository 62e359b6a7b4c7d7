"""Demo suppliers and products from ../shared/reference/products.md. Everything is marked demo (is_demo, names
ending "（演示）", descriptions saying prices are demo data).

GI records follow the reference only: where it gives no registration number the number says it is a demo
placeholder; products whose origin and GI status the reference calls unverified (三峡白蜜, 燕山红茶, 玫瑰香橙,
高山腊肉) claim no GI. Licence numbers are well-formed demo values, not real registrations.
"""
from __future__ import annotations

from sqlalchemy import select
from stdnum.cn import uscc

from shop.catalog import gi, search, stock
from shop.catalog.models import Category, GiRecord, Product, Sku, months_to_mask
from shop.catalog.seed import load_categories
from shop.catalog.services import SKU_DEFAULTS, check_product, refresh_min_price, sku_problems
from shop.database import utcnow
from shop.extensions import db
from shop.regions.models import Region
from shop.suppliers.models import Supplier, SupplierMember, SupplierStatusEvent
from shop.transaction import transaction

ALL_YEAR = list(range(1, 13))
DEMO_NOTE = "演示数据：价格、库存与供货企业均为演示，不代表真实报价。"
UNVERIFIED_NOTE = "产地与地理标志状态未经核实，本品不声明地理标志。"
PLACEHOLDER_NOTE = "地理标志登记编号为演示占位。"

# (key, name, kind, district, USCC entity-type prefix: 93 农民专业合作社, 92 个体工商户, 91 企业)
DEMO_SUPPLIERS = [
    ("wushan", "巫山县曲尺乡脆李专业合作社（演示）", "cooperative", "500237", "93"),
    ("fengjie", "奉节县脐橙产业发展有限公司（演示）", "leading_enterprise", "500236", "91"),
    ("kaizhou", "开州区春橙家庭农场（演示）", "family_farm", "500154", "92"),
    ("fuling_zhacai", "涪陵区榨菜食品有限公司（演示）", "processor", "500102", "91"),
    ("fuling_coop", "涪陵区青菜头种植专业合作社（演示）", "cooperative", "500102", "93"),
    ("wuxi", "巫溪县高山特产专业合作社（演示）", "cooperative", "500238", "93"),
    ("fengdu", "丰都县锦橙种植专业合作社（演示）", "cooperative", "500230", "93"),
    ("yunyang", "云阳县泥溪镇黑木耳专业合作社（演示）", "cooperative", "500235", "93"),
    ("yunyang_tcm", "云阳县三峡中药饮片有限公司（演示）", "processor", "500235", "91"),
    # 玫瑰香橙's grower is not in the reference: a generic demo cooperative of the district, not 天生云阳 (the
    # county's public brand) nor the wood-ear cooperative. Appended: the serials above stay as they were.
    ("yunyang_citrus", "云阳县柑橘种植专业合作社（演示）", "cooperative", "500235", "93"),
]


def demo_credit_code(prefix: str, district_code: str, serial: int) -> str:
    """A checksum-valid, stable 统一社会信用代码: the same supplier gets the same code on every run."""
    base = f"{prefix}{district_code}MA{serial:07d}"
    return base + uscc.calc_check_digit(base)


def _sku(spec, weight_g, price_fen, stock_qty, unit="箱", **extra):
    return {"spec": spec, "unit": unit, "weight_g": weight_g, "price_fen": price_fen, "stock": stock_qty, **extra}


def _gi(scheme, number, area):
    return {"gi_scheme": scheme, "gi_number": number, "gi_protected_area": area}


FRESH = {"product_type": "raw_produce", "return_policy": "excluded_fresh", "cold_chain": True}
DRY = {"product_type": "raw_produce", "return_policy": "seven_day"}

DEMO_PRODUCTS = [
    dict(supplier="wushan", name="巫山脆李", category="plums", district="500237", **FRESH,
         subtitle="高山脆李 现摘现发 约60天鲜果期", sale_months=[6, 7, 8], shelf_life_days=7, storage="0–4℃冷藏",
         description="巫山脆李，果肉脆甜，六月下旬至八月底上市。地理标志商标（2016）、农产品地理标志（2020）。"
                     + PLACEHOLDER_NOTE,
         gi=_gi("agricultural_gi", "AGI2020-demo", "重庆市巫山县"),
         skus=[_sku("3斤装 精品果", 1500, 3990, 200), _sku("5斤装 特级果", 2500, 6990, 150),
               _sku("10斤装 家庭装", 5000, 11900, 80, price_tiers=[{"min_qty": 20, "price_fen": 10900},
                                                                   {"min_qty": 50, "price_fen": 9900}])]),
    dict(supplier="wushan", name="三峡白蜜", category="bee-products", district="500237", product_type="prepackaged",
         food_filing_number="YB15002370001（演示）", return_policy="seven_day", subtitle="山花蜜 自然成熟",
         sale_months=ALL_YEAR, shelf_life_days=730, storage="常温避光", description="三峡库区山区蜂场所产蜂蜜。"
         + UNVERIFIED_NOTE, skus=[_sku("500g 瓶装", 600, 6800, 120, unit="瓶"),
                                  _sku("1kg 瓶装", 1150, 12800, 60, unit="瓶")]),
    dict(supplier="wushan", name="燕山红茶", category="tea", district="500237", product_type="prepackaged",
         food_filing_number="YB15002370002（演示）", return_policy="seven_day", subtitle="高山工夫红茶",
         sale_months=ALL_YEAR, shelf_life_days=540, storage="密封 防潮 避光", description="高山茶园工夫红茶。"
         + UNVERIFIED_NOTE, skus=[_sku("100g 罐装", 250, 8800, 100, unit="罐"),
                                  _sku("250g 礼盒", 600, 19800, 40, unit="盒")]),
    dict(supplier="fengjie", name="奉节脐橙", category="citrus", district="500236", **FRESH,
         subtitle="凤早 凤园 凤晚 班菲尔 鲍威尔 轮季上市", sale_months=[11, 12, 1, 2, 3, 4, 5], shelf_life_days=30,
         storage="阴凉通风", description="奉节脐橙，按品种从十一月下旬（凤早）到次年五月（鲍威尔、切斯勒特）陆续上市。"
                                         "地理标志商标（2006，第4049199号）、地理标志保护产品（2009）、农产品地理标志（2020）。",
         gi=_gi("gi_trademark", "4049199", "重庆市奉节县"),
         skus=[_sku("5斤装 中果 果径70–75mm", 2500, 3990, 300), _sku("10斤装 大果 果径75–80mm", 5000, 6990, 200,
                                                                    price_tiers=[{"min_qty": 30, "price_fen": 6290}])]),
    dict(supplier="kaizhou", name="开州春橙", category="citrus", district="500154", **FRESH,
         subtitle="春季晚熟甜橙", sale_months=[2, 3, 4, 5], shelf_life_days=30, storage="阴凉通风",
         description="开州春橙，二月至五月上市。", skus=[_sku("5斤装", 2500, 4590, 150), _sku("10斤装", 5000, 7990, 80)]),
    dict(supplier="fuling_zhacai", name="涪陵榨菜", category="zhacai", district="500102", product_type="prepackaged",
         food_filing_number="YB15001020001（演示）", return_policy="seven_day", subtitle="鲜脆榨菜丝 开袋即食",
         sale_months=ALL_YEAR, shelf_life_days=365, storage="常温", description="涪陵榨菜，重庆市第一件地理标志商标（2002）。"
         + PLACEHOLDER_NOTE, gi=_gi("gi_trademark", "GI-TM2002-demo", "重庆市涪陵区"),
         skus=[_sku("80g×10袋", 850, 2990, 500, unit="组"),
               _sku("80g×50袋 整箱", 4200, 12900, 100, price_tiers=[{"min_qty": 10, "price_fen": 11900}])]),
    dict(supplier="fuling_coop", name="涪陵青菜头", category="vegetables", district="500102", **FRESH,
         subtitle="冬春鲜青菜头（榨菜原料）", sale_months=[12, 1, 2, 3], shelf_life_days=10, storage="0–4℃冷藏",
         description="涪陵青菜头，冬春上市。农产品地理标志（2020）。" + PLACEHOLDER_NOTE,
         gi=_gi("agricultural_gi", "AGI2020-demo", "重庆市涪陵区"), skus=[_sku("5斤装 鲜青菜头", 2500, 2590, 200)]),
    # Dried medicinal root sold by its growers: farm produce (中药材), not decoction pieces.
    dict(supplier="wuxi", name="巫溪独活", category="medicinal-herbs", district="500238", **DRY,
         subtitle="道地药材 干货", sale_months=ALL_YEAR, shelf_life_days=730, storage="干燥通风",
         description="巫溪独活，农产品地理标志（2020）。" + PLACEHOLDER_NOTE,
         gi=_gi("agricultural_gi", "AGI2020-demo", "重庆市巫溪县"), skus=[_sku("500g 干片", 550, 4800, 80, unit="袋")]),
    dict(supplier="wuxi", name="巫溪核桃", category="walnuts", district="500238", **DRY, subtitle="高山薄壳核桃",
         sale_months=ALL_YEAR, shelf_life_days=365, storage="阴凉干燥", description="巫溪高山核桃。",
         skus=[_sku("2斤装 薄壳核桃", 1000, 4590, 150, unit="袋")]),
    dict(supplier="wuxi", name="高山腊肉", category="cured-meat", district="500238", product_type="seller_processed",
         sc_license_number="SC10450023800014", return_policy="excluded_with_confirmation", subtitle="柴火烟熏 传统腊肉",
         sale_months=ALL_YEAR, shelf_life_days=180, storage="阴凉通风或冷藏",
         description="高山农家柴火熏制腊肉；按订单切分真空包装，购买时确认不适用七日无理由退货。" + UNVERIFIED_NOTE,
         skus=[_sku("500g 五花腊肉", 550, 6800, 100, unit="袋"), _sku("1kg 后腿腊肉", 1100, 12800, 50, unit="袋")]),
    dict(supplier="fengdu", name="丰都锦橙", category="citrus", district="500230", **FRESH, subtitle="冬季鲜橙",
         sale_months=[11, 12, 1], shelf_life_days=30, storage="阴凉通风", description="丰都锦橙，冬季上市。农产品地理标志（2020）。"
         + PLACEHOLDER_NOTE, gi=_gi("agricultural_gi", "AGI2020-demo", "重庆市丰都县"),
         skus=[_sku("5斤装", 2500, 3590, 150), _sku("10斤装", 5000, 6290, 80)]),
    dict(supplier="yunyang", name="泥溪青杠树黑木耳", category="wood-ear", district="500235", **DRY,
         subtitle="青杠树段木栽培 干木耳", sale_months=ALL_YEAR, shelf_life_days=720, storage="干燥密封",
         description="云阳县泥溪镇青杠树段木黑木耳，农产品地理标志（2019）。" + PLACEHOLDER_NOTE,
         gi=_gi("agricultural_gi", "AGI2019-demo", "重庆市云阳县"), skus=[_sku("250g 袋装", 300, 3900, 200, unit="袋")]),
    dict(supplier="yunyang_citrus", name="玫瑰香橙", category="citrus", district="500235", **FRESH, subtitle="冬季香橙",
         sale_months=[11, 12, 1, 2], shelf_life_days=30, storage="阴凉通风", description="玫瑰香橙。" + UNVERIFIED_NOTE,
         skus=[_sku("5斤装", 2500, 4990, 120)]),
    # TCM decoction pieces really need a drug production licence (药品生产许可证), which no food category of the
    # SC catalogue covers; the platform still records an SC-format number, so the demo one uses 131 (其他食品,
    # the catalogue's catch-all) rather than claim a food category it is not (the old 124 is 糕点).
    dict(supplier="yunyang_tcm", name="云阳中药饮片（机构采购装）", category="tcm-decoction-pieces", district="500235",
         product_type="tcm_decoction", sc_license_number="SC13150023500012", return_policy="excluded_with_confirmation",
         subtitle="医院、机构集中采购规格", sale_months=ALL_YEAR, shelf_life_days=730, storage="阴凉干燥",
         description="云阳中药饮片，供医院等机构集中采购。", skus=[_sku("1kg 袋装 ×10", 10500, 98000, 60, unit="件",
                                                                 price_tiers=[{"min_qty": 20, "price_fen": 92000}])]),
]


def _ensure_supplier(serial: int, key: str, name: str, kind: str, district: str, prefix: str) -> tuple[Supplier, bool]:
    credit_code = demo_credit_code(prefix, district, serial)
    supplier = db.session.scalar(select(Supplier).where(Supplier.credit_code == credit_code))
    if supplier is not None:
        return supplier, False
    supplier = Supplier(name=name, kind=kind, credit_code=credit_code, district_code=district,
                        contact_name="演示联系人", contact_phone=f"+86138000000{serial:02d}", address="演示地址",
                        farmer_linkage="演示数据：带动周边农户种植、收购与务工。", is_demo=True, status="approved",
                        status_reason="演示数据", reviewed_at=utcnow())
    db.session.add(supplier)
    db.session.flush()
    db.session.add(SupplierStatusEvent(supplier_id=supplier.id, from_status=None, to_status="approved",
                                       reason="演示数据", actor_id=None))
    return supplier, True


def _ensure_member(supplier: Supplier, user, role: str) -> bool:
    exists = db.session.scalar(select(SupplierMember.id).where(SupplierMember.supplier_id == supplier.id,
                                                               SupplierMember.user_id == user.id))
    if exists:
        return False
    db.session.add(SupplierMember(supplier_id=supplier.id, user_id=user.id, role=role))
    return True


def _create_product(spec: dict, supplier: Supplier, categories: dict[str, int], actor_id: int | None) -> int:
    values = {k: spec[k] for k in ("name", "subtitle", "description", "product_type", "return_policy",
                                   "shelf_life_days", "storage", "sc_license_number", "food_filing_number",
                                   "cold_chain") if k in spec}
    values["description"] = spec["description"] + DEMO_NOTE
    values.update(category_id=categories[spec["category"]], origin_district_code=spec["district"])
    check_product(values | spec.get("gi", {}))  # demo data obeys the same rules as a supplier's input
    product = Product(supplier_id=supplier.id, status="active", is_demo=True, published_at=utcnow(),
                      sale_months_mask=months_to_mask(spec["sale_months"]), **values)
    district = db.session.get(Region, spec["district"])
    search.reindex(product, supplier_name=supplier.name, district_name=district.name)
    db.session.add(product)
    db.session.flush()
    for sku_spec in spec["skus"]:
        sku_values = {**SKU_DEFAULTS, **{k: v for k, v in sku_spec.items() if k != "stock"}}
        assert not sku_problems(sku_values), (spec["name"], sku_values)
        sku = Sku(product_id=product.id, stock=0, **sku_values)
        db.session.add(sku)
        db.session.flush()
        stock.adjust(sku_id=sku.id, delta=sku_spec["stock"], reason="import", note="演示数据初始库存",
                     actor_id=actor_id)
    if spec.get("gi"):  # claimed, as a supplier would; verifying is an operator's act
        gi.claim_in_unit(product, scheme=spec["gi"]["gi_scheme"], number=spec["gi"]["gi_number"],
                         protected_area=spec["gi"]["gi_protected_area"])
    refresh_min_price(product)
    return len(spec["skus"])


def load_demo_catalog(owner_user, staff_user=None, other_owners: dict | None = None) -> dict:
    """Idempotent: suppliers are found by credit code, products by (supplier, name); a second run adds nothing.
    owner_user owns the 巫山 cooperative, staff_user (if given) is its staff; other_owners maps further
    supplier keys (e.g. "fengjie") to their owner. Returns counts of rows added. One unit of work: all of it
    or nothing (part of the caller's when called inside one)."""
    with transaction():
        load_categories()
        categories = dict(db.session.execute(select(Category.slug, Category.id)).all())
        added = {"suppliers": 0, "members": 0, "products": 0, "skus": 0}
        suppliers = {}
        for serial, row in enumerate(DEMO_SUPPLIERS, start=1):
            suppliers[row[0]], created = _ensure_supplier(serial, *row)
            added["suppliers"] += created
        added["members"] += _ensure_member(suppliers["wushan"], owner_user, "owner")
        if staff_user is not None:
            added["members"] += _ensure_member(suppliers["wushan"], staff_user, "staff")
        for key, user in (other_owners or {}).items():
            added["members"] += _ensure_member(suppliers[key], user, "owner")
        for spec in DEMO_PRODUCTS:
            supplier = suppliers[spec["supplier"]]
            if db.session.scalar(select(Product.id).where(Product.supplier_id == supplier.id,
                                                          Product.name == spec["name"])):
                continue
            added["skus"] += _create_product(spec, supplier, categories, owner_user.id)
            added["products"] += 1
    return added


# GI numbers that ../shared/reference/products.md gives (奉节脐橙: GI trademark No. 4049199). The demo operator
# verifies these; the "-demo" placeholders stay claimed, as unverified claims do.
SOURCED_GI_NUMBERS = {"4049199"}


def verify_sourced_gi(admin) -> int:
    """The demo operator verifies the demo GI claims whose number is sourced. Idempotent. Returns how many."""
    claimed = list(db.session.scalars(
        select(GiRecord.id).join(Product).where(Product.is_demo.is_(True), GiRecord.status == "claimed",
                                                GiRecord.number.in_(SOURCED_GI_NUMBERS))))
    for record_id in claimed:
        gi.review(user=admin, record_id=record_id, action="verify",
                  note="演示：编号见参考资料 products.md")
    return len(claimed)

