"""Pledges: presale orders at the campaign's price with their deposit PaymentIntent; only while the campaign
is open; capacity and per-buyer limits under real concurrency; withdrawing gives the units and the money back."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import Order
from shop.payments import services as payments
from shop.refunds.models import Refund
from tests.orders.factories import STOCK_A, api_as, confirm_at_provider, count, load_order, stock_of
from tests.payments.conftest import run_together
from tests.presale.factories import (DEPOSIT_A, active_pledged, campaign_row, open_campaign, pledge,
                                     set_campaign)
from tests.support import assert_problem


def test_a_pledge_is_a_presale_order_at_the_campaign_price_with_its_deposit_intent(world, buyer):
    campaign = open_campaign(world, unit_price_fen=5000, deposit_per_unit_fen=1000)
    response = pledge(buyer, campaign["id"], world.address_id, 3)
    assert response.status_code == 201, response.json
    body = response.json
    order = body["order"]
    assert body["pledge"]["quantity"] == 3 and body["pledge"]["status"] == "active"
    assert (order["channel"], order["payment_plan"], order["deposit_fen"]) == ("presale", "deposit_balance", 3000)
    line = order["lines"][0]
    assert (line["unit_price_fen"], line["quantity"], line["line_total_fen"]) == (5000, 3, 15000)
    assert order["subtotal_fen"] == 15000 and order["total_fen"] == 15000 + order["shipping_fen"]
    assert body["payment_error"] is None
    assert (body["payment"]["kind"], body["payment"]["amount_fen"]) == ("deposit", 3000)
    assert body["payment"]["client_secret"]
    assert campaign_row(campaign["id"]).pledged_quantity == 3
    assert stock_of(world.sku_a) == STOCK_A  # a pre-sale never touches Sku.stock


def test_a_full_prepayment_campaign_pledges_by_card(world, buyer):
    campaign = open_campaign(world, deposit_per_unit_fen=0)
    body = pledge(buyer, campaign["id"], world.address_id, 2).json
    assert (body["order"]["payment_plan"], body["order"]["deposit_fen"]) == ("card", 0)
    assert (body["payment"]["kind"], body["payment"]["amount_fen"]) == ("full", body["order"]["total_fen"])


def test_the_same_idempotency_key_answers_the_same_pledge(world, buyer):
    campaign = open_campaign(world)
    first = pledge(buyer, campaign["id"], world.address_id, 2, key="pledge-1")
    again = pledge(buyer, campaign["id"], world.address_id, 2, key="pledge-1")
    assert again.status_code == 201 and again.json["order"]["id"] == first.json["order"]["id"]
    assert campaign_row(campaign["id"]).pledged_quantity == 2
    assert_problem(pledge(buyer, campaign["id"], world.address_id, 3, key="pledge-1"), 422,
                   "idempotency_key_reused")


def test_a_pledge_after_the_close_is_refused(world, buyer):
    campaign = open_campaign(world)
    now = utcnow()
    # the window ended, the closing job has not run yet
    set_campaign(campaign["id"], opens_at=now - dt.timedelta(days=8), closes_at=now - dt.timedelta(minutes=1))
    before = count(Order)
    assert_problem(pledge(buyer, campaign["id"], world.address_id), 409, "campaign_closed")
    # and once the job has closed it
    set_campaign(campaign["id"], status="closed")
    assert_problem(pledge(buyer, campaign["id"], world.address_id), 409, "campaign_closed")
    assert count(Order) == before and campaign_row(campaign["id"]).pledged_quantity == 0


def test_a_pledge_before_the_window_opens_or_on_a_draft(world, buyer):
    later = open_campaign(world, opens_at=(utcnow() + dt.timedelta(days=1)).isoformat())
    assert_problem(pledge(buyer, later["id"], world.address_id), 409, "campaign_closed")
    from tests.presale.factories import create_draft
    draft = create_draft(world)
    assert_problem(pledge(buyer, draft["id"], world.address_id), 404)


def test_capacity_is_never_exceeded_by_30_concurrent_pledges(app, world, make_buyer):
    campaign = open_campaign(world, capacity=20, minimum_quantity=5)
    buyers = [make_buyer() for _ in range(30)]

    def attempt(b):
        def run():
            with app.app_context():
                try:
                    return pledge(b.client(app), campaign["id"], b.address_id, 1)
                finally:
                    db.session.remove()
        return run

    results = run_together([attempt(b) for b in buyers])
    statuses = sorted(getattr(r, "status_code", repr(r)) for r in results)
    assert statuses == [201] * 20 + [409] * 10, statuses
    assert {r.json["code"] for r in results if r.status_code == 409} == {"campaign_full"}
    row = campaign_row(campaign["id"])
    assert row.pledged_quantity == 20 == active_pledged(campaign["id"]) == row.capacity
    assert count(Order, Order.channel == "presale") == 20
    assert stock_of(world.sku_a) == STOCK_A


def test_the_per_buyer_limit(world, buyer):
    campaign = open_campaign(world, per_buyer_limit=3)
    assert pledge(buyer, campaign["id"], world.address_id, 2).status_code == 201
    body = assert_problem(pledge(buyer, campaign["id"], world.address_id, 2), 409, "per_buyer_limit")
    assert body["errors"]["quantity"] == ["At most 1."]
    assert pledge(buyer, campaign["id"], world.address_id, 1).status_code == 201
    assert_problem(pledge(buyer, campaign["id"], world.address_id, 1), 409, "per_buyer_limit")
    assert campaign_row(campaign["id"]).pledged_quantity == 3
    other = api_as(world.owner_b)  # anyone else still pledges
    from tests.orders.factories import make_address
    address = make_address(world.owner_b)
    assert pledge(other, campaign["id"], address.id, 3).status_code == 201


def test_the_per_buyer_limit_holds_under_concurrency(app, world, make_buyer):
    campaign = open_campaign(world, per_buyer_limit=3)
    one = make_buyer()

    def attempt():
        with app.app_context():
            try:
                return pledge(one.client(app), campaign["id"], one.address_id, 1)
            finally:
                db.session.remove()

    results = run_together([attempt for _ in range(8)])
    statuses = sorted(getattr(r, "status_code", repr(r)) for r in results)
    assert statuses == [201] * 3 + [409] * 5, statuses
    assert campaign_row(campaign["id"]).pledged_quantity == 3 == active_pledged(campaign["id"])


def test_withdrawing_an_unpaid_pledge_gives_the_units_back(world, buyer):
    campaign = open_campaign(world, capacity=5, minimum_quantity=1)
    order_id = pledge(buyer, campaign["id"], world.address_id, 5).json["order"]["id"]
    assert_problem(pledge(buyer, campaign["id"], world.address_id, 1), 409, "campaign_full")
    url = f"/api/v1/campaigns/{campaign['id']}/pledges/{order_id}/withdraw"
    assert_problem(api_as(world.owner_b).post(url), 404)  # someone else's pledge
    response = buyer.post(url)
    assert response.status_code == 200, response.json
    assert response.json["pledge"]["status"] == "released" and response.json["order"]["status"] == "cancelled"
    assert campaign_row(campaign["id"]).pledged_quantity == 0
    assert_problem(buyer.post(url), 409, "pledge_released")
    assert pledge(buyer, campaign["id"], world.address_id, 5).status_code == 201  # the units are back
    assert stock_of(world.sku_a) == STOCK_A


def test_withdrawing_a_paid_deposit_refunds_it(world, buyer):
    campaign = open_campaign(world)
    order_id = pledge(buyer, campaign["id"], world.address_id, 4).json["order"]["id"]
    confirm_at_provider(order_id)
    assert payments.reconcile_order(order_id=order_id) == "deposit_paid"
    assert load_order(order_id).paid_fen == 4 * DEPOSIT_A
    db.session.commit()
    response = buyer.post(f"/api/v1/campaigns/{campaign['id']}/pledges/{order_id}/withdraw")
    assert response.status_code == 200, response.json
    order = load_order(order_id)
    assert (order.status, order.refunded_fen) == ("cancelled", 4 * DEPOSIT_A)
    refund = db.session.scalar(select(Refund).where(Refund.order_id == order_id))
    assert (refund.status, refund.amount_fen, refund.kind) == ("succeeded", 4 * DEPOSIT_A, "cancellation")
    db.session.commit()
    assert campaign_row(campaign["id"]).pledged_quantity == 0


def test_no_withdrawal_once_the_window_has_ended(world, buyer):
    campaign = open_campaign(world)
    order_id = pledge(buyer, campaign["id"], world.address_id, 1).json["order"]["id"]
    set_campaign(campaign["id"], status="closed")
    assert_problem(buyer.post(f"/api/v1/campaigns/{campaign['id']}/pledges/{order_id}/withdraw"), 409,
                   "campaign_closed")
    # Nor by cancelling the pledge's order as an ordinary order.
    assert_problem(buyer.post(f"/api/v1/orders/{order_id}/cancel", json={}), 409, "order_not_cancellable")
    assert campaign_row(campaign["id"]).pledged_quantity == 1


def test_an_unpaid_pledge_that_expires_gives_its_units_back_and_no_stock(world, buyer):
    from shop.orders.jobs import expire_unpaid_orders

    campaign = open_campaign(world)
    pledge(buyer, campaign["id"], world.address_id, 2)
    assert expire_unpaid_orders(now=utcnow() + dt.timedelta(days=1))["expired"] == 1
    db.session.commit()
    assert campaign_row(campaign["id"]).pledged_quantity == 0 == active_pledged(campaign["id"])
    assert stock_of(world.sku_a) == STOCK_A


def test_cancelling_a_campaign_cancels_and_refunds_its_pledges(world, buyer):
    campaign = open_campaign(world)
    paid_id = pledge(buyer, campaign["id"], world.address_id, 2).json["order"]["id"]
    unpaid_id = pledge(buyer, campaign["id"], world.address_id, 1).json["order"]["id"]
    confirm_at_provider(paid_id)
    assert payments.reconcile_order(order_id=paid_id) == "deposit_paid"
    db.session.commit()
    response = api_as(world.owner_a).post(f"/api/v1/campaigns/{campaign['id']}/cancel", json={"reason": "冰雹"})
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["pledged_quantity"]) == ("cancelled", 0)
    assert load_order(paid_id).refunded_fen == 2 * DEPOSIT_A
    assert load_order(unpaid_id).status == "cancelled"
    db.session.commit()
    event = api_as(world.owner_a).get(f"/api/v1/campaigns/{campaign['id']}/events").json[-1]
    assert event["data"] == {"pledges_cancelled": 2, "penalty_owed_fen": 2 * DEPOSIT_A}
