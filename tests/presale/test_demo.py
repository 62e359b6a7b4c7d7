"""Demo pre-sale: after `load-demo`, one campaign taking pledges now and one that went all the way to completed
last season, built by the services with money exact to the fen; loading again adds nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from shop.accounts.models import User
from shop.database import utcnow
from shop.demo import load_demo_data
from shop.extensions import db
from shop.orders.models import Order
from shop.payments.models import Payment
from shop.presale.demo import PARTNER_OWNER
from shop.presale.models import Campaign, CampaignEvent, Pledge, SupplyCommitment
from shop.refunds.models import Refund, RefundPart
from shop.suppliers.models import Supplier
from tests.orders.factories import api_as
from tests.orders.invariants import assert_exact
from tests.presale.factories import pledges_of

JOURNEY = ["draft", "open", "closed", "succeeded", "allocated", "fulfilling", "completed"]


def _demo_campaigns(status: str) -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).where(Campaign.status == status,
                                                          Campaign.title.like("%（演示）"))))


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _counts() -> tuple:
    return tuple(db.session.scalar(select(func.count()).select_from(model)) for model in
                 (Campaign, CampaignEvent, Pledge, SupplyCommitment, Order, Payment, Refund, Supplier, User))


def test_demo_has_a_completed_campaign_whose_short_harvest_was_cut_refunded_and_delivered():
    assert load_demo_data()["campaigns"] == 2
    db.session.expire_all()
    [done] = _demo_campaigns("completed")
    now = utcnow()
    assert done.closes_at < now and done.ships_until < now.date()
    events = list(db.session.scalars(select(CampaignEvent).where(CampaignEvent.campaign_id == done.id)
                                     .order_by(CampaignEvent.id)))
    assert [e.to_status for e in events if e.to_status] == JOURNEY
    assert [e.created_at for e in events] == sorted(e.created_at for e in events) and events[-1].created_at < now

    pledges = pledges_of(done.id)
    assert sum(p.quantity for p in pledges) > done.harvested_quantity  # the harvest was short
    assert sum(p.allocated_quantity for p in pledges) == done.harvested_quantity
    assert any(p.allocated_quantity < p.quantity for p in pledges)
    for pledge in pledges:
        order = db.session.get(Order, pledge.order_id)
        assert order.status == "delivered" and order.placed_at < done.closes_at
        assert_exact(order.id)
        assert order.net_paid_fen == order.total_fen and order.due_fen == 0
        unallotted = (pledge.quantity - pledge.allocated_quantity) * done.deposit_per_unit_fen
        refunds = list(db.session.scalars(select(Refund).where(Refund.order_id == order.id)))
        assert pledge.allocation_refund_fen == unallotted == sum(r.amount_fen for r in refunds) == order.refunded_fen
        assert all(r.kind == "harvest_shortfall" and r.status == "succeeded" for r in refunds)
        parts = db.session.scalars(select(RefundPart).join(Refund).where(Refund.order_id == order.id))
        assert all(part.status == "succeeded" for part in parts)
        # Paid by card through the loader's offline gateway: no provider was called.
        assert {p.provider_ref[:8] for p in db.session.scalars(select(Payment).where(Payment.order_id == order.id))} \
            == {"pi_demo_"}
    delivered = {s.supplier_id: s.delivered_quantity for s in
                 db.session.scalars(select(SupplyCommitment).where(SupplyCommitment.campaign_id == done.id))}
    assert len(delivered) == 2 and sum(delivered.values()) == done.harvested_quantity


def test_demo_has_a_live_campaign_with_paid_deposits_and_a_plan_and_loads_once():
    load_demo_data()
    db.session.expire_all()
    [live] = _demo_campaigns("open")
    assert live.takes_pledges(utcnow())
    assert live.deposit_per_unit_fen * 5 <= live.unit_price_fen and live.per_buyer_limit
    pledges = pledges_of(live.id)
    assert len(pledges) >= 3 and live.pledged_quantity == sum(p.quantity for p in pledges) < live.minimum_quantity
    for pledge in pledges:
        order = db.session.get(Order, pledge.order_id)
        assert order.status == "deposit_paid" and order.paid_fen == pledge.quantity * live.deposit_per_unit_fen
        assert live.opens_at <= order.placed_at < utcnow()
        assert_exact(order.id)

    owner = _user("coop@demo.sanxia.test")  # the lead cooperative's owner; the partner's owner sees it too
    for user in (owner, _user(PARTNER_OWNER["email"])):
        response = api_as(user).get(f"/api/v1/campaigns/{live.id}/plan")
        assert response.status_code == 200, response.json
        plan = response.json
        assert plan["totals"]["demand"] == live.pledged_quantity and plan["totals"]["gap_to_minimum"] > 0
        suppliers = [db.session.get(Supplier, row["supplier_id"]) for row in plan["supply_by_supplier"]]
        assert len(suppliers) == 2 and {s.district_code for s in suppliers} == {"500237"}
        assert all(s.is_demo and s.status == "approved" for s in suppliers)

    before = _counts()
    again = load_demo_data()
    assert again["campaigns"] == 0 and again["pledges"] == 0
    assert _counts() == before
