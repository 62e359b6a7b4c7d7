"""Demo history: shipping rules for the demo suppliers and six months of demo orders, so that `make run` shows a
shop that has been trading (the statistics need orders spread over months).

Every order goes through the real services (place_order, record_bank_transfer, ship, deliver, request_refund /
decide_refund / operator_refund, record_refund_transfer), so the ledger invariants hold as for any order. The
orders are paid by bank transfer (对公转账 plan): it is the one payment path that needs no provider, so loading
works without localstripe and in a few seconds. The services stamp "now"; one step at the end
(`_backdate`) moves each new order's timestamps to its planned day.

Deterministic: the plan comes from a fixed seed. Idempotent: every order has an Idempotency-Key
(`demo-history-NNN`); an order whose key exists is skipped whole.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import select

from shop.accounts.models import User
from shop.assistance.models import AttributionEntry
from shop.addresses.services import create_address, list_addresses
from shop.catalog.models import Product, Sku
from shop.catalog.queries import SHOP_TIMEZONE, season_as_of
from shop.checkout.services import place_order
from shop.database import utcnow
from shop.extensions import db
from shop.orders import fulfillment as fulfilment
from shop.orders.models import Fulfillment, Order, OrderEvent, OrderLine
from shop.payments import services as payments
from shop.payments.models import Payment
from shop.refunds import services as refunds
from shop.refunds.models import Refund, RefundPart
from shop.refunds.requests import request_refund
from shop.regions import services as regions
from shop.suppliers import services as suppliers
from shop.settlements.models import SettlementEntry
from shop.suppliers.models import ShippingRule, Supplier, SupplierMember
from shop.transaction import transaction

SEED = 20260601
RANDOM_ORDER_COUNT = 48
# Then one order per shopper of a supporting region, of a product of the district its region supports
# (消费帮扶: 江苏 shoppers buy 云阳's products), so every demo pair has buyers.
PARTNER_ORDER_COUNT = 15  # the DEMO_SHOPPERS whose home region supports a demo district
ORDER_COUNT = RANDOM_ORDER_COUNT + PARTNER_ORDER_COUNT
DAYS_BACK = 180  # six months before the load
KEY_PREFIX = "demo-history-"

# Shoppers of the provinces that support the demo suppliers' districts (support_pairs.csv: 江苏→云阳,
# 浙江→涪陵, 广东→巫山, 辽宁/沈阳→奉节, 四川→开州, 吉林→巫溪, 河北→丰都) and of Chongqing itself.
# (email local part, name, home region, address county, address detail)
DEMO_SHOPPERS = [
    ("buyer.jiangsu", "陈静 (demo)", "320100", "320104", "南京市秦淮区中华路 8 号 (demo)"),
    ("buyer.zhejiang", "王磊 (demo)", "330100", "330106", "杭州市西湖区文三路 90 号 (demo)"),
    ("buyer.guangdong", "李娜 (demo)", "440300", "440305", "深圳市南山区科技园南路 2 号 (demo)"),
    ("buyer.liaoning", "刘洋 (demo)", "210100", "210102", "沈阳市和平区南京北街 6 号 (demo)"),
    ("buyer.sichuan", "杨帆 (demo)", "510000", "510104", "成都市锦江区红星路 3 号 (demo)"),
    ("buyer.jilin", "赵敏 (demo)", "220000", "220102", "长春市南关区人民大街 12 号 (demo)"),
    ("buyer.hebei", "孙伟 (demo)", "130000", "130102", "石家庄市长安区中山东路 5 号 (demo)"),
    ("buyer.chongqing", "周琳 (demo)", "500000", "500103", "重庆市渝中区解放碑民族路 1 号 (demo)"),
    ("buyer.wanzhou", "吴刚 (demo)", "500101", "500101", "重庆市万州区高笋塘 18 号 (demo)"),
    ("buyer.jiangbei", "郑洁 (demo)", "500105", "500105", "重庆市江北区观音桥步行街 6 号 (demo)"),
    # More shoppers of Chongqing and of the four largest demo pairs: a figure is published only from
    # ASSISTANCE_MIN_BUYERS (3) distinct buyers on, so the showcase's 市内 and pair charts need three each.
    ("buyer.jiangsu2", "黄蕾 (demo)", "320500", "320508", "苏州市姑苏区人民路 100 号 (demo)"),
    ("buyer.jiangsu3", "徐峰 (demo)", "320200", "320213", "无锡市梁溪区中山路 22 号 (demo)"),
    ("buyer.zhejiang2", "朱琴 (demo)", "330200", "330203", "宁波市海曙区中山西路 15 号 (demo)"),
    ("buyer.zhejiang3", "何斌 (demo)", "330300", "330302", "温州市鹿城区五马街 7 号 (demo)"),
    ("buyer.guangdong2", "郭婷 (demo)", "440100", "440104", "广州市越秀区北京路 30 号 (demo)"),
    ("buyer.guangdong3", "马超 (demo)", "440600", "440604", "佛山市禅城区祖庙路 9 号 (demo)"),
    ("buyer.liaoning2", "林雪 (demo)", "210200", "210202", "大连市中山区人民路 11 号 (demo)"),
    ("buyer.liaoning3", "罗军 (demo)", "210100", "210103", "沈阳市沈河区中街路 4 号 (demo)"),
]
DEMO_DOMAIN = "demo.sanxia.test"

# Per supplier key: (base fee, base weight g, per extra kg, cold-chain surcharge, free over). Fresh fruit pays a
# cold-chain surcharge; free shipping above a demo threshold, so the history has both kinds of order.
SHIPPING_RULES = {
    "wushan": (1200, 3000, 300, 800, 19900), "fengjie": (1000, 5000, 200, 600, 15900),
    "kaizhou": (1000, 5000, 200, 600, None), "fuling_zhacai": (800, 1000, 200, 0, 9900),
    "fuling_coop": (1000, 3000, 300, 800, None), "wuxi": (1000, 1000, 300, 0, 12900),
    "fengdu": (1000, 5000, 200, 600, None), "yunyang": (800, 1000, 200, 0, 9900),
    "yunyang_tcm": (0, 20000, 100, 0, None), "yunyang_citrus": (1000, 5000, 200, 600, None),
}
CARRIERS = ["顺丰速运", "中国邮政 EMS", "京东物流", "中通快递"]
# What happens to an order after it is paid, and how often (weights). Months-old orders have all arrived; only
# the newest ones are still on their way or waiting to be shipped (IN_FLIGHT, newest last).
OUTCOMES = [("delivered", 80), ("partial_refund", 12), ("full_refund", 8)]
IN_FLIGHT = ["shipped", "paid", "shipped", "paid"]


@dataclass
class PlannedOrder:
    index: int
    shopper: int                     # index into DEMO_SHOPPERS
    items: list[tuple[str, str, int]]  # (product name, sku spec, quantity)
    placed_at: dt.datetime
    outcome: str
    carrier: str


def plan_orders(products: list[tuple[str, str, int, str]], *, now: dt.datetime,
                partners: dict[int, str]) -> list[PlannedOrder]:
    """The order plan from the fixed seed: the same products, quantities, shoppers and days on every run.
    `products` are (name, sku spec, sale months mask, origin district): an order only holds what was in season on
    its day. `partners`: shopper index → the district its home region supports (one partner order each)."""
    rng = random.Random(SEED)
    plan = []

    def in_season_on(placed_at, district=None):
        month = placed_at.astimezone(SHOP_TIMEZONE).month
        return [(name, spec) for name, spec, mask, origin in products
                if mask & (1 << (month - 1)) and district in (None, origin)]

    for index in range(RANDOM_ORDER_COUNT):
        days_ago = DAYS_BACK - (index * DAYS_BACK) // RANDOM_ORDER_COUNT - rng.randint(0, 2)
        placed_at = (now - dt.timedelta(days=max(days_ago, 1), hours=rng.randint(0, 10), minutes=rng.randint(0, 59)))
        picks = rng.sample(in_season_on(placed_at), rng.choice((1, 1, 1, 2)))
        outcome = rng.choices([o for o, _ in OUTCOMES], weights=[w for _, w in OUTCOMES])[0]
        in_flight = index - (RANDOM_ORDER_COUNT - len(IN_FLIGHT))
        plan.append(PlannedOrder(
            index=index, shopper=rng.randrange(len(DEMO_SHOPPERS)),
            items=[(name, spec, rng.choice((1, 1, 2))) for name, spec in picks], placed_at=placed_at,
            outcome=IN_FLIGHT[in_flight] if in_flight >= 0 else outcome,
            carrier=rng.choice(CARRIERS)))
    if len(partners) != PARTNER_ORDER_COUNT:
        raise RuntimeError(f"{len(partners)} demo shoppers have a partner district, not {PARTNER_ORDER_COUNT}")
    for offset, (shopper, district) in enumerate(sorted(partners.items())):
        # Spread over the months, on the first day from there that one of the district's products is in season;
        # when none was in the whole window (开州's spring oranges in a winter load), whatever was in season on
        # the planned day (it counts for no pair), so the number of orders never depends on the load's date.
        planned_days_ago = DAYS_BACK - 5 - offset * (DAYS_BACK - 20) // PARTNER_ORDER_COUNT
        hours, minutes = rng.randint(0, 10), rng.randint(0, 59)
        for days_ago in (*range(planned_days_ago, 1, -7), planned_days_ago):
            placed_at = now - dt.timedelta(days=days_ago, hours=hours, minutes=minutes)
            candidates = in_season_on(placed_at, district)
            if candidates:
                break
        else:
            candidates = in_season_on(placed_at)
        name, spec = rng.choice(candidates)
        plan.append(PlannedOrder(index=RANDOM_ORDER_COUNT + offset, shopper=shopper, items=[(name, spec, 1)],
                                 placed_at=placed_at, outcome="delivered", carrier=rng.choice(CARRIERS)))
    return plan


def partner_districts(shoppers: list[User], districts: set[str]) -> dict[int, str]:
    """Shopper index → the district of `districts` that the shopper's home region supports through a verified
    pair, the nearest supporter first (a 南京 shopper: 南京's pair before 江苏's)."""
    pairs = {}
    for pair in regions.pairs_to(sorted(districts)):
        if pair.verified:
            pairs.setdefault(pair.supporter_code, pair.recipient_code)
    partners = {}
    for index, shopper in enumerate(shoppers):
        chain = [region.code for region in regions.region_chain(shopper.home_region_code)]
        district = next((pairs[code] for code in chain if code in pairs), None)
        if district is not None:
            partners[index] = district
    return partners


def ensure_shoppers(ensure_user) -> list[User]:
    """The demo shoppers (DEMO_SHOPPERS order), each with a default address (the demo campaigns' pledgers too)."""
    shoppers = []
    for local, name, home, county, detail in DEMO_SHOPPERS:
        user = ensure_user({"email": f"{local}@{DEMO_DOMAIN}", "name": name, "home": home})
        if not list_addresses(user=user):
            create_address(user=user, is_default=True, recipient=name, mobile="+8613900000000", region_code=county,
                           detail=detail)
        shoppers.append(user)
    return shoppers


def _ensure_shipper(shipper: User, supplier_ids: list[int]) -> None:
    """The demo operations clerk manages every demo supplier: shipping rules and refund decisions need a manager
    (shipping and delivery alone would need staff)."""
    with transaction():
        have = set(db.session.scalars(select(SupplierMember.supplier_id).where(SupplierMember.user_id == shipper.id)))
        for supplier_id in supplier_ids:
            if supplier_id not in have:
                db.session.add(SupplierMember(supplier_id=supplier_id, user_id=shipper.id, role="manager"))


def ensure_shipping_rules(shipper: User, suppliers_by_key: dict[str, int]) -> int:
    """A rule for every demo supplier that has none (an owner's own rule is kept). Returns rules added."""
    added = 0
    for key, supplier_id in suppliers_by_key.items():
        if key not in SHIPPING_RULES or db.session.get(ShippingRule, supplier_id) is not None:
            continue
        base, weight, extra, cold, free_over = SHIPPING_RULES[key]
        suppliers.set_shipping_rule(user=shipper, supplier_id=supplier_id, base_fee_fen=base, base_weight_g=weight,
                                    per_extra_kg_fen=extra, cold_chain_surcharge_fen=cold, free_over_fen=free_over)
        added += 1
    return added


def _sku_ids() -> dict[tuple[str, str], tuple[int, int, str, int, str]]:
    """(product name, sku spec) → (sku id, product id, return policy, sale months mask, origin district) of the
    demo catalog."""
    rows = db.session.execute(select(Product.name, Sku.spec, Sku.id, Product.id, Product.return_policy,
                                     Product.sale_months_mask, Product.origin_district_code)
                              .join(Sku, Sku.product_id == Product.id).where(Product.is_demo.is_(True)))
    return {(name, spec): tuple(values) for name, spec, *values in rows}


def _run(order_plan: PlannedOrder, shopper: User, admin: User, shipper: User, skus: dict) -> Order:
    items = [(skus[(name, spec)], qty) for name, spec, qty in order_plan.items]
    confirmations = sorted({product_id for (_, product_id, policy, *_), _ in items
                            if policy == "excluded_with_confirmation"})
    address_id = list_addresses(user=shopper)[0].id
    with season_as_of(order_plan.placed_at):  # bought on its planned day, when it was in season
        order = place_order(user=shopper, address_id=address_id, payment_plan="bank_transfer",
                            items=[{"sku_id": sku_id, "quantity": qty} for (sku_id, *_), qty in items],
                            return_confirmations=confirmations,
                            idempotency_key=f"{KEY_PREFIX}{order_plan.index:03d}", note="演示订单")
    day = order_plan.placed_at.date()
    payments.record_bank_transfer(user=admin, order_id=order.id, amount_fen=order.total_fen, value_date=day,
                                  reference=f"DEMO-BANK-{order_plan.index:03d}")
    if order_plan.outcome == "paid":
        return order
    fulfilment_ids = list(db.session.scalars(select(Fulfillment.id).where(Fulfillment.order_id == order.id)
                                             .order_by(Fulfillment.id)))
    for n, fulfilment_id in enumerate(fulfilment_ids):
        fulfilment.ship(user=shipper, fulfillment_id=fulfilment_id, carrier=order_plan.carrier,
                        tracking_number=f"DEMO{order_plan.index:04d}{n}")
    if order_plan.outcome == "shipped":
        return order
    for fulfilment_id in fulfilment_ids:
        fulfilment.deliver(user=shipper, fulfillment_id=fulfilment_id)
    if order_plan.outcome == "partial_refund":
        line = db.session.scalar(select(OrderLine).where(OrderLine.order_id == order.id)
                                 .order_by(OrderLine.id))
        asked = request_refund(user=shopper, order_id=order.id, kind="quality_claim", reason="到货有破损（演示）",
                               photo_urls=["https://img.demo.sanxia.test/claim.jpg"],
                               items=[{"order_line_id": line.id, "quantity": 1}])
        refund = refunds.decide_refund(user=shipper, refund_id=asked[0].id, approve=True,
                                       amount_fen=asked[0].amount_fen // 2, note="部分退款（演示）")
        _send_transfers(admin, refund.id, day)
    elif order_plan.outcome == "full_refund":
        refundable = db.session.get(Order, order.id).refundable_fen
        refund = refunds.operator_refund(user=admin, order_id=order.id, amount_fen=refundable,
                                         reason="整单退款（演示）")
        _send_transfers(admin, refund.id, day)
    return order


def _send_transfers(admin: User, refund_id: int, day: dt.date) -> None:
    """A transfer-paid order is refunded by transfer: the operator records each part sent back."""
    for part in refunds.load_refund(refund_id).parts:
        if part.status == "awaiting_transfer":
            refunds.record_refund_transfer(user=admin, refund_id=refund_id, part_id=part.id,
                                           reference=f"DEMO-REFUND-{refund_id}-{part.id}", value_date=day)


# The rows of an order that carry the services' "now": its own, and the money entries other domains keep of it.
ORDER_ROWS = ((Payment, ("created_at", "succeeded_at")), (Refund, ("created_at", "decided_at", "completed_at")),
              (OrderEvent, ("created_at",)))
ENTRY_ROWS = ((AttributionEntry, ("created_at",)), (SettlementEntry, ("created_at",)))


def order_timestamp_rows(order: Order) -> list[tuple[object, tuple[str, ...]]]:
    """Every (row, timestamp columns) of one order the services stamp "now": the order, its payments, refunds,
    refund parts and events, and the attribution and settlement entries of its money (so the demo's statistics
    and settlements fall in the months its orders did). Fulfilments are left to the caller (a parcel's days are
    planned, not shifted)."""
    rows = [(order, ("placed_at", "paid_at", "delivered_at", "completed_at", "cancelled_at"))]
    for model, columns in ORDER_ROWS + ENTRY_ROWS:
        rows += [(row, columns) for row in db.session.scalars(select(model).where(model.order_id == order.id))]
    refund_ids = select(Refund.id).where(Refund.order_id == order.id)
    rows += [(part, ("completed_at",)) for part in
             db.session.scalars(select(RefundPart).where(RefundPart.refund_id.in_(refund_ids)))]
    return rows


def dated_number(order_id: int, placed_at: dt.datetime) -> str:
    """The order number as the services make it, for an order placed on another day (it carries its date)."""
    return f"SX{placed_at:%Y%m%d}{order_id:08d}"


def _backdate(order_id: int, placed_at: dt.datetime) -> None:
    """The one step that rewrites history: the services stamped "now", the demo needs the planned day.
    Every timestamp of the order's rows moves by the same amount (their order stays as the services made it),
    then shipping and delivery are spread over the following days as a parcel's would be. The order number
    carries its date, so it is renumbered with the day it was placed. Money, statuses and counts are untouched.
    Done in Python, row by row: SQLite has no portable datetime arithmetic in UPDATE, and an order has few rows."""
    with transaction():
        order = db.session.get(Order, order_id)
        shift = placed_at - order.placed_at
        for row, columns in order_timestamp_rows(order):
            for name in columns:
                if getattr(row, name) is not None:
                    setattr(row, name, getattr(row, name) + shift)
        shipped, delivered = placed_at + dt.timedelta(days=1), placed_at + dt.timedelta(days=3)
        for part in db.session.scalars(select(Fulfillment).where(Fulfillment.order_id == order_id)):
            part.shipped_at = shipped if part.shipped_at else None
            part.delivered_at = delivered if part.delivered_at else None
        if order.delivered_at is not None:
            order.delivered_at = delivered
        order.number = dated_number(order_id, placed_at)
        order.expires_at = None


def load_demo_history(*, admin: User, shipper: User, ensure_user) -> dict:
    """Shipping rules and the planned orders that do not exist yet. Each order is several units of work (as a
    real one is): placed, paid, shipped, delivered, refunded, then backdated. Returns counts added."""
    from shop.catalog.demo_data import DEMO_SUPPLIERS, demo_credit_code

    codes = {demo_credit_code(prefix, district, serial): key
             for serial, (key, _, _, district, prefix) in enumerate(DEMO_SUPPLIERS, start=1)}
    by_key = {codes[code]: supplier_id for code, supplier_id in
              db.session.execute(select(Supplier.credit_code, Supplier.id).where(Supplier.credit_code.in_(codes)))}
    _ensure_shipper(shipper, sorted(by_key.values()))
    added = {"shipping_rules": ensure_shipping_rules(shipper, by_key), "orders": 0}
    shoppers = ensure_shoppers(ensure_user)
    skus = _sku_ids()
    existing = set(db.session.scalars(select(Order.idempotency_key)
                                      .where(Order.idempotency_key.like(f"{KEY_PREFIX}%"))))
    products = sorted((name, spec, values[3], values[4]) for (name, spec), values in skus.items())
    partners = partner_districts(shoppers, {district for *_, district in products})
    for planned in plan_orders(products, now=utcnow(), partners=partners):
        if f"{KEY_PREFIX}{planned.index:03d}" in existing:
            continue
        order = _run(planned, shoppers[planned.shopper], admin, shipper, skus)
        _backdate(order.id, planned.placed_at)
        added["orders"] += 1
    return added
