"""Public campaign results: per campaign anyone may see (no drafts, no suspended ones) what was pledged,
allotted by the harvest, delivered by the cooperatives and paid (the pledges' orders, net of refunds); keyset
pages read the same number of statements whatever their size."""
from __future__ import annotations

from sqlalchemy import select

from shop.extensions import db
from shop.orders.models import Order
from shop.presale.closing import close_due_campaigns
from shop.presale.models import Pledge
from tests.assistance.helpers import query
from tests.orders.factories import PRICE_A, api_as
from tests.presale.factories import (allocate, campaign_row, commit_supply, create_draft, end_window,
                                     make_cooperative, open_campaign, paid_pledge)
from tests.support import assert_problem, count_statements

RESULTS = "/api/v1/assistance/campaigns"


def _paid(campaign_id: int) -> int:
    value = db.session.scalar(select(db.func.sum(Order.paid_fen - Order.refunded_fen))
                              .join(Pledge, Pledge.order_id == Order.id).where(Pledge.campaign_id == campaign_id))
    db.session.commit()
    return int(value)


def test_results_of_a_harvested_campaign(app, world, make_buyer, client, admin):
    campaign = open_campaign(world, minimum_quantity=5, capacity=20)
    owner_c, cooperative = make_cooperative(world)
    commitment = commit_supply(api_as(owner_c), campaign["id"], cooperative, 12).json
    for quantity in (10, 4):
        buyer = make_buyer()
        paid_pledge(buyer.client(app), campaign["id"], buyer.address_id, quantity)
    end_window(campaign["id"])
    assert close_due_campaigns() == {"succeeded": 1}
    assert allocate(world, campaign["id"], 7).status_code == 200
    delivery = api_as(world.owner_a).post(f"/api/v1/campaigns/{campaign['id']}/supply/{commitment['id']}/delivery",
                                          json={"delivered_quantity": 6})
    assert delivery.status_code == 200, delivery.json
    draft = create_draft(world)
    suspended = open_campaign(world)
    assert admin.post(f"/api/v1/campaigns/{suspended['id']}/suspend", json={"reason": "核查"}).status_code == 200

    items = client.get(RESULTS).json["items"]
    assert draft["id"] not in [i["id"] for i in items] and suspended["id"] not in [i["id"] for i in items]
    [result] = items
    row = campaign_row(campaign["id"])
    assert result == {
        "id": campaign["id"], "title": campaign["title"], "status": "allocated", "supplier_id": world.supplier_a,
        "district_code": "500237", "minimum_quantity": 5, "capacity": 20,
        "pledged_quantity": row.pledged_quantity, "allocated_quantity": 7, "delivered_quantity": 6,
        "pledged_fen": row.pledged_quantity * PRICE_A, "paid_fen": _paid(campaign["id"]),
        "opens_at": result["opens_at"], "closes_at": result["closes_at"]}
    assert result["paid_fen"] > 0
    assert client.get(query(RESULTS, status="allocated")).json["items"] == items
    assert client.get(query(RESULTS, status="open")).json["items"] == []


def test_pages_read_the_same_statements_whatever_their_size(world, client):
    ids = [open_campaign(world)["id"] for _ in range(4)]
    small, page = count_statements(lambda: client.get(query(RESULTS, limit=1)))
    large, full = count_statements(lambda: client.get(query(RESULTS, limit=100)))
    assert [i["id"] for i in full.json["items"]] == sorted(ids, reverse=True)
    assert small == large
    second = client.get(query(RESULTS, limit=1, cursor=page.json["next_cursor"])).json["items"]
    assert [i["id"] for i in second] == [sorted(ids, reverse=True)[1]]


def test_bad_arguments(client):
    for params, field in (({"status": "draft"}, "status"), ({"status": "suspended"}, "status"),
                          ({"limit": "0"}, "limit"), ({"limit": "2.5"}, "limit"), ({"cursor": "x" * 201}, "cursor"),
                          ({"supplier_id": "1"}, "supplier_id")):
        assert field in assert_problem(client.get(query(RESULTS, **params)), 422)["errors"]
    assert_problem(client.get(query(RESULTS, cursor="bm90LWEtY3Vyc29y")), 422, "invalid_cursor")
