"""The supplier calls a campaign off before allocation (`POST /campaigns/{id}/cancel`): in one unit of work every
active pledge's order is cancelled and what it paid refunded (after commit, at the provider), and for a 定金 the
campaign's promise (double_deposit) is owed once more per pledge as a Compensation (shop.presale.compensation).
One home for it, so that campaigns need not know pledges."""
from __future__ import annotations

from shop.errors import Conflict
from shop.orders.services import load_orders
from shop.presale import compensation, error_codes
from shop.presale.campaigns import (locked_campaign, managed_campaign_id, move_campaign, required_reason,
                                    view_campaign)
from shop.presale.models import Campaign
from shop.presale.pledges import active_pledges, cancel_pledge_order
from shop.transaction import Transaction, transaction

CANCELLABLE = ("draft", "open", "closed", "succeeded")  # before allocation


def cancel_campaign(*, user, campaign_id: int, reason: str) -> Campaign:
    reason = required_reason(reason, "cancel")
    with transaction() as tx:
        campaign = locked_campaign(managed_campaign_id(user=user, campaign_id=campaign_id))
        if campaign.status not in CANCELLABLE:
            raise Conflict(f"A campaign that is {campaign.status} cannot be cancelled.",
                           code=error_codes.ILLEGAL_CAMPAIGN_TRANSITION)
        owed = cancel_all_pledges(tx, campaign=campaign, actor=user)
        move_campaign(campaign, "cancelled", actor=user, reason=reason, **owed)
    return view_campaign(viewer=user, campaign_id=campaign_id)


def cancel_all_pledges(tx: Transaction, *, campaign: Campaign, actor) -> dict:
    """In the cancellation's unit of work: every active pledge's order cancelled and refunded what it paid.
    Returns what the promise adds on top: for a 定金, the deposit once more (double return), per pledge."""
    active = active_pledges(campaign.id)
    orders_by_id = {order.id: order for order in load_orders([p.order_id for p in active])}
    penalty = 0
    for pledge in active:
        order = orders_by_id[pledge.order_id]
        penalty += compensation.owe(campaign, pledge, deposit_paid_fen=min(order.net_paid_fen, order.deposit_fen))
        cancel_pledge_order(tx, order, actor_id=actor.id, reason="campaign cancelled by the supplier", strict=False)
    return {"pledges_cancelled": len(active), "penalty_owed_fen": penalty}
