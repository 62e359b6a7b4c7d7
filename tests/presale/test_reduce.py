"""Reducing a pledge while the campaign is open: the units dropped go back to the campaign and what was paid for
them is refunded at localstripe (refund kind pledge_reduced), the line cut; the same quantity again changes
nothing; everything else is refused with its code and changes nothing; concurrent reductions stay exact."""
from __future__ import annotations

import pytest
from shop.extensions import db
from tests.orders.factories import PRICE_A, load_order, state
from tests.orders.invariants import assert_exact
from tests.payments.conftest import run_together
from tests.presale.factories import (DEPOSIT_A, active_pledged, campaign_row, end_window, make_org_pledger,
                                     make_pledger, open_campaign, paid_pledge, pledge, refunded_at_provider, refunds_of)
from tests.support import assert_problem


def _reduce(client, campaign_id: int, order_id: int, body):
    return client.post(f"/api/v1/campaigns/{campaign_id}/pledges/{order_id}/reduce",
                       json=body if isinstance(body, dict) else {"quantity": body})


@pytest.mark.parametrize("deposit", [DEPOSIT_A, 0], ids=["deposit", "full_prepayment"])
def test_reducing_a_paid_pledge_refunds_the_units_dropped_and_gives_them_back(world, deposit):
    campaign = open_campaign(world, deposit_per_unit_fen=deposit)
    client, address_id = make_pledger("320102")
    order_id = paid_pledge(client, campaign["id"], address_id, 5)
    shipping = load_order(order_id).shipping_fen
    per_unit = deposit or PRICE_A

    response = _reduce(client, campaign["id"], order_id, 2)

    assert response.status_code == 200, response.json
    assert response.json["pledge"]["quantity"] == 2
    order = load_order(order_id)
    assert (order.lines[0].quantity, order.total_fen, order.deposit_fen) == (2, 2 * PRICE_A + shipping, 2 * deposit)
    assert order.refunded_fen == 3 * per_unit and order.net_paid_fen == (2 * deposit if deposit else order.total_fen)
    assert refunds_of(order_id) == [("pledge_reduced", "succeeded", 3 * per_unit)]
    assert refunded_at_provider(order_id) == 3 * per_unit
    assert campaign_row(campaign["id"]).pledged_quantity == 2 == active_pledged(campaign["id"])
    assert_exact(order_id)
    # The same quantity again (a retried request) answers the same and refunds nothing more.
    again = _reduce(client, campaign["id"], order_id, 2)
    assert again.status_code == 200 and again.json["order"]["total_fen"] == order.total_fen
    assert len(refunds_of(order_id)) == 1


def test_a_pledge_on_terms_is_reduced_with_nothing_to_refund(world):
    campaign = open_campaign(world)
    client, address_id, organization_id = make_org_pledger("440000")
    order_id = pledge(client, campaign["id"], address_id, 4, organization_id=organization_id,
                      payment="terms").json["order"]["id"]
    assert _reduce(client, campaign["id"], order_id, 1).status_code == 200
    order = load_order(order_id)
    assert (order.lines[0].quantity, order.paid_fen, order.deposit_fen, order.status) == (1, 0, 0, "approved")
    assert refunds_of(order_id) == [] and campaign_row(campaign["id"]).pledged_quantity == 1


def test_what_may_not_be_reduced_is_refused_and_nothing_changes(world):
    campaign = open_campaign(world)
    client, address_id = make_pledger("320102")
    paid = paid_pledge(client, campaign["id"], address_id, 5)
    unpaid = pledge(client, campaign["id"], address_id, 3).json["order"]["id"]
    withdrawn = paid_pledge(client, campaign["id"], address_id, 2)
    assert client.post(f"/api/v1/campaigns/{campaign['id']}/pledges/{withdrawn}/withdraw").status_code == 200
    other, _ = make_pledger("500101")
    other_campaign = open_campaign(world)
    before = state(), campaign_row(campaign["id"]).pledged_quantity

    assert_problem(_reduce(client, campaign["id"], paid, 6), 422, "not_a_reduction")
    assert_problem(_reduce(client, campaign["id"], unpaid, 1), 409, "pledge_unpaid")
    assert_problem(_reduce(client, campaign["id"], withdrawn, 1), 409, "pledge_released")
    assert_problem(_reduce(other, campaign["id"], paid, 1), 404)  # another buyer's pledge
    assert_problem(_reduce(client, other_campaign["id"], paid, 1), 404)  # not this campaign's
    for body in ({}, {"quantity": 0}, {"quantity": -1}, {"quantity": "2"}, {"quantity": 1.5},
                 {"quantity": True}, {"quantity": None}, {"quantity": 2, "surprise": 1}):
        assert_problem(_reduce(client, campaign["id"], paid, body), 422, "validation_error")
    assert (state(), campaign_row(campaign["id"]).pledged_quantity) == before

    end_window(campaign["id"])
    assert_problem(_reduce(client, campaign["id"], paid, 1), 409, "campaign_closed")
    assert load_order(paid).lines[0].quantity == 5


def test_concurrent_reductions_of_one_pledge_stay_exact(app, world, make_buyer):
    campaign = open_campaign(world)
    buyer = make_buyer()
    order_id = paid_pledge(buyer.client(app), campaign["id"], buyer.address_id, 6)

    def attempt(quantity):
        def run():
            with app.app_context():
                try:
                    return _reduce(buyer.client(app), campaign["id"], order_id, quantity)
                finally:
                    db.session.remove()
        return run

    results = run_together([attempt(q) for q in (4, 3, 2, 4, 3, 2)])
    statuses = {getattr(r, "status_code", repr(r)) for r in results}
    assert statuses <= {200, 422}, statuses
    kept = load_order(order_id).lines[0].quantity
    assert kept in (2, 3, 4)
    assert sum(amount for _, _, amount in refunds_of(order_id)) == (6 - kept) * DEPOSIT_A
    assert campaign_row(campaign["id"]).pledged_quantity == kept == active_pledged(campaign["id"])
    assert_exact(order_id)
