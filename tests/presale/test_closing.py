"""Closing: once the window has ended, unpaid pledges are cancelled; the paid ones decide succeeded or failed;
a failed campaign refunds every deposit exactly once, even when two workers run the job together."""
from __future__ import annotations

from shop.presale.closing import close_due_campaigns
from shop.refunds.models import Refund
from tests.orders.factories import api_as, count, load_order
from tests.payments.conftest import in_app_context, run_together
from tests.presale.factories import (DEPOSIT_A, active_pledged, campaign_row, end_window, open_campaign, paid_pledge,
                                     pledge, told)
from tests.support import assert_problem


def _events(world, campaign_id: int) -> list[tuple]:
    events = api_as(world.owner_a).get(f"/api/v1/campaigns/{campaign_id}/events").json
    return [(e["type"], e["data"]) for e in events if e["type"] in ("closed", "succeeded", "failed")]


def test_the_paid_pledges_reaching_the_minimum_succeed_and_unpaid_ones_are_cancelled(app, world, buyer, make_buyer):
    campaign = open_campaign(world, minimum_quantity=3)
    other = make_buyer()
    first = paid_pledge(buyer, campaign["id"], world.address_id, 2)
    second = paid_pledge(other.client(app), campaign["id"], other.address_id, 1)
    unpaid = pledge(buyer, campaign["id"], world.address_id, 4).json["order"]["id"]
    assert campaign_row(campaign["id"]).pledged_quantity == 7
    assert close_due_campaigns() == {}  # the window is still open
    end_window(campaign["id"])

    assert close_due_campaigns() == {"succeeded": 1}
    row = campaign_row(campaign["id"])
    assert (row.status, row.pledged_quantity) == ("succeeded", 3) and active_pledged(campaign["id"]) == 3
    assert load_order(unpaid).status == "cancelled" and load_order(unpaid).paid_fen == 0
    assert [load_order(i).status for i in (first, second)] == ["deposit_paid", "deposit_paid"]
    assert count(Refund) == 0
    assert told("campaign_succeeded") == sorted([world.buyer.id, other.user_id, world.owner_a.id])
    assert _events(world, campaign["id"]) == [
        ("closed", {"pledged_quantity": 3, "unpaid_cancelled": 1}),
        ("succeeded", {"pledged_quantity": 3, "minimum_quantity": 3})]
    assert close_due_campaigns() == {}  # nothing is left to close
    assert_problem(pledge(buyer, campaign["id"], world.address_id, 1), 409, "campaign_closed")


def test_a_failed_campaign_refunds_every_deposit_once_under_a_double_close_job(app, world, buyer, make_buyer):
    campaign = open_campaign(world, minimum_quantity=20)
    buyers = [make_buyer() for _ in range(3)]
    orders = {paid_pledge(b.client(app), campaign["id"], b.address_id, n): n for n, b in enumerate(buyers, start=2)}
    end_window(campaign["id"])

    results = run_together([in_app_context(app, close_due_campaigns) for _ in range(2)])
    # One worker closes it; the other finds it gone from its list or closed by the first.
    assert sorted(map(str, results)) in (["{'failed': 1}", "{}"], ["{'closed_elsewhere': 1}", "{'failed': 1}"]), results
    row = campaign_row(campaign["id"])
    assert (row.status, row.pledged_quantity) == ("failed", 0)
    for order_id, quantity in orders.items():
        order = load_order(order_id)
        assert (order.status, order.paid_fen, order.refunded_fen) == ("cancelled", quantity * DEPOSIT_A,
                                                                      quantity * DEPOSIT_A)
        assert count(Refund, Refund.order_id == order_id) == 1
        assert count(Refund, Refund.order_id == order_id, Refund.status == "succeeded") == 1
    assert close_due_campaigns() == {}
    assert count(Refund) == len(orders)
    assert told("campaign_failed") == sorted([b.user_id for b in buyers] + [world.owner_a.id])
    assert _events(world, campaign["id"])[-1] == ("failed", {"pledged_quantity": 9, "minimum_quantity": 20,
                                                             "pledges_refunded": 3})


def test_the_lead_supplier_closes_an_ended_campaign_without_waiting_for_the_job(world, buyer):
    campaign = open_campaign(world, minimum_quantity=1)
    url = f"/api/v1/campaigns/{campaign['id']}/close"
    paid_pledge(buyer, campaign["id"], world.address_id, 1)
    assert_problem(api_as(world.owner_a).post(url), 409, "window_open")
    end_window(campaign["id"])
    assert_problem(api_as(world.owner_b).post(url), 404, "not_found")  # another supplier
    assert_problem(buyer.post(url), 404, "not_found")
    assert campaign_row(campaign["id"]).status == "open"
    response = api_as(world.owner_a).post(url)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "succeeded"
    again = api_as(world.owner_a).post(url)  # a replay answers the campaign as it is
    assert (again.status_code, again.json["status"]) == (200, "succeeded")


def test_a_draft_campaign_is_not_closed(world):
    from tests.presale.factories import create_draft

    draft = create_draft(world)
    end_window(draft["id"])
    assert close_due_campaigns() == {}
    assert_problem(api_as(world.owner_a).post(f"/api/v1/campaigns/{draft['id']}/close"), 409,
                   "illegal_campaign_transition")
    assert campaign_row(draft["id"]).status == "draft"
