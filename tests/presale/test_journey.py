"""The issue's whole loop, through the API and the jobs as they run in production: a 巫山 cooperative's 巫山脆李
campaign; shoppers and a 广东 canteen (on terms) pledge; two 巫山 cooperatives commit supply; the campaign
succeeds; the harvest falls short and is shared institutions first; the unallotted deposits go back at
localstripe; balances are paid, one is not (its 定金 forfeited and its units offered as top-ups); every order
ships and is delivered; the cooperatives' deliveries are recorded; the campaign completes. Each order's money
adds up to the fen at the end."""
from __future__ import annotations

from shop.presale.balances import settle_campaigns
from shop.presale.closing import close_due_campaigns
from shop.presale import events as campaign_events
from shop.presale.models import CAMPAIGN_STATUSES
from tests.orders.factories import PRICE_A, api_as, load_order, ship_and_deliver
from tests.orders.invariants import assert_exact
from tests.presale.factories import (DEPOSIT_A, allocate, campaign_row, commit_supply, end_window, make_cooperative,
                                     make_org_pledger, make_pledger, open_campaign, paid_pledge, pay_due_part,
                                     pledge, pledges_of, refunded_at_provider, set_campaign, told)
from tests.procurement.factories import invoice_of, pay_by_transfer

GUANGDONG = "440000"  # 广东 supports 巫山 (support_pairs.csv)
JOURNEY = ["draft", "open", "closed", "succeeded", "allocated", "fulfilling", "completed"]
# (who, region, units): shoppers from 江苏, 浙江 and 重庆 pay a 定金 by card; the canteen pledges on terms.
PLEDGES = [("a", "320102", 8), ("canteen", GUANGDONG, 12), ("b", "330100", 6), ("c", "500101", 4)]
HARVEST = 22
# institutions_first (shop/presale/allocation.py): the canteen's 12 first, then 10 pro rata among 8, 6 and 4 in
# whole units by largest remainder (4.44, 3.33, 2.22 → 4, 3, 2, and the one left to the largest remainder).
ALLOTTED = {"a": 5, "canteen": 12, "b": 3, "c": 2}


def _ship(world, client, order_id: int) -> None:
    ship_and_deliver(world, client.get(f"/api/v1/orders/{order_id}").json)


