"""Demo pre-sale (marked demo: titles and names end "（演示）"): two campaigns of the demo 巫山 cooperative's
巫山脆李, so that `make run` shows 以销定产 both under way and done.

- Live: 5斤装 特级果, open now for some weeks, pledges of demo shoppers with their 定金 paid (below the minimum:
  the plan shows the gap), supply committed by the cooperative and by a second 巫山 cooperative.
- Completed: 10斤装 家庭装, last season: open → closed → succeeded → allocated (a short harvest, shared pro rata:
  every pledge cut and the 定金 of its units not allotted refunded) → fulfilling → completed, balances paid,
  parcels shipped and delivered.

Every step is a service call, as the supplier, buyers and platform would make it. Pledges are paid by card
only, and `load-demo` runs with no provider: the loader installs the in-process OfflineDemoGateway
(shop.payments.offline) for its duration, so intents, payments and refunds are the services' own rows.
The services stamp "now"; a Clock marks when each step ran and what day it stands for, and one step at the
end moves every timestamp to its planned day (as shop.demo_history._backdate does).

Idempotent: a campaign is found by its lead supplier and title; one that exists is skipped with its journey.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select, update
from stdnum.cn import uscc

from shop.addresses.services import list_addresses
from shop.catalog.models import Product, Sku
from shop.catalog.queries import SHOP_TIMEZONE
from shop.database import local_today, utcnow
from shop.demo_history import SHIPPING_RULES, dated_number, order_timestamp_rows
from shop.extensions import db
from shop.orders import fulfillment as fulfilment
from shop.orders.models import Fulfillment, Order
from shop.payments import services as payments
from shop.payments.gateway import offline_gateway
from shop.payments.offline import OfflineDemoGateway
from shop.presale import balances, campaigns, closing, harvest, pledges, supply
from shop.presale.models import Campaign, CampaignEvent, Pledge, SupplyCommitment
from shop.suppliers import services as suppliers
from shop.suppliers import vetting
from shop.suppliers.models import CountyReviewer, Supplier
from shop.transaction import transaction

DEMO_DOMAIN = "demo.sanxia.test"
WUSHAN = "500237"
PLUM = "巫山脆李"
LIVE_TITLE = "巫山脆李 特级果 预售（演示）"
DONE_TITLE = "巫山脆李 家庭装 上季预售（演示）"
STORY = ("以销定产：先预订、付定金，合作社按订单安排采收；巫山脆李六月下旬至八月底上市，采收后按实际产量分配，"
         "再付尾款发货。演示数据：价格与数量均为演示。")
KEY_PREFIX = "demo-presale-"
# A second 巫山 cooperative, registered through the supplier services. The reference names no other grower, so
# it is a generic demo cooperative of the district (as 云阳县柑橘种植专业合作社（演示） is in the catalog).
PARTNER = dict(name="巫山县果蔬种植专业合作社（演示）", kind="cooperative", district_code=WUSHAN,
               contact_name="演示联系人", contact_phone="+8613800000091", address="演示地址",
               farmer_linkage="演示数据：组织社员按订单种植、采收脆李。")
PARTNER_OWNER = {"email": f"wushan.partner@{DEMO_DOMAIN}", "name": "巫山果蔬合作社理事长 (demo)"}
REVIEWER = {"email": f"reviewer.wushan@{DEMO_DOMAIN}", "name": "巫山县供货企业审核人 (demo)"}

# (pledger: "shopper" = the demo shopper, else a demo_history shopper's email local part, quantity)
LIVE_PLEDGES = [("buyer.guangdong", 4), ("shopper", 2), ("buyer.jiangsu", 6), ("buyer.sichuan", 3),
                ("buyer.chongqing", 5)]  # 20 of a minimum of 50: still gathering
DONE_PLEDGES = [("shopper", 6), ("buyer.guangdong", 5), ("buyer.chongqing", 4), ("buyer.zhejiang", 4),
                ("buyer.liaoning", 3), ("buyer.wanzhou", 2)]  # 24, harvest 20
LIVE_TERMS = dict(spec="5斤装 特级果", unit_price_fen=5990, deposit_per_unit_fen=1000, minimum_quantity=50,
                  capacity=200, per_buyer_limit=10, allocation_policy="first_come")
DONE_TERMS = dict(spec="10斤装 家庭装", unit_price_fen=9900, deposit_per_unit_fen=1980, minimum_quantity=20,
                  capacity=40, per_buyer_limit=6, allocation_policy="pro_rata")
DONE_HARVEST = 20
# Committed before the window ended, delivered after the harvest: (lead, partner), the delivered adding up to it.
DONE_SUPPLY = {"committed": (20, 8), "delivered": (15, 5)}
LIVE_SUPPLY = (120, 60)


@dataclass
class Clock:
    """When each step really ran (the services stamp utcnow()) and the moment it stands for. A timestamp
    stamped during a step moves to that step's moment plus the seconds it was into the step, so the rows keep
    the order the services gave them."""

    marks: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)

    def step(self, planned: dt.datetime) -> None:
        self.marks.append((utcnow(), planned))

    def map(self, moment: dt.datetime | None) -> dt.datetime | None:
        if moment is None:
            return None
        real, planned = self.marks[0]
        for mark_real, mark_planned in self.marks:
            if mark_real <= moment:
                real, planned = mark_real, mark_planned
        return planned + (moment - real)


def _credit_code(serial: int) -> str:
    base = f"93{WUSHAN}DEMP{serial:05d}"  # 93: 农民专业合作社; "DEMP…" keeps it apart from the catalog's demo codes
    return base + uscc.calc_check_digit(base)


def _ensure_reviewer(admin, ensure_user):
    reviewer = ensure_user(REVIEWER)
    if db.session.scalar(select(CountyReviewer.id).where(CountyReviewer.user_id == reviewer.id)) is None:
        vetting.appoint_reviewer(actor=admin, email=reviewer.email, district_code=WUSHAN)
    return reviewer


def _ensure_partner(admin, ensure_user) -> tuple[object, int]:
    """(owner, supplier id) of the second 巫山 cooperative: applied, recommended by the county, approved."""
    owner = ensure_user(PARTNER_OWNER)
    code = _credit_code(1)
    supplier_id = db.session.scalar(select(Supplier.id).where(Supplier.credit_code == code))
    if supplier_id is None:
        reviewer = _ensure_reviewer(admin, ensure_user)
        supplier_id = suppliers.create_supplier(user=owner, credit_code=code, is_demo=True, **PARTNER).id
        vetting.county_review(user=reviewer, supplier_id=supplier_id, action="recommend", reason="演示：资料齐全")
        suppliers.review_supplier(supplier_id=supplier_id, actor=admin, action="approve", reason="演示数据")
        # Every demo supplier has a shipping rule (README); the lead's, as it ships the same fruit.
        base, weight, extra, cold, free_over = SHIPPING_RULES["wushan"]
        suppliers.set_shipping_rule(user=owner, supplier_id=supplier_id, base_fee_fen=base, base_weight_g=weight,
                                    per_extra_kg_fen=extra, cold_chain_surcharge_fen=cold, free_over_fen=free_over)
    return owner, supplier_id


def _plum_sku(lead_id: int, spec: str) -> int:
    return db.session.scalar(select(Sku.id).join(Product, Product.id == Sku.product_id).where(
        Product.is_demo.is_(True), Product.supplier_id == lead_id, Product.name == PLUM, Sku.spec == spec))


def _season_after(day: dt.date, year: int | None = None) -> tuple[dt.date, dt.date]:
    """A shipping window in the plum's months (June to August) on or after `day`."""
    year = year or day.year
    start, end = dt.date(year, 6, 20), dt.date(year, 8, 20)
    if day > dt.date(year, 8, 10):
        start, end = dt.date(year + 1, 6, 20), dt.date(year + 1, 8, 20)
    return max(start, day), end


