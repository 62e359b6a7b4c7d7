"""After allocation: balances paid or forfeited by the deadline (a 定金 is kept, nothing refunded), the freed units
offered to the waiting pledges as top-ups, unpaid top-ups lapsing, and the campaign completing once every order
is delivered; the settle job is safe on two workers."""
from __future__ import annotations

import datetime as dt

from shop.database import utcnow
from shop.orders.jobs import expire_unpaid_orders
from shop.presale.balances import settle_campaigns
from shop.refunds.models import Refund
from tests.orders.factories import PRICE_A, api_as, count, load_order, ship_and_deliver
from tests.payments.conftest import in_app_context, run_together
from tests.presale.factories import (DEPOSIT_A, allocate, campaign_row, pay_due_part, pledges_of, set_campaign,
                                     set_order_expiry, succeeded_campaign, told)


def _allocated_three_of_ten_each(app, world, make_buyer):
    """Three pledges of 10 units, 21 harvested pro rata: 7 each, 3 × deposit refunded to each; A and B pay
    their balances, C does not."""
    campaign_id, pledgers = succeeded_campaign(app, world, make_buyer, [10, 10, 10])
    assert allocate(world, campaign_id, 21).status_code == 200
    for client, order_id in pledgers[:2]:
        assert pay_due_part(client, order_id) == "paid"
    return campaign_id, pledgers


def _deadline_passed(campaign_id: int) -> None:
    set_campaign(campaign_id, balance_due_at=utcnow() - dt.timedelta(minutes=1))


def test_an_unpaid_balance_forfeits_the_deposit_and_its_units_go_to_the_waiting_pledges(app, world, make_buyer):
    campaign_id, pledgers = _allocated_three_of_ten_each(app, world, make_buyer)
    (client_a, order_a), (client_b, order_b), (_, order_c) = pledgers
    assert load_order(order_a).status == "paid" and load_order(order_a).due_fen == 0
    assert settle_campaigns() == {"not_due": 1}  # C may still pay
    _deadline_passed(campaign_id)

    assert settle_campaigns() == {"fulfilling": 1}

    forfeited = load_order(order_c)
    assert forfeited.status == "cancelled"
    # Only the shortfall went back (at allocation); the 定金 of the 7 allotted units is kept.
    assert forfeited.refunded_fen == 3 * DEPOSIT_A and forfeited.paid_fen - forfeited.refunded_fen == 7 * DEPOSIT_A
    assert count(Refund, Refund.order_id == order_c) == 1
    pledges = pledges_of(campaign_id)
    assert [(p.kind, p.status) for p in pledges[:3]] == [("pledge", "active")] * 2 + [("pledge", "forfeited")]
    # 7 freed units against shortfalls of 3 and 3: each waiting pledge is offered 3, and 1 is released.
    top_ups = [p for p in pledges if p.kind == "top_up"]
    assert [(p.parent_pledge_id, p.quantity, p.allocated_quantity) for p in top_ups] == [
        (pledges[0].id, 3, 3), (pledges[1].id, 3, 3)]
    for top_up in top_ups:
        order = load_order(top_up.order_id)
        assert (order.status, order.payment_plan, order.channel) == ("pending_payment", "card", "presale")
        assert order.lines[0].quantity == 3 and order.subtotal_fen == 3 * PRICE_A
        assert order.shipping_address == load_order(order_a if top_up.parent_pledge_id == pledges[0].id
                                                     else order_b).shipping_address
    assert campaign_row(campaign_id).pledged_quantity == sum(p.quantity for p in pledges if p.status == "active")
    events = api_as(world.owner_a).get(f"/api/v1/campaigns/{campaign_id}/events").json
    assert events[-1]["type"] == "fulfilling" and events[-1]["data"] == {
        "forfeited": 1, "units_freed": 7, "units_offered": 6, "units_released": 1}
    assert told("deposit_forfeited") == [pledges[2].buyer_id]
    assert told("top_up_offered") == sorted([pledges[0].buyer_id, pledges[1].buyer_id])
    # The buyer sees the top-up among their pledges.
    mine = client_a.get(f"/api/v1/campaigns/{campaign_id}/pledges").json
    assert [(p["kind"], p["quantity"]) for p in mine] == [("pledge", 10), ("top_up", 3)]

    # A pays the top-up; B's lapses like any unpaid order and its units are released.
    assert pay_due_part(client_a, top_ups[0].order_id) == "paid"
    set_order_expiry(top_ups[1].order_id, utcnow() - dt.timedelta(minutes=1))
    assert expire_unpaid_orders()["expired"] == 1
    assert [p.status for p in pledges_of(campaign_id)][3:] == ["active", "released"]

    # Shipped and delivered: the campaign completes.
    assert settle_campaigns() == {}
    for client, order_id in ((client_a, order_a), (client_b, order_b), (client_a, top_ups[0].order_id)):
        ship_and_deliver(world, client.get(f"/api/v1/orders/{order_id}").json)
    assert settle_campaigns() == {"completed": 1}
    assert campaign_row(campaign_id).status == "completed"
    assert settle_campaigns() == {}


def test_when_every_balance_is_paid_the_campaign_moves_on_before_the_deadline(app, world, make_buyer):
    campaign_id, pledgers = succeeded_campaign(app, world, make_buyer, [2, 2])
    assert allocate(world, campaign_id, 4).status_code == 200
    assert settle_campaigns() == {"not_due": 1}
    for client, order_id in pledgers:
        assert pay_due_part(client, order_id) == "paid"
    assert settle_campaigns() == {"fulfilling": 1}
    assert [p.status for p in pledges_of(campaign_id)] == ["active", "active"]


def test_two_workers_settling_together_forfeit_once_and_offer_once(app, world, make_buyer):
    campaign_id, pledgers = _allocated_three_of_ten_each(app, world, make_buyer)
    _deadline_passed(campaign_id)

    results = run_together([in_app_context(app, settle_campaigns) for _ in range(2)])

    assert sorted(map(str, results)) in (["{'fulfilling': 1}", "{}"],
                                         ["{'fulfilling': 1}", "{'settled_elsewhere': 1}"]), results
    pledges = pledges_of(campaign_id)
    assert [p.status for p in pledges if p.kind == "pledge"] == ["active", "active", "forfeited"]
    assert len([p for p in pledges if p.kind == "top_up"]) == 2
    assert count(Refund, Refund.order_id == pledgers[2][1]) == 1
    assert campaign_row(campaign_id).status == "fulfilling"
