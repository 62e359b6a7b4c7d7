"""After allocation: collecting the balances, forfeits, top-ups, and the end of a campaign. The job
`flask shop settle-campaigns` runs both steps; each is safe to run twice or on two workers at once.

`allocated → fulfilling`, once every balance is paid, or when `balance_due_at` has passed:
- a pledge whose balance is still unpaid is forfeited: its order is cancelled and, the deposit being a 定金,
  nothing is refunded (the pledge's status says `forfeited`). The balance's PaymentIntent is closed at the
  provider first, so it can no longer be paid; a balance that landed meanwhile is applied instead, and that
  pledge is not forfeited.
- the units forfeited are offered to the waiting pledges (those allotted less than they pledged, whose order is
  paid), shared under the campaign's policy: each offer is a top-up, a pledge of kind `top_up` with its own
  presale order at the campaign's price, paid in full by card within PRESALE_TOP_UP_HOURS (the expiry job
  cancels it after that, like any unpaid order). Units no one is offered are released back to the supplier.
`fulfilling → completed` once no pledge's order is still to be paid, shipped or delivered.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select, update

from shop.addresses import services as addresses
from shop.checkout.pricing import price_items
from shop.checkout.services import check_lines, write_order
from shop.database import utcnow
from shop.errors import ShopError
from shop.extensions import db
from shop.orders import events
from shop.orders import services as orders
from shop.orders.state import record, try_move_order
from shop.payments import services as payments
from shop.presale import notify
from shop.presale.allocation import allocate
from shop.presale.campaigns import locked_campaign, move_campaign
from shop.presale.harvest import allocatable_pledges, claims_of
from shop.presale.models import Campaign, Pledge
from shop.transaction import end_read, transaction

OWING = ("deposit_paid",)  # a pledge's order whose balance is unpaid
# Paid in full: may take more units, as a card top-up. A pledge on terms is not offered any (the top-up's
# order would be a new purchase on the organisation's terms, outside its pledge).
WAITING = ("paid", "fulfilling", "shipped", "delivered", "completed")
# not yet done with (approved: a pledge on terms, invoiced, not yet shipped)
OPEN = ("pending_payment", "deposit_paid", "approved", "paid", "fulfilling", "shipped")


def _owing_order_ids(campaign_id: int) -> list[int]:
    pledges = allocatable_pledges(campaign_id)
    return [order.id for order in orders.load_orders([p.order_id for p in pledges]) if order.status in OWING]


def settle_campaign(*, campaign_id: int, now: dt.datetime | None = None) -> str:
    """Returns fulfilling, not_due (balances outstanding before the deadline), settled_elsewhere, or skipped (the
    provider could not be asked; the next run retries)."""
    now = now or utcnow()
    campaign = db.session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None or campaign.status != "allocated":
        end_read()
        return "settled_elsewhere"
    owing = _owing_order_ids(campaign_id)
    due = campaign.balance_due_at is None or campaign.balance_due_at <= now
    end_read()
    if owing and not due:
        return "not_due"
    if not payments.closed_at_provider(owing):
        return "skipped"
    with transaction() as tx:
        campaign = locked_campaign(campaign_id)
        if campaign.status != "allocated":
            return "settled_elsewhere"
        pledges = allocatable_pledges(campaign_id)
        orders_by_id = {order.id: order for order in orders.load_orders([p.order_id for p in pledges])}
        forfeited = [p for p in pledges if orders_by_id[p.order_id].status in OWING
                     and _forfeit(campaign, p, orders_by_id[p.order_id])]
        freed = sum(p.allocated_quantity for p in forfeited)
        waiting = [p for p in pledges if orders_by_id[p.order_id].status in WAITING
                   and orders_by_id[p.order_id].payment_plan != "on_terms"]
        offered = _offer(campaign, waiting, orders_by_id, freed, now=now)
        for order_id in [p.order_id for p in forfeited]:
            tx.after_commit(lambda order_id=order_id: payments.cancel_open_intents(order_id=order_id))
        move_campaign(campaign, "fulfilling", actor=None, reason="balances collected",
                      forfeited=len(forfeited), units_freed=freed, units_offered=offered, units_released=freed - offered)
    return "fulfilling"


def _forfeit(campaign: Campaign, pledge: Pledge, order) -> bool:
    """The balance was not paid in time: the order is cancelled and its 定金 kept (no refund). Conditional on the
    order still owing (a balance that landed since it was read wins) and on the pledge still being active."""
    if not try_move_order(order, "cancelled", values={"cancelled_at": utcnow()},
                          reason="balance unpaid by the deadline: deposit forfeited"):
        return False
    db.session.execute(update(Pledge).where(Pledge.id == pledge.id, Pledge.status == "active")
                       .values(status="forfeited", released_at=utcnow()).execution_options(synchronize_session=False))
    db.session.execute(update(Campaign).where(Campaign.id == campaign.id)
                       .values(pledged_quantity=Campaign.pledged_quantity - pledge.quantity)
                       .execution_options(synchronize_session=False))
    orders.cancel_fulfillments(order)  # the pledge is no longer active: capacity was given back just above
    events.deposit_forfeited(order.id, amount_fen=order.net_paid_fen)
    notify.deposit_forfeited(campaign, pledge, amount_fen=order.net_paid_fen)
    return True


def _offer(campaign: Campaign, waiting: list[Pledge], orders_by_id: dict, freed: int, *, now: dt.datetime) -> int:
    """Share `freed` units among the waiting pledges' shortfalls under the campaign's policy; returns the units
    offered (a top-up that cannot be priced, the product being off sale, is not offered)."""
    claims = claims_of(waiting, orders_by_id, wanted=lambda p: p.quantity - p.allocated_quantity)
    if not freed or not claims:
        return 0
    total = sum(claim.quantity for claim in claims)
    hours = current_app.config["PRESALE_TOP_UP_HOURS"]
    offered = 0
    by_id = {p.id: p for p in waiting}
    for allotment in allocate(min(freed, total), claims, campaign.allocation_policy):
        if allotment.allocated and _top_up(campaign, by_id[allotment.pledge_id],
                                           orders_by_id[by_id[allotment.pledge_id].order_id], allotment.allocated,
                                           now=now, hours=hours):
            offered += allotment.allocated
    return offered


def _top_up(campaign: Campaign, parent: Pledge, parent_order, units: int, *, now: dt.datetime, hours: int) -> bool:
    snapshot = parent_order.shipping_address
    try:
        with db.session.begin_nested():  # a product gone off sale leaves this offer out, not the whole step
            quote = price_items([(campaign.sku_id, units)],
                                destination_codes=addresses.snapshot_destination_codes(snapshot),
                                unit_prices={campaign.sku_id: campaign.unit_price_fen})
            check_lines(quote, checks=("unavailable", "undeliverable"))  # harvested units: no case-size rules
            order = write_order(quote, now=now, buyer_id=parent.buyer_id, organization_id=parent_order.organization_id,
                                channel="presale", status="pending_payment", payment_terms="prepaid",
                                shipping_address=snapshot, buyer_region_code=parent_order.buyer_region_code,
                                note="", return_confirmations=parent_order.return_confirmations,
                                expires_at=now + dt.timedelta(hours=hours), payment_plan="card", deposit_fen=0)
            top_up = Pledge(campaign_id=campaign.id, order_id=order.id, buyer_id=parent.buyer_id, quantity=units,
                            kind="top_up", parent_pledge_id=parent.id, allocated_quantity=units,
                            allocation_reason=f"{units} units of forfeited pledges offered")
            db.session.add(top_up)
            db.session.execute(update(Campaign).where(Campaign.id == campaign.id)
                               .values(pledged_quantity=Campaign.pledged_quantity + units)
                               .execution_options(synchronize_session=False))
            record(order.id, events.PLACED, total_fen=order.total_fen, payment_plan="card", campaign_id=campaign.id,
                   quantity=units, top_up_of=parent.order_id)
    except ShopError:
        return False
    notify.top_up_offered(campaign, top_up, hours=hours)
    return True


def complete_campaign(*, campaign_id: int) -> bool:
    """`fulfilling → completed` when no pledge's order is left open. False when some still are (or it moved)."""
    with transaction():
        campaign = locked_campaign(campaign_id)
        if campaign.status != "fulfilling":
            return False
        order_ids = list(db.session.scalars(select(Pledge.order_id).where(Pledge.campaign_id == campaign_id,
                                                                          Pledge.status == "active")))
        if any(order.status in OPEN for order in orders.load_orders(order_ids)):
            return False
        move_campaign(campaign, "completed", actor=None, reason="every pledge delivered or closed")
        return True


def settle_campaigns(*, now: dt.datetime | None = None, limit: int = 100) -> dict:
    """The job: allocated campaigns whose balances are in (or due), then fulfilling ones that are done."""
    now = now or utcnow()
    allocated = list(db.session.scalars(select(Campaign.id).where(Campaign.status == "allocated")
                                        .order_by(Campaign.id).limit(limit)))
    fulfilling = list(db.session.scalars(select(Campaign.id).where(Campaign.status == "fulfilling")
                                         .order_by(Campaign.id).limit(limit)))
    end_read()
    counts: dict[str, int] = {}
    for campaign_id in allocated:
        outcome = settle_campaign(campaign_id=campaign_id, now=now)
        counts[outcome] = counts.get(outcome, 0) + 1
    for campaign_id in fulfilling:
        if complete_campaign(campaign_id=campaign_id):
            counts["completed"] = counts.get("completed", 0) + 1
    return counts