def _draft(owner, lead_id: int, title: str, terms: dict, *, opens_at: dt.datetime, closes_at: dt.datetime):
    ships_from, ships_until = _season_after(local_today(closes_at) + dt.timedelta(days=1))
    values = {k: v for k, v in terms.items() if k != "spec"}
    return campaigns.create_campaign(user=owner, supplier_id=lead_id, sku_id=_plum_sku(lead_id, terms["spec"]),
                                     title=title, story=STORY, opens_at=opens_at, closes_at=closes_at,
                                     ships_from=ships_from, ships_until=ships_until, **values)


def _pay_due(gateway: OfflineDemoGateway, order_id: int, payment) -> None:
    """The buyer pays the part the order asks now, and the payment is applied as the reconcile job would."""
    gateway.pay(payment.provider_ref)
    payments.reconcile_order(order_id=order_id)


def _pledge(gateway, buyer, campaign_id: int, quantity: int, key: str) -> int:
    address_id = list_addresses(user=buyer)[0].id
    result = pledges.pledge(user=buyer, campaign_id=campaign_id, quantity=quantity, address_id=address_id,
                            note="演示预订", idempotency_key=key)
    if result.payment_error:  # the offline gateway answers every call: this is a bug, not a provider outage
        raise RuntimeError(f"demo pledge {key}: {result.payment_error}")
    _pay_due(gateway, result.order.id, result.payment)
    return result.order.id


