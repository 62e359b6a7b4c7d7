"""The promise of a campaign its supplier called off (`cancelled` before allocation): each buyer's pledge is
refunded what it paid (shop.presale.pledges), and, where the campaign promised double_deposit and a 定金 was
paid, the buyer is owed that deposit once more (Civil Code art. 587): one Compensation per pledge.

Refunds cannot carry it (a refund never exceeds what was paid), so an operator pays it out by bank transfer and
records the bank's reference here (`owed → paid`, COMPENSATION_TRANSITIONS); the lead supplier bears it in its
settlement. The buyer sees their own; the supplier's members and platform admins see the campaign's.
"""
from __future__ import annotations

from sqlalchemy import select, update

from shop.accounts.permissions import ensure_platform_admin
from shop.audit import actions as audit_actions
from shop.audit import services as audit
from shop.database import utcnow
from shop.errors import Conflict, NotFound
from shop.extensions import db
from shop.presale import error_codes
from shop.presale import events
from shop.presale.campaigns import public_campaign
from shop.presale.models import COMPENSATION_TRANSITIONS, Campaign, Compensation, Pledge
from shop.settlements import ledger as settlements
from shop.suppliers import services as suppliers
from shop.transaction import transaction


def owe(campaign: Campaign, pledge: Pledge, *, deposit_paid_fen: int) -> int:
    """In the cancellation's unit of work: what the promise adds for this pledge (recorded), in fen."""
    if campaign.default_promise != "double_deposit" or deposit_paid_fen <= 0:
        return 0
    db.session.add(Compensation(campaign_id=campaign.id, pledge_id=pledge.id, order_id=pledge.order_id,
                                buyer_id=pledge.buyer_id, supplier_id=campaign.supplier_id,
                                amount_fen=deposit_paid_fen))
    return deposit_paid_fen


def list_compensations(*, viewer, campaign_id: int) -> list[Compensation]:
    campaign = public_campaign(viewer=viewer, campaign_id=campaign_id)
    stmt = select(Compensation).where(Compensation.campaign_id == campaign_id).order_by(Compensation.id)
    if not (viewer.is_platform_admin or suppliers.is_member(user=viewer, supplier_id=campaign.supplier_id)):
        stmt = stmt.where(Compensation.buyer_id == viewer.id)
    return list(db.session.scalars(stmt))


def record_payout(*, actor, compensation_id: int, reference: str) -> Compensation:
    """An operator sent the money: `owed → paid` once (a conditional UPDATE), with the bank's reference."""
    ensure_platform_admin(actor)
    with transaction() as tx:
        compensation = db.session.get(Compensation, compensation_id, populate_existing=True)
        if compensation is None:
            raise NotFound("No such compensation.")
        now = utcnow()
        if "paid" not in COMPENSATION_TRANSITIONS[compensation.status] or db.session.execute(
                update(Compensation).where(Compensation.id == compensation.id, Compensation.status == "owed")
                .values(status="paid", reference=reference, paid_at=now, paid_by_id=actor.id)
                .execution_options(synchronize_session=False)).rowcount != 1:
            raise Conflict("This compensation was paid already.", code=error_codes.COMPENSATION_PAID)
        # The supplier's debt: deducted from its settlement of the month the money went out.
        settlements.record_compensation(compensation_id=compensation.id, supplier_id=compensation.supplier_id,
                                        order_id=compensation.order_id, amount_fen=compensation.amount_fen,
                                        paid_at=now)
        events.compensation_paid(compensation.campaign_id, actor_id=actor.id, compensation_id=compensation.id,
                                 pledge_id=compensation.pledge_id, amount_fen=compensation.amount_fen,
                                 reference=reference)
        audit.record(tx, actor=actor, action=audit_actions.COMPENSATION_PAID, target_type="compensation",
                     target_id=compensation.id, keep=("campaign_id", "order_id", "amount_fen"),
                     before={"campaign_id": compensation.campaign_id, "order_id": compensation.order_id,
                             "amount_fen": compensation.amount_fen, "status": "owed"},
                     after={"campaign_id": compensation.campaign_id, "order_id": compensation.order_id,
                            "amount_fen": compensation.amount_fen, "status": "paid", "reference": reference})
    return db.session.get(Compensation, compensation_id, populate_existing=True)
