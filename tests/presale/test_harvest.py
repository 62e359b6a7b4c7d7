"""Allocation of the harvest on real orders: whole units under each policy, the unallocated deposit refunded at
localstripe, every order cut to its allotment and asking the right balance; who may allocate; bad input."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shop.extensions import db
from shop.refunds.models import Refund
from tests.orders.factories import PRICE_A, api_as, load_order, state
from tests.orders.invariants import assert_exact
from tests.presale.factories import (DEPOSIT_A, allocate, campaign_row, make_cooperative, open_campaign,
                                     refunded_at_provider, refunds_of, succeeded_campaign)
from tests.support import assert_problem, make_user

# The proof: 700 harvested against pledges of 400, 300, 200 and 100 (placed in that order; the first
# and the last by institutions), with the documented result of each policy (shop/presale/allocation.py).
PLEDGED = [400, 300, 200, 100]
INSTITUTIONAL = (0, 3)
EXPECTED = {"pro_rata": [280, 210, 140, 70], "first_come": [400, 300, 0, 0],
            "institutions_first": [400, 120, 80, 100]}


@pytest.mark.parametrize("policy", sorted(EXPECTED))
def test_700_of_1000_gives_the_documented_units_refunds_and_balances(app, world, make_buyer, policy):
    campaign_id, pledgers = succeeded_campaign(app, world, make_buyer, PLEDGED, institutional=INSTITUTIONAL,
                                               allocation_policy=policy)
    before = {order_id: load_order(order_id) for _, order_id in pledgers}

    response = allocate(world, campaign_id, 700)

    assert response.status_code == 200, response.json
    assert response.json["campaign"]["status"] == "allocated"
    assert response.json["campaign"]["harvested_quantity"] == 700
    assert response.json["campaign"]["balance_due_at"] is not None
    rows = response.json["pledges"]
    assert [row["allocated"] for row in rows] == EXPECTED[policy]
    assert [row["institution"] for row in rows] == [i in INSTITUTIONAL for i in range(4)]
    for row, pledged, (_, order_id) in zip(rows, PLEDGED, pledgers):
        allotted, order = row["allocated"], load_order(order_id)
        shipping = before[order_id].shipping_fen
        assert row["order_id"] == order_id and row["pledged"] == pledged and row["reason"]
        if allotted == 0:
            # Nothing allotted: the order is cancelled and its whole deposit goes back, no penalty.
            assert order.status == "cancelled"
            assert row["refund_fen"] == pledged * DEPOSIT_A == order.refunded_fen == order.paid_fen
            assert row["balance_fen"] == 0
            assert refunds_of(order_id) == [("cancellation", "succeeded", pledged * DEPOSIT_A)]
        else:
            refund = (pledged - allotted) * DEPOSIT_A
            assert order.status == "deposit_paid"
            assert (order.lines[0].quantity, order.lines[0].line_total_fen) == (allotted, allotted * PRICE_A)
            assert order.total_fen == allotted * PRICE_A + shipping and order.deposit_fen == allotted * DEPOSIT_A
            assert order.paid_fen - order.refunded_fen == allotted * DEPOSIT_A
            assert row["refund_fen"] == refund and order.refunded_fen == refund
            assert row["balance_fen"] == order.total_fen - allotted * DEPOSIT_A
            assert refunds_of(order_id) == ([("harvest_shortfall", "succeeded", refund)] if refund else [])
        # What went back at localstripe is what the refund says, on the deposit's PaymentIntent.
        assert refunded_at_provider(order_id) == row["refund_fen"]
    # The stored explanation is the answer again; a second allocation is refused.
    assert api_as(world.owner_a).get(f"/api/v1/campaigns/{campaign_id}/allocation").json["pledges"] == rows
    assert_problem(allocate(world, campaign_id, 700), 409, "illegal_campaign_transition")


def test_a_harvest_that_covers_demand_fills_every_pledge_and_refunds_nothing(app, world, make_buyer):
    campaign_id, pledgers = succeeded_campaign(app, world, make_buyer, [3, 5])
    response = allocate(world, campaign_id, 50)
    assert response.status_code == 200, response.json
    assert [(row["allocated"], row["refund_fen"]) for row in response.json["pledges"]] == [(3, 0), (5, 0)]
    assert all(load_order(order_id).lines[0].quantity == q for (_, order_id), q in zip(pledgers, [3, 5]))
    assert refunds_of(pledgers[0][1]) == refunds_of(pledgers[1][1]) == []
    # The buyer sees the allotment on the pledge.
    client, order_id = pledgers[0]
    mine = client.get(f"/api/v1/campaigns/{campaign_id}/pledges").json
    assert [(p["order_id"], p["allocated_quantity"], p["kind"]) for p in mine] == [(order_id, 3, "pledge")]
    assert mine[0]["allocation_reason"] == "filled in full"


def test_a_full_prepayment_cut_by_a_short_harvest_refunds_the_price_and_goes_straight_to_fulfilling(
        app, world, make_buyer):
    campaign_id, pledgers = succeeded_campaign(app, world, make_buyer, [4, 4], deposit_per_unit_fen=0)
    response = allocate(world, campaign_id, 6)
    assert response.status_code == 200, response.json
    assert response.json["campaign"]["status"] == "fulfilling"
    assert response.json["campaign"]["balance_due_at"] is None
    for row, (_, order_id) in zip(response.json["pledges"], pledgers):
        order = load_order(order_id)
        assert row["allocated"] == 3 and row["refund_fen"] == PRICE_A and row["balance_fen"] == 0
        assert order.status == "paid" and order.total_fen == 3 * PRICE_A + order.shipping_fen
        assert order.paid_fen - order.refunded_fen == order.total_fen
        assert order.lines[0].paid_fen - order.lines[0].refunded_fen == 3 * PRICE_A


def test_only_the_lead_suppliers_managers_allocate_and_only_a_succeeded_campaign(app, world, make_buyer):
    campaign_id, pledgers = succeeded_campaign(app, world, make_buyer, [2])
    neighbour_owner, _ = make_cooperative(world)
    before = state()
    for stranger in (api_as(world.owner_b), api_as(neighbour_owner), pledgers[0][0], api_as(make_user())):
        assert_problem(allocate(world, campaign_id, 1, client=stranger), 404)
        assert_problem(stranger.get(f"/api/v1/campaigns/{campaign_id}/allocation"), 404)
    assert state() == before and campaign_row(campaign_id).status == "succeeded"
    still_open = open_campaign(world)
    assert_problem(allocate(world, still_open["id"], 1), 409, "illegal_campaign_transition")


@pytest.mark.parametrize("body", [
    {}, {"harvested_quantity": -1}, {"harvested_quantity": "7"}, {"harvested_quantity": 1.5},
    {"harvested_quantity": True}, {"harvested_quantity": None}, {"harvested_quantity": 10**12},
    {"harvested_quantity": 1, "balance_days": 0}, {"harvested_quantity": 1, "balance_days": 31},
    {"harvested_quantity": 1, "balance_days": "7"}, {"harvested_quantity": 1, "surprise": 1},
])
def test_bad_allocation_input_is_refused_and_changes_nothing(app, world, make_buyer, body):
    campaign_id, _ = succeeded_campaign(app, world, make_buyer, [2])
    before = state()
    response = api_as(world.owner_a).post(f"/api/v1/campaigns/{campaign_id}/allocate", json=body)
    assert_problem(response, 422, "validation_error")
    assert state() == before and campaign_row(campaign_id).status == "succeeded"
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0
    db.session.commit()


def test_a_pledge_ships_only_once_its_campaign_is_allocated(app, world, make_buyer):
    campaign_id, pledgers = succeeded_campaign(app, world, make_buyer, [2], deposit_per_unit_fen=0)
    client, order_id = pledgers[0]
    order = client.get(f"/api/v1/orders/{order_id}").json
    assert order["status"] == "paid" and order["shipping_hold"]
    fulfillment_id = order["fulfillments"][0]["id"]
    ship = {"carrier": "顺丰速运", "tracking_number": "SF1234567890"}
    before = state()
    assert_problem(api_as(world.owner_a).post(f"/api/v1/fulfillments/{fulfillment_id}/ship", json=ship), 409,
                   "order_not_shippable")
    assert state() == before
    assert allocate(world, campaign_id, 1).status_code == 200
    assert client.get(f"/api/v1/orders/{order_id}").json["shipping_hold"] is None
    assert api_as(world.owner_a).post(f"/api/v1/fulfillments/{fulfillment_id}/ship", json=ship).status_code == 200


def test_a_shortfall_refund_the_provider_refuses_waits_for_a_bank_transfer_instead_of_being_undone(
        app, world, make_buyer, monkeypatch):
    """Released onto the order, the money would be more than the cut order holds: it is owed back all the same."""
    from shop.refunds.models import RefundPart

    campaign_id, [(_, order_id)] = succeeded_campaign(app, world, make_buyer, [10], deposit_per_unit_fen=0)
    with monkeypatch.context() as patch:  # undo() would also undo the suite's fresh app context per request
        patch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")  # the provider cannot be reached
        response = allocate(world, campaign_id, 1)
    assert response.status_code == 200, response.json

    order = load_order(order_id)
    assert order.total_fen == PRICE_A + order.shipping_fen and order.refunded_fen == 9 * PRICE_A
    assert refunds_of(order_id) == [("harvest_shortfall", "awaiting_transfer", 9 * PRICE_A)]
    [part] = db.session.scalars(select(RefundPart).join(Refund).where(Refund.order_id == order_id))
    assert part.status == "awaiting_transfer" and part.failure_message
    db.session.commit()
    # An operator sends it back by bank transfer and records the reference: the refund is done.
    response = api_as(make_user(admin=True)).post(
        f"/api/v1/refunds/{part.refund_id}/transfers",
        json={"part_id": part.id, "reference": "BANK-REFUND-1", "value_date": order.placed_at.date().isoformat()})
    assert response.status_code == 200, response.json
    assert refunds_of(order_id) == [("harvest_shortfall", "succeeded", 9 * PRICE_A)]
    assert_exact(order_id)
