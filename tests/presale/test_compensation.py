"""A supplier cancelling its campaign owes what it promised: with a 定金, the deposit once more per paid pledge,
on top of the refund; operators pay it out once; buyers see only their own."""
from __future__ import annotations

import pytest

from tests.orders.factories import api_as, load_order, state
from tests.presale.factories import DEPOSIT_A, open_campaign, paid_pledge, pledge
from tests.support import assert_problem, make_user


def _cancel(world, campaign_id):
    response = api_as(world.owner_a).post(f"/api/v1/campaigns/{campaign_id}/cancel", json={"reason": "冰雹毁园"})
    assert response.status_code == 200, response.json
    return response.json


def _compensations(client, campaign_id):
    response = client.get(f"/api/v1/campaigns/{campaign_id}/compensations")
    assert response.status_code == 200, response.json
    return response.json


def test_cancelling_a_deposit_campaign_owes_each_paid_pledge_its_deposit_again(app, world, make_buyer):
    campaign = open_campaign(world)
    first, second = make_buyer(), make_buyer()
    paid = {paid_pledge(first.client(app), campaign["id"], first.address_id, 3): (first, 3),
            paid_pledge(second.client(app), campaign["id"], second.address_id, 2): (second, 2)}
    unpaid = pledge(first.client(app), campaign["id"], first.address_id, 1).json["order"]["id"]

    _cancel(world, campaign["id"])

    rows = _compensations(api_as(world.owner_a), campaign["id"])
    assert [(r["order_id"], r["amount_fen"], r["status"], r["supplier_id"]) for r in rows] == [
        (order_id, quantity * DEPOSIT_A, "owed", world.supplier_a) for order_id, (_, quantity) in paid.items()]
    for order_id, (_, quantity) in paid.items():  # the refund is the deposit; the compensation comes on top
        assert load_order(order_id).refunded_fen == quantity * DEPOSIT_A
    assert unpaid not in [r["order_id"] for r in rows]
    # Each buyer sees only their own; a stranger sees none.
    assert [r["buyer_id"] for r in _compensations(second.client(app), campaign["id"])] == [second.user_id]
    assert _compensations(api_as(make_user()), campaign["id"]) == []

    admin = api_as(make_user(admin=True))
    target = rows[0]["id"]
    for client in (api_as(world.owner_a), first.client(app)):  # the supplier and the buyer pay nothing out
        assert_problem(client.post(f"/api/v1/compensations/{target}/pay", json={"reference": "CMB2026120301"}), 403,
                       "admin_only")
    response = admin.post(f"/api/v1/compensations/{target}/pay", json={"reference": "CMB2026120301"})
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["reference"]) == ("paid", "CMB2026120301")
    before = state()
    assert_problem(admin.post(f"/api/v1/compensations/{target}/pay", json={"reference": "CMB2026120302"}), 409,
                   "compensation_paid")
    assert state() == before
    assert _compensations(api_as(world.owner_a), campaign["id"])[0]["reference"] == "CMB2026120301"
    assert_problem(admin.post("/api/v1/compensations/999999/pay", json={"reference": "CMB2026120301"}), 404)


def test_a_full_prepayment_campaign_cancelled_refunds_in_full_and_owes_nothing_more(app, world, make_buyer):
    campaign = open_campaign(world, deposit_per_unit_fen=0)
    buyer = make_buyer()
    order_id = paid_pledge(buyer.client(app), campaign["id"], buyer.address_id, 2)
    assert _cancel(world, campaign["id"])["status"] == "cancelled"
    assert load_order(order_id).refunded_fen == load_order(order_id).paid_fen > 0
    assert _compensations(api_as(world.owner_a), campaign["id"]) == []


@pytest.mark.parametrize("body", [{}, {"reference": ""}, {"reference": "x"}, {"reference": "含中文的编号"},
                                  {"reference": "A" * 65}, {"reference": 12345678}, {"reference": "CMB1\n"}])
def test_a_bad_payout_reference_is_refused(app, world, make_buyer, body):
    campaign = open_campaign(world)
    buyer = make_buyer()
    paid_pledge(buyer.client(app), campaign["id"], buyer.address_id, 1)
    _cancel(world, campaign["id"])
    target = _compensations(api_as(world.owner_a), campaign["id"])[0]["id"]
    before = state()
    assert_problem(api_as(make_user(admin=True)).post(f"/api/v1/compensations/{target}/pay", json=body), 422)
    assert state() == before