def _campaign_id(lead_id: int, title: str) -> int | None:
    return db.session.scalar(select(Campaign.id).where(Campaign.supplier_id == lead_id, Campaign.title == title))


def _backdate(campaign_id: int, clock: Clock, **columns) -> None:
    """The one step that rewrites history: every timestamp of the campaign, its events, commitments, pledges and
    their orders moves to its step's planned moment; `columns` sets the campaign's own dates outright (its
    window, for a past campaign). Money, statuses and counts are untouched."""
    with transaction():
        campaign = db.session.get(Campaign, campaign_id, populate_existing=True)
        rows = [(campaign, ("created_at", "updated_at", "allocated_at"))]
        for model, names in ((CampaignEvent, ("created_at",)), (SupplyCommitment, ("created_at", "updated_at")),
                             (Pledge, ("created_at", "released_at"))):
            rows += [(row, names) for row in db.session.scalars(select(model).where(model.campaign_id == campaign_id))]
        order_ids = select(Pledge.order_id).where(Pledge.campaign_id == campaign_id)
        for order in db.session.scalars(select(Order).where(Order.id.in_(order_ids))
                                        .execution_options(populate_existing=True)):
            rows += order_timestamp_rows(order)
            rows += [(part, ("shipped_at", "delivered_at"))
                     for part in db.session.scalars(select(Fulfillment).where(Fulfillment.order_id == order.id))]
        if campaign.balance_due_at is not None:  # a deadline ahead of its step: keep its distance to allocation
            columns.setdefault("balance_due_at",
                               clock.map(campaign.allocated_at) + (campaign.balance_due_at - campaign.allocated_at))
        for row, names in rows:
            for name in names:
                setattr(row, name, clock.map(getattr(row, name)))
        for order in db.session.scalars(select(Order).where(Order.id.in_(order_ids))):
            order.number, order.expires_at = dated_number(order.id, order.placed_at), None
        for name, value in columns.items():
            setattr(campaign, name, value)


def _live(gateway, *, owner, lead_id, partner, buyers) -> int:
    """Open since twelve days, for another 23; pledges spread over the days since it opened."""
    now = utcnow()
    opens_at = now - dt.timedelta(days=12)
    clock = Clock()
    clock.step(opens_at - dt.timedelta(days=2))
    campaign = _draft(owner, lead_id, LIVE_TITLE, LIVE_TERMS, opens_at=opens_at, closes_at=now + dt.timedelta(days=23))
    clock.step(opens_at)
    campaigns.open_campaign(user=owner, campaign_id=campaign.id)
    partner_owner, partner_id = partner
    for user, supplier_id, quantity in ((owner, lead_id, LIVE_SUPPLY[0]), (partner_owner, partner_id, LIVE_SUPPLY[1])):
        supply.commit_supply(user=user, campaign_id=campaign.id, supplier_id=supplier_id, quantity=quantity,
                             grade="特级果", note="演示：按预订量安排采收")
    for index, (who, quantity) in enumerate(LIVE_PLEDGES):
        clock.step(opens_at + dt.timedelta(days=1 + 2 * index, hours=3 + index))
        _pledge(gateway, buyers[who], campaign.id, quantity, f"{KEY_PREFIX}live-{index + 1}")
    _backdate(campaign.id, clock)
    return len(LIVE_PLEDGES)


def _expect(step: str, outcome, wanted) -> None:
    # The journey is fixed: another outcome means the services' rules changed, and a half-built demo must say so.
    if outcome != wanted:
        raise RuntimeError(f"demo campaign: {step} gave {outcome!r}, expected {wanted!r}")


def _last_season() -> int:
    today = local_today()
    return today.year if today > dt.date(today.year, 7, 31) else today.year - 1