def test_a_wushan_plum_campaign_from_pledges_to_delivered_orders(world):
    lead = api_as(world.owner_a)
    campaign = open_campaign(world, title="巫山脆李 2027 预售", minimum_quantity=20, capacity=60, per_buyer_limit=20,
                             allocation_policy="institutions_first")
    campaign_id = campaign["id"]

    # Demand: three shoppers pay their 定金 by card; the canteen pledges on its net-30 terms; a fourth shopper
    # never pays and is dropped at the close.
    clients, orders = {}, {}
    for who, region, units in PLEDGES:
        if who == "canteen":
            client, address_id, organization_id = make_org_pledger(
                GUANGDONG, terms="net_30", kind="enterprise_canteen", name="广东某企业职工食堂（测试）")
            response = pledge(client, campaign_id, address_id, units, organization_id=organization_id,
                              payment="terms")
            assert response.status_code == 201, response.json
            order_id = response.json["order"]["id"]
        else:
            client, address_id = make_pledger(region)
            order_id = paid_pledge(client, campaign_id, address_id, units)  # paid at localstripe
        clients[who], orders[who] = client, order_id
    dropped_client, dropped_address = make_pledger("500101")
    assert pledge(dropped_client, campaign_id, dropped_address, 3).status_code == 201

    # Supply: the lead cooperative and a second 巫山 cooperative commit before the window ends.
    partner_owner, partner = make_cooperative(world)
    commitments = {}
    for owner, supplier_id, units in ((world.owner_a, world.supplier_a, 16), (partner_owner, partner, 10)):
        response = commit_supply(api_as(owner), campaign_id, supplier_id, units)
        assert response.status_code == 200, response.json
        commitments[supplier_id] = response.json["id"]
    plan = lead.get(f"/api/v1/campaigns/{campaign_id}/plan").json
    assert plan["totals"]["committed"] == 26
    assert {row["kind"]: row["quantity"] for row in plan["demand_by_kind"]} == {"institution": 12, "shopper": 21}
    assert {row["region_code"]: row["quantity"] for row in plan["demand_by_region"]}[GUANGDONG] == 12

    # The window ends; the close job drops the unpaid pledge and the campaign succeeds on 30 units.
    end_window(campaign_id)
    assert close_due_campaigns() == {"succeeded": 1}
    assert campaign_row(campaign_id).pledged_quantity == 30
    assert len(told("campaign_succeeded")) == len(PLEDGES) + 1  # every pledger left, and the lead's owner

    # The harvest falls short: 22 of 30, shared institutions first; unallotted 定金 go back at localstripe.
    response = allocate(world, campaign_id, HARVEST)
    assert response.status_code == 200, response.json
    rows = {row["order_id"]: row for row in response.json["pledges"]}
    for who, _, units in PLEDGES:
        row, order = rows[orders[who]], load_order(orders[who])
        assert row["allocated"] == ALLOTTED[who] == order.lines[0].quantity
        if who == "canteen":  # on terms: nothing to refund, invoiced for the units allotted
            assert row["refund_fen"] == 0 and invoice_of(order).amount_fen == order.total_fen
        else:
            assert row["refund_fen"] == (units - ALLOTTED[who]) * DEPOSIT_A == refunded_at_provider(order.id)
            assert row["balance_fen"] == order.total_fen - ALLOTTED[who] * DEPOSIT_A == order.due_fen

    # Balances: a and b pay by card; c does not, and after the deadline forfeits its 定金 of 2 units, which are
    # offered to a and b (short 3 each) as top-ups; both pay theirs.
    for who in ("a", "b"):
        assert pay_due_part(clients[who], orders[who]) == "paid"
    set_campaign(campaign_id, balance_due_at=campaign_row(campaign_id).allocated_at)
    assert settle_campaigns() == {"fulfilling": 1}
    forfeited = load_order(orders["c"])
    assert forfeited.status == "cancelled" and forfeited.net_paid_fen == 2 * DEPOSIT_A
    top_ups = [p for p in pledges_of(campaign_id) if p.kind == "top_up"]
    assert sorted(p.quantity for p in top_ups) == [1, 1]
    by_order = {pledge_.order_id: pledge_ for pledge_ in pledges_of(campaign_id)}
    for top_up in top_ups:
        who = next(w for w in ("a", "b") if by_order[orders[w]].id == top_up.parent_pledge_id)
        assert pay_due_part(clients[who], top_up.order_id) == "paid"
        orders[f"{who} top-up"], clients[f"{who} top-up"] = top_up.order_id, clients[who]

    # Every live order ships and is delivered; the lead records what each cooperative delivered.
    for who in ("a", "b", "canteen", "a top-up", "b top-up"):
        _ship(world, clients[who], orders[who])
    for supplier_id, units in ((world.supplier_a, 14), (partner, 8)):
        response = lead.post(f"/api/v1/campaigns/{campaign_id}/supply/{commitments[supplier_id]}/delivery",
                             json={"delivered_quantity": units})
        assert response.status_code == 200, response.json
    canteen = pay_by_transfer(load_order(orders["canteen"]))  # its invoice, paid by bank transfer
    assert canteen.paid_fen == canteen.total_fen == 12 * PRICE_A + canteen.shipping_fen

    assert settle_campaigns() == {"completed": 1}
    events = lead.get(f"/api/v1/campaigns/{campaign_id}/events").json
    assert [event["to_status"] for event in events if event.get("to_status")] == JOURNEY
    assert {event["type"] for event in events} <= set(campaign_events.EVENT_TYPES) | set(CAMPAIGN_STATUSES)
    # What reached the buyers is the harvest; each order's money adds up.
    delivered = []
    for who in ("a", "b", "canteen", "a top-up", "b top-up"):
        order = load_order(orders[who])
        delivered.append((order.lines[0].quantity, order.status, order.due_fen))
    assert sum(units for units, _, _ in delivered) == HARVEST
    assert {(status, due) for _, status, due in delivered} == {("delivered", 0)}
    for order_id in orders.values():
        assert_exact(order_id)
    supply = lead.get(f"/api/v1/campaigns/{campaign_id}/supply").json
    assert sorted((row["quantity"], row["delivered_quantity"]) for row in supply) == [(10, 8), (16, 14)]
