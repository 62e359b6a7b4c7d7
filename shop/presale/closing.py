"""Closing a campaign once its order window has ended: `open → closed`, then `succeeded` when the paid
pledges reach the minimum, or `failed` (every pledge's order cancelled and what it paid refunded).

Only paid pledges count, and an organisation's pledges on terms (approved: nothing is paid before the harvest).
A pledge whose deposit (or full price) is still unpaid at the close is cancelled first: its PaymentIntent is
closed at the provider before the unit of work (so it can no longer be paid, and a payment that landed meanwhile
is applied instead, as the expiry job does).

Safe to run twice or on two workers at once: each campaign is closed in one unit of work that locks its row
and moves it by a conditional UPDATE on `open`, and each order is cancelled by a conditional move, so a
second run finds nothing left and no deposit is refunded twice.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from shop.database import utcnow
from shop.errors import Conflict, NotFound, PaymentProviderError
from shop.extensions import db
from shop.orders.services import load_orders
from shop.payments import services as payments
from shop.presale import error_codes, notify
from shop.presale.campaigns import locked_campaign, managed_campaign_id, move_campaign, view_campaign
from shop.presale.models import Campaign
from shop.presale.pledges import active_pledges, cancel_pledge_order
from shop.transaction import end_read, transaction

UNPAID = ("pending_payment",)  # a pledge order that has not paid its first part


def _orders_of(pledges: list) -> dict:
    return {order.id: order for order in load_orders([p.order_id for p in pledges])}


def _unpaid_order_ids(campaign_id: int) -> list[int]:
    return [order.id for order in _orders_of(active_pledges(campaign_id)).values() if order.status in UNPAID]


def close_campaign(*, campaign_id: int, actor=None, now: dt.datetime | None = None) -> str:
    """Close one campaign whose window has ended. Returns succeeded, failed, not_due (window still open),
    closed_elsewhere (not open any more) or skipped (the provider could not be asked; the next run retries)."""
    now = now or utcnow()
    campaign = db.session.scalar(select(Campaign).where(Campaign.id == campaign_id)
                                 .execution_options(populate_existing=True))
    if campaign is None:
        raise NotFound("No such campaign.")
    if campaign.status != "open":
        end_read()
        return "closed_elsewhere"
    if campaign.closes_at > now:
        end_read()
        return "not_due"
    unpaid = _unpaid_order_ids(campaign_id)
    end_read()
    if not payments.closed_at_provider(unpaid):
        return "skipped"
    with transaction() as tx:
        campaign = locked_campaign(campaign_id)
        if campaign.status != "open":
            return "closed_elsewhere"
        actor_id = actor.id if actor else None
        for order in _orders_of(active_pledges(campaign_id)).values():
            if order.status in UNPAID:
                cancel_pledge_order(tx, order, actor_id=actor_id, reason="deposit unpaid at the close",
                                    strict=False)
        db.session.refresh(campaign)
        demand = campaign.pledged_quantity  # only paid pledges (and those on terms) are left active
        move_campaign(campaign, "closed", actor=actor, pledged_quantity=demand, unpaid_cancelled=len(unpaid))
        pledges = active_pledges(campaign_id)
        if demand >= campaign.minimum_quantity:
            move_campaign(campaign, "succeeded", actor=actor, pledged_quantity=demand,
                          minimum_quantity=campaign.minimum_quantity)
            notify.campaign_succeeded(campaign, pledges, demand=demand)
            return "succeeded"
        for order in _orders_of(pledges).values():
            cancel_pledge_order(tx, order, actor_id=actor_id, reason="campaign failed: minimum not reached",
                                strict=False)
        move_campaign(campaign, "failed", actor=actor, pledged_quantity=demand,
                      minimum_quantity=campaign.minimum_quantity, pledges_refunded=len(pledges))
        notify.campaign_failed(campaign, pledges, demand=demand)
        return "failed"


def close_due_campaigns(*, now: dt.datetime | None = None, limit: int = 100) -> dict:
    """The job (`flask shop close-campaigns`): every open campaign whose window has ended."""
    now = now or utcnow()
    ids = list(db.session.scalars(select(Campaign.id).where(Campaign.status == "open", Campaign.closes_at <= now)
                                  .order_by(Campaign.id).limit(limit)))
    end_read()
    counts: dict[str, int] = {}
    for campaign_id in ids:
        outcome = close_campaign(campaign_id=campaign_id, now=now)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def close_now(*, user, campaign_id: int) -> Campaign:
    """The lead supplier's manager closes a campaign whose window has ended without waiting for the job."""
    managed_campaign_id(user=user, campaign_id=campaign_id)
    outcome = close_campaign(campaign_id=campaign_id, actor=user)
    if outcome == "not_due":
        raise Conflict("The order window is still open; the campaign closes when it ends.",
                       code=error_codes.WINDOW_OPEN)
    if outcome == "skipped":
        raise PaymentProviderError("The payment provider could not be reached to close unpaid pledges; try again.")
    campaign = view_campaign(viewer=user, campaign_id=campaign_id)
    if outcome == "closed_elsewhere" and campaign.status in ("draft", "suspended", "cancelled"):
        raise Conflict(f"A campaign that is {campaign.status} cannot be closed.",
                       code=error_codes.ILLEGAL_CAMPAIGN_TRANSITION)
    return campaign
