"""Demo procurement (marked demo): a 江苏 hospital and a 浙江 school canteen, each approved on net 30 with this
year's reserved share filed; the hospital's TCM order above its buyer's limit, approved, shipped, invoiced with a
fapiao and paid in two transfers; the canteen's 涪陵榨菜 on terms, shipped and paid; and the canteen's weekly
standing order. Every step goes through the services, as a real institution's would.

Idempotent: organisations are found by credit code, orders by Idempotency-Key (demo-procurement-N); an order
whose key exists is skipped with its whole journey."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from stdnum.cn import uscc

from shop.catalog.models import Product, Sku
from shop.database import local_today
from shop.extensions import db
from shop.fapiao import services as fapiao
from shop.fapiao.models import Fapiao
from shop.orders import fulfillment as fulfilment
from shop.orders.models import Fulfillment, Order
from shop.payments import services as payments
from shop.procurement import organizations, quotas, requisitions, standing_orders
from shop.procurement.models import Organization, StandingOrder

KEY_PREFIX = "demo-procurement-"
DEMO_DOMAIN = "demo.sanxia.test"
TCM = ("云阳中药饮片（机构采购装）", "1kg 袋装 ×10")
ZHACAI = ("涪陵榨菜", "80g×50袋 整箱")


def _credit_code(serial: int, region: str) -> str:
    base = f"12{region}DEMA{serial:05d}"  # 12: 事业单位; "DEMA…" keeps it apart from real units' codes
    return base + uscc.calc_check_digit(base)


ORGANIZATIONS = [
    dict(key="hospital", name="江苏省某人民医院（演示）", kind="hospital", region="320000", county="320102",
         detail="南京市玄武区中山路 1 号 食堂仓库（演示）", spend_fen=600_000_000,
         people={"admin": "jiangsu.hospital.admin", "buyer": "jiangsu.hospital.buyer",
                 "approver": "jiangsu.hospital.approver"}, buyer_limit_fen=500_000),
    dict(key="school", name="浙江省某中学食堂（演示）", kind="school", region="330000", county="330106",
         detail="杭州市西湖区文三路 1 号 学生食堂（演示）", spend_fen=120_000_000,
         people={"admin": "zhejiang.school.admin", "buyer": "zhejiang.school.buyer",
                 "approver": "zhejiang.school.approver"}, buyer_limit_fen=300_000),
]
ROLE_NAMES = {"admin": "管理员", "buyer": "采购员", "approver": "审批人"}


def _ensure_organization(spec: dict, serial: int, *, platform, ensure_user) -> tuple[Organization, dict]:
    people = {role: ensure_user({"email": f"{local}@{DEMO_DOMAIN}", "name": f"{spec['name']} {ROLE_NAMES[role]}"})
              for role, local in spec["people"].items()}
    code = _credit_code(serial, spec["region"])
    organization = db.session.scalar(select(Organization).where(Organization.credit_code == code))
    if organization is not None:
        return organization, people
    organization = organizations.register_organization(
        user=people["admin"], is_demo=True, name=spec["name"], kind=spec["kind"], credit_code=code,
        home_region_code=spec["region"], address=spec["detail"], contact_name=people["admin"].display_name,
        contact_phone="+8613900000000", has_canteen=True, fapiao_title=spec["name"], taxpayer_id=code,
        fapiao_address_phone=f"{spec['detail']} 025-00000000", fapiao_bank_account="演示银行 6222000000000000")
    organizations.review_organization(organization_id=organization.id, actor=platform, action="approve")
    organizations.set_payment_terms(organization_id=organization.id, actor=platform, payment_terms="net_30")
    for role in ("buyer", "approver"):
        organizations.add_member(user=people["admin"], organization_id=organization.id, email=people[role].email,
                                 role=role, spending_limit_fen=spec["buyer_limit_fen"] if role == "buyer" else 0)
    quotas.file_quota(user=people["admin"], organization_id=organization.id, year=local_today().year,
                      canteen_food_spend_fen=spec["spend_fen"], share_bp=1000)
    return organization, people


def _sku(name: str, spec: str) -> int:
    return db.session.scalar(select(Sku.id).join(Product, Product.id == Sku.product_id)
                             .where(Product.is_demo.is_(True), Product.name == name, Sku.spec == spec))


def _delivery(spec: dict, people: dict) -> dict:
    return {"recipient": people["buyer"].display_name, "mobile": "+8613900000000", "region_code": spec["county"],
            "detail": spec["detail"], "postal_code": None}


def _ship_all(order_id: int, shipper) -> None:
    for fulfillment_id in db.session.scalars(select(Fulfillment.id).where(Fulfillment.order_id == order_id)):
        fulfilment.ship(user=shipper, fulfillment_id=fulfillment_id, carrier="顺丰速运",
                        tracking_number=f"SFDEMO{order_id:08d}")


def _issue_fapiao(order_id: int, shipper) -> None:
    for fapiao_id, number_seed in db.session.execute(select(Fapiao.id, Fapiao.fulfillment_id)
                                                     .where(Fapiao.order_id == order_id)):
        record = fapiao.get_fapiao(user=shipper, fapiao_id=fapiao_id)
        fapiao.issue(user=shipper, fapiao_id=fapiao_id, number=f"{26_500_000_000_000_000_000 + number_seed:020d}",
                     issued_on=local_today(), amount_fen=record.invoiceable_fen)


def _transfers(order_id: int, platform, parts: list[int], reference: str) -> None:
    for index, amount in enumerate(parts, start=1):
        payments.record_bank_transfer(user=platform, order_id=order_id, amount_fen=amount, value_date=local_today(),
                                      reference=f"{reference}-{order_id}-{index}")


def load_demo_procurement(*, platform, shipper, ensure_user) -> dict:
    added = {"organizations": 0, "requisitions": 0, "standing_orders": 0}
    before = db.session.scalar(select(db.func.count()).select_from(Organization))
    orgs = {spec["key"]: _ensure_organization(spec, serial, platform=platform, ensure_user=ensure_user) + (spec,)
            for serial, spec in enumerate(ORGANIZATIONS, start=1)}
    added["organizations"] = db.session.scalar(select(db.func.count()).select_from(Organization)) - before
    existing = set(db.session.scalars(select(Order.idempotency_key).where(Order.idempotency_key.like(f"{KEY_PREFIX}%"))))

    hospital, h_people, h_spec = orgs["hospital"]
    if f"{KEY_PREFIX}1" not in existing:  # 20 件 at the tier price: above the buyer's 5,000 元, so approved by hand
        order = requisitions.place_requisition(
            user=h_people["buyer"], organization_id=hospital.id, items=[{"sku_id": _sku(*TCM), "quantity": 20}],
            delivery_address=_delivery(h_spec, h_people), po_number="JS-DEMO-2026-001", fapiao_type="special",
            note="药剂科 年度中药饮片采购（演示）", idempotency_key=f"{KEY_PREFIX}1")
        requisitions.approve_requisition(user=h_people["approver"], organization_id=hospital.id, order_id=order.id,
                                         comment="在年度预算内，同意（演示）")
        _ship_all(order.id, shipper)
        _issue_fapiao(order.id, shipper)
        total = db.session.get(Order, order.id).total_fen
        _transfers(order.id, platform, [total // 2, total - total // 2], "DEMO-BOC")
        added["requisitions"] += 1

    school, s_people, s_spec = orgs["school"]
    if f"{KEY_PREFIX}2" not in existing:  # within the buyer's limit: approved at once, on terms
        order = requisitions.place_requisition(
            user=s_people["buyer"], organization_id=school.id, items=[{"sku_id": _sku(*ZHACAI), "quantity": 10}],
            delivery_address=_delivery(s_spec, s_people), po_number="ZJ-DEMO-2026-017", fapiao_type="normal",
            note="学生食堂 榨菜（演示）", idempotency_key=f"{KEY_PREFIX}2")
        _ship_all(order.id, shipper)
        _transfers(order.id, platform, [db.session.get(Order, order.id).total_fen], "DEMO-ICBC")
        added["requisitions"] += 1
    if db.session.scalar(select(StandingOrder.id).where(StandingOrder.organization_id == school.id)) is None:
        today = local_today()
        standing_orders.create_standing_order(
            user=s_people["buyer"], organization_id=school.id, items=[{"sku_id": _sku(*ZHACAI), "quantity": 10}],
            delivery_address=_delivery(s_spec, s_people), frequency="weekly", starts_on=today + dt.timedelta(days=7),
            ends_on=today + dt.timedelta(days=180), note="每周一 食堂榨菜（演示）")
        added["standing_orders"] += 1
    return added