def _completed(gateway, *, owner, shipper, lead_id, partner, buyers) -> int:
    year = _last_season()

    def at(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
        return dt.datetime(year, month, day, hour, minute, tzinfo=SHOP_TIMEZONE).astimezone(dt.timezone.utc)

    clock = Clock()
    now = utcnow()
    clock.step(at(4, 10))
    # Drafted with a window from now (the services open only a campaign whose window is ahead); the window of
    # last season is set when the history is rewritten at the end.
    campaign = _draft(owner, lead_id, DONE_TITLE, DONE_TERMS, opens_at=now - dt.timedelta(minutes=1),
                      closes_at=now + dt.timedelta(days=1))
    campaign_id = campaign.id
    clock.step(at(4, 15, 9))
    campaigns.open_campaign(user=owner, campaign_id=campaign_id)
    partner_owner, partner_id = partner
    commitments = [supply.commit_supply(user=user, campaign_id=campaign_id, supplier_id=supplier_id,
                                        quantity=quantity, grade="家庭装", note="演示")
                   for user, supplier_id, quantity in zip((owner, partner_owner), (lead_id, partner_id),
                                                          DONE_SUPPLY["committed"])]
    order_ids = []
    for index, (who, quantity) in enumerate(DONE_PLEDGES):
        clock.step(at(4, 16, 9) + dt.timedelta(days=6 * index, hours=index))
        order_ids.append(_pledge(gateway, buyers[who], campaign_id, quantity, f"{KEY_PREFIX}done-{index + 1}"))
    # What the clock does: the order window ends (the services close only a campaign whose window has ended).
    with transaction():
        db.session.execute(update(Campaign).where(Campaign.id == campaign_id).values(closes_at=utcnow()))
    clock.step(at(6, 1, 0, 5))
    _expect("close", closing.close_campaign(campaign_id=campaign_id), "succeeded")
    clock.step(at(6, 27, 17))
    for commitment, delivered in zip(commitments, DONE_SUPPLY["delivered"]):
        supply.record_delivery(user=owner, campaign_id=campaign_id, commitment_id=commitment.id,
                               delivered_quantity=delivered)
    clock.step(at(6, 28, 18))
    harvest.allocate_harvest(user=owner, campaign_id=campaign_id, harvested_quantity=DONE_HARVEST)
    for index, order_id in enumerate(order_ids):
        clock.step(at(6, 29, 9 + index))
        buyer = buyers[DONE_PLEDGES[index][0]]
        _pay_due(gateway, order_id, payments.open_payment(user=buyer, order_id=order_id))
    clock.step(at(7, 1, 0, 10))
    _expect("settle", balances.settle_campaign(campaign_id=campaign_id), "fulfilling")
    fulfilment_ids = list(db.session.scalars(select(Fulfillment.id).where(Fulfillment.order_id.in_(order_ids))
                                             .order_by(Fulfillment.id)))
    clock.step(at(7, 1, 9))
    for fulfilment_id in fulfilment_ids:
        fulfilment.ship(user=shipper, fulfillment_id=fulfilment_id, carrier="顺丰速运",
                        tracking_number=f"SFDEMOPS{fulfilment_id:06d}")
    clock.step(at(7, 3, 15))
    for fulfilment_id in fulfilment_ids:
        fulfilment.deliver(user=shipper, fulfillment_id=fulfilment_id)
    clock.step(at(7, 4, 0, 10))
    _expect("complete", balances.complete_campaign(campaign_id=campaign_id), True)
    _backdate(campaign_id, clock, opens_at=at(4, 15, 9), closes_at=at(5, 31, 22),
              ships_from=dt.date(year, 7, 1), ships_until=dt.date(year, 7, 20))
    return len(DONE_PLEDGES)


def load_demo_presale(*, admin, owner, shopper, shipper, ensure_user) -> dict:
    """The two demo campaigns of the 巫山 cooperative that `owner` owns, those that do not exist yet. Returns
    counts added. Needs the demo catalog, its shipping rules and shoppers (shop.demo_history) loaded first."""
    from shop.catalog.demo_data import demo_credit_code
    from shop.demo_history import DEMO_SHOPPERS, ensure_shoppers

    added = {"campaigns": 0, "pledges": 0}
    lead_id = db.session.scalar(select(Supplier.id).where(Supplier.credit_code == demo_credit_code("93", WUSHAN, 1)))
    todo = [title for title in (LIVE_TITLE, DONE_TITLE) if _campaign_id(lead_id, title) is None]
    if not todo:
        return added
    buyers = dict(zip((local for local, *_ in DEMO_SHOPPERS), ensure_shoppers(ensure_user))) | {"shopper": shopper}
    partner = _ensure_partner(admin, ensure_user)
    with offline_gateway(OfflineDemoGateway()) as gateway:
        if DONE_TITLE in todo:
            added["pledges"] += _completed(gateway, owner=owner, shipper=shipper, lead_id=lead_id, partner=partner,
                                           buyers=buyers)
        if LIVE_TITLE in todo:
            added["pledges"] += _live(gateway, owner=owner, lead_id=lead_id, partner=partner, buyers=buyers)
    added["campaigns"] = len(todo)
    return added
