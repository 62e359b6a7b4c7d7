"""Allocating the harvest (`POST /campaigns/{id}/allocate`): `succeeded → allocated`, and `→ fulfilling` at once
when no balance is left to collect (a campaign of full prepayments, or one where every pledge got nothing).

The lead supplier's manager enters the harvested quantity. In one unit of work, the campaign row locked:
- every active pledge becomes a Claim (an institution's when its order is an organisation's) and
  shop.presale.allocation gives it whole units under the campaign's policy; each pledge stores its allotment
  and the reason, for the buyer's and the supplier's screens;
- allotted everything: the order stays as it is;
- allotted part: the deposit (or, for a full prepayment, the price) of the units not allotted is refunded
  (refund kind `harvest_shortfall`), then the line is cut to the allotted units and the deposit to deposit per
  unit × allotted, so the balance asked is price × allotted − deposit (shipping stays as quoted at the pledge);
- allotted nothing: the order is cancelled and everything it paid refunded.
An organisation's pledge on terms paid nothing: its line is cut with no refund, and the invoice is issued for the
units allotted (shop.procurement.requisitions.invoice_pledge); it asks no balance.
A short harvest is not a default: nobody owes a penalty. Refunds go to the provider after commit. Balances are
due by `balance_due_at`; shop.presale.balances forfeits the unpaid ones after it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update

from shop.database import utcnow
from shop.errors import Conflict
from shop.extensions import db
from shop.orders import services as orders
from shop.presale import error_codes, notify
from shop.presale.allocation import Allotment, Claim, allocate
from shop.presale.campaigns import locked_campaign, managed_campaign_id, move_campaign
from shop.presale.models import Campaign, Pledge
from shop.presale.pledges import cancel_pledge_order
from shop.procurement import requisitions as procurement
from shop.refunds import services as refunds
from shop.transaction import Transaction, transaction


@dataclass(frozen=True)
class PledgeAllocation:
    """One pledge's result, as the supplier sees it (no buyer identity beyond the order it ships)."""

    pledge_id: int
    order_id: int
    order_number: str
    institution: bool
    pledged: int
    allocated: int
    reason: str
    refund_fen: int   # the deposit (or prepayment) going back for units not allotted (all of it when 0 allotted)
    balance_fen: int  # what the order still asks (0 for a full prepayment or an order cancelled)


@dataclass(frozen=True)
class AllocationResult:
    campaign: Campaign
    pledges: list[PledgeAllocation]


def allocatable_pledges(campaign_id: int) -> list[Pledge]:
    """The campaign's active pledges (not top-ups), in id order."""
    return list(db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign_id, Pledge.status == "active",
                                                        Pledge.kind == "pledge").order_by(Pledge.id)
                                   .execution_options(populate_existing=True)))


def claims_of(pledges: list[Pledge], orders_by_id: dict, *, wanted) -> list[Claim]:
    """The allocation's view of pledges: `wanted(pledge)` units each (pledges wanting none are left out)."""
    return [Claim(pledge_id=pledge.id, quantity=wanted(pledge), placed_at=pledge.created_at,
                  institution=orders_by_id[pledge.order_id].organization_id is not None)
            for pledge in pledges if wanted(pledge) > 0]


def allocate_harvest(*, user, campaign_id: int, harvested_quantity: int,
                     balance_days: int | None = None) -> AllocationResult:
    managed_campaign_id(user=user, campaign_id=campaign_id)
    days = balance_days or current_app.config["PRESALE_BALANCE_DAYS"]
    now = utcnow()
    with transaction() as tx:
        campaign = locked_campaign(campaign_id)
        if campaign.status != "succeeded":
            raise Conflict(f"Only a campaign that succeeded is allocated; this one is {campaign.status}.",
                           code=error_codes.ILLEGAL_CAMPAIGN_TRANSITION)
        pledges = allocatable_pledges(campaign_id)
        orders_by_id = {order.id: order for order in orders.load_orders([p.order_id for p in pledges])}
        allotments = allocate(harvested_quantity, claims_of(pledges, orders_by_id, wanted=lambda p: p.quantity),
                              campaign.allocation_policy)
        by_pledge = {pledge.id: pledge for pledge in pledges}
        rows = [_apply(tx, campaign, by_pledge[a.pledge_id], orders_by_id[by_pledge[a.pledge_id].order_id], a,
                       actor_id=user.id) for a in allotments]
        owing = any(row.balance_fen for row in rows)
        move_campaign(campaign, "allocated", actor=user,
                      values={"harvested_quantity": harvested_quantity, "allocated_at": now,
                              "balance_due_at": now + dt.timedelta(days=days) if owing else None},
                      harvested=harvested_quantity, demand=sum(p.quantity for p in pledges),
                      allocated=sum(row.allocated for row in rows), refunded_fen=sum(row.refund_fen for row in rows),
                      policy=campaign.allocation_policy)
        if not owing:
            move_campaign(campaign, "fulfilling", actor=user, reason="no balance to collect")
        db.session.refresh(campaign)
        notify.pledges_allocated(campaign, [(by_pledge[row.pledge_id], row) for row in rows])
    return AllocationResult(campaign=campaign, pledges=rows)


def _apply(tx: Transaction, campaign: Campaign, pledge: Pledge, order, allotment: Allotment, *,
           actor_id: int) -> PledgeAllocation:
    line = order.lines[0]  # a pledge's order has the campaign's one line
    short = pledge.quantity - allotment.allocated
    on_terms = order.payment_plan == "on_terms"  # nothing paid before the harvest: nothing to give back
    refund_fen = 0
    if allotment.allocated == 0:
        refund_fen = order.net_paid_fen
        cancel_pledge_order(tx, order, actor_id=actor_id, reason="harvest short: no units allotted", strict=True)
    elif short:
        if not on_terms:
            refund_fen = short * (campaign.deposit_per_unit_fen or line.unit_price_fen)
            refunds.open_units_refund(tx, order_id=order.id, order_line_id=line.id, units=short,
                                      amount_fen=refund_fen, kind="harvest_shortfall",
                                      reason=f"harvest short: {short} pledged units not allotted", actor_id=actor_id)
        orders.reduce_line(order, order_line_id=line.id, quantity=allotment.allocated,
                           deposit_fen=0 if on_terms else campaign.deposit_per_unit_fen * allotment.allocated,
                           reason=f"harvest short: {allotment.allocated} of {pledge.quantity} units allotted",
                           actor_id=actor_id)
    if allotment.allocated:
        orders.release_shipping_hold(order.id)
        if on_terms:  # billed for what it will receive, due on the organisation's terms from today
            procurement.invoice_pledge(orders.load_order(order.id), actor_id=actor_id)
    db.session.execute(update(Pledge).where(Pledge.id == pledge.id)
                       .values(allocated_quantity=allotment.allocated, allocation_reason=allotment.reason,
                               allocation_refund_fen=refund_fen))
    order = orders.load_order(order.id)
    return PledgeAllocation(pledge_id=pledge.id, order_id=order.id, order_number=order.number,
                            institution=order.organization_id is not None, pledged=pledge.quantity,
                            allocated=allotment.allocated, reason=allotment.reason, refund_fen=refund_fen,
                            balance_fen=balance_of(order))


def balance_of(order) -> int:
    """The card balance the order asks by the deadline: none on terms (the invoice bills it)."""
    return 0 if order.payment_plan == "on_terms" else order.due_fen


def view_allocation(*, user, campaign_id: int) -> AllocationResult:
    """The stored result, for the lead supplier's managers: allotments and refunds as the pledges recorded
    them, the balance as what each order owes now (0 once paid, or once forfeited)."""
    managed_campaign_id(user=user, campaign_id=campaign_id)
    campaign = db.session.get(Campaign, campaign_id)
    pledges = list(db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign_id, Pledge.kind == "pledge",
                                                           Pledge.allocated_quantity.is_not(None)).order_by(Pledge.id)))
    orders_by_id = {order.id: order for order in orders.load_orders([p.order_id for p in pledges])}
    rows = [PledgeAllocation(pledge_id=p.id, order_id=p.order_id, order_number=orders_by_id[p.order_id].number,
                             institution=orders_by_id[p.order_id].organization_id is not None, pledged=p.quantity,
                             allocated=p.allocated_quantity, reason=p.allocation_reason,
                             refund_fen=p.allocation_refund_fen, balance_fen=balance_of(orders_by_id[p.order_id]))
            for p in pledges]
    return AllocationResult(campaign=campaign, pledges=rows)
