"""Supply commitments: cooperatives of the lead supplier's district commit quantities per grade while the
campaign is a draft or open; replacing keeps the previous quantity in the history; deliveries once it succeeded;
partners and admins see them, nobody else."""
from __future__ import annotations

import pytest

from shop.presale.models import SupplyCommitment
from tests.orders.factories import anonymous, api_as, count
from tests.presale.factories import commit_supply, create_draft, make_cooperative, open_campaign, set_campaign
from tests.support import assert_problem, make_user


@pytest.fixture
def neighbour(world):
    """A second approved cooperative of supplier A's district."""
    return make_cooperative(world)


def _supply(client, campaign_id):
    response = client.get(f"/api/v1/campaigns/{campaign_id}/supply")
    assert response.status_code == 200, response.json
    return response.json


def test_two_cooperatives_of_the_district_commit_and_both_see_all(world, neighbour):
    campaign = open_campaign(world)
    owner_n, supplier_n = neighbour
    lead, other = api_as(world.owner_a), api_as(owner_n)
    first = commit_supply(lead, campaign["id"], world.supplier_a, 40, grade="特级果")
    second = commit_supply(other, campaign["id"], supplier_n, 25, grade="一级果", note="曲尺乡")
    assert first.status_code == 200 and second.status_code == 200, (first.json, second.json)
    expected = {(world.supplier_a, "特级果", 40), (supplier_n, "一级果", 25)}
    for client in (lead, other, api_as(make_user(admin=True))):
        assert {(c["supplier_id"], c["grade"], c["quantity"]) for c in _supply(client, campaign["id"])} == expected


def test_a_supplier_of_another_district_is_refused(world):
    campaign = open_campaign(world)
    response = commit_supply(api_as(world.owner_b), campaign["id"], world.supplier_b, 10)
    body = assert_problem(response, 422, "other_district")
    assert "supplier_id" in body["errors"]
    assert count(SupplyCommitment) == 0


def test_a_manager_commits_only_for_their_own_cooperative(world, neighbour):
    campaign = open_campaign(world)
    _, supplier_n = neighbour
    assert_problem(commit_supply(api_as(world.owner_a), campaign["id"], supplier_n, 10), 404)
    assert count(SupplyCommitment) == 0


def test_strangers_see_nothing(world, neighbour):
    campaign = open_campaign(world)
    commit_supply(api_as(world.owner_a), campaign["id"], world.supplier_a, 10)
    url = f"/api/v1/campaigns/{campaign['id']}/supply"
    for client in (api_as(world.buyer), api_as(world.owner_b), api_as(neighbour[0])):
        assert_problem(client.get(url), 404)
        assert_problem(client.get(f"/api/v1/campaigns/{campaign['id']}/plan"), 404)
    assert_problem(anonymous().get(url), 401)


def test_committing_after_the_close_is_refused(world, neighbour):
    campaign = open_campaign(world)
    commitment = commit_supply(api_as(world.owner_a), campaign["id"], world.supplier_a, 10).json
    set_campaign(campaign["id"], status="closed")
    assert_problem(commit_supply(api_as(neighbour[0]), campaign["id"], neighbour[1], 5), 409, "supply_closed")
    assert_problem(commit_supply(api_as(world.owner_a), campaign["id"], world.supplier_a, 50), 409,
                   "supply_closed")
    assert_problem(api_as(world.owner_a).delete(f"/api/v1/campaigns/{campaign['id']}/supply/{commitment['id']}"),
                   409, "supply_closed")
    assert [(c["id"], c["quantity"]) for c in _supply(api_as(world.owner_a), campaign["id"])] == [
        (commitment["id"], 10)]


def test_the_lead_supplier_commits_to_its_draft(world):
    draft = create_draft(world)
    response = commit_supply(api_as(world.owner_a), draft["id"], world.supplier_a, 30)
    assert response.status_code == 200, response.json
    # Another district's manager does not even see the draft.
    assert_problem(commit_supply(api_as(world.owner_b), draft["id"], world.supplier_b, 30), 404)


def test_replacing_a_commitment_records_the_previous_quantity(world):
    campaign = open_campaign(world)
    lead = api_as(world.owner_a)
    first = commit_supply(lead, campaign["id"], world.supplier_a, 30, grade="特级果").json
    again = commit_supply(lead, campaign["id"], world.supplier_a, 45, grade="特级果").json
    assert again["id"] == first["id"] and again["quantity"] == 45
    assert len(_supply(lead, campaign["id"])) == 1
    events = [e for e in lead.get(f"/api/v1/campaigns/{campaign['id']}/events").json
              if e["type"] == "supply_committed"]
    assert [(e["data"]["quantity"], e["data"]["previous_quantity"]) for e in events] == [(30, None), (45, 30)]


def test_a_commitment_is_withdrawn_while_open(world, neighbour):
    campaign = open_campaign(world)
    owner_n, supplier_n = neighbour
    commitment = commit_supply(api_as(owner_n), campaign["id"], supplier_n, 12).json
    url = f"/api/v1/campaigns/{campaign['id']}/supply/{commitment['id']}"
    assert_problem(api_as(world.owner_b).delete(url), 404)
    assert api_as(owner_n).delete(url).status_code == 204
    assert _supply(api_as(world.owner_a), campaign["id"]) == []
    assert_problem(api_as(owner_n).delete(url), 404)
    events = api_as(world.owner_a).get(f"/api/v1/campaigns/{campaign['id']}/events").json
    assert events[-1]["type"] == "supply_withdrawn" and events[-1]["data"]["previous_quantity"] == 12


def test_deliveries_once_the_campaign_succeeded(world, neighbour):
    campaign = open_campaign(world)
    owner_n, supplier_n = neighbour
    commitment = commit_supply(api_as(owner_n), campaign["id"], supplier_n, 20).json
    url = f"/api/v1/campaigns/{campaign['id']}/supply/{commitment['id']}/delivery"
    lead = api_as(world.owner_a)
    assert_problem(lead.post(url, json={"delivered_quantity": 5}), 409, "delivery_not_due")
    set_campaign(campaign["id"], status="succeeded")
    assert_problem(api_as(owner_n).post(url, json={"delivered_quantity": 5}), 404)  # the lead supplier records
    assert_problem(lead.post(url, json={"delivered_quantity": -1}), 422, "validation_error")
    response = lead.post(url, json={"delivered_quantity": 23})  # more than committed: recorded as it happened
    assert response.status_code == 200, response.json
    assert (response.json["quantity"], response.json["delivered_quantity"]) == (20, 23)
    event = lead.get(f"/api/v1/campaigns/{campaign['id']}/events").json[-1]
    assert (event["type"], event["data"]["over_commitment"]) == ("supply_delivered", 3)


@pytest.mark.parametrize("body", [
    {"quantity": 0}, {"quantity": -1}, {"quantity": 2.5}, {"quantity": "x"}, {"quantity": 10**12},
    {"quantity": None}, {"quantity": 5, "unknown": 1}, {"quantity": 5, "grade": "特" * 21},
    {"quantity": 5, "supplier_id": "1"},
])
def test_bad_input_is_refused_and_changes_nothing(world, body):
    campaign = open_campaign(world)
    response = api_as(world.owner_a).post(f"/api/v1/campaigns/{campaign['id']}/supply",
                                          json={"supplier_id": world.supplier_a, **body})
    assert_problem(response, 422, "validation_error")
    assert count(SupplyCommitment) == 0


def test_concurrent_commitments_of_one_grade_leave_one_row_and_a_history_that_chains(app, world):
    """Six requests of the same cooperative and grade at once: one row, each accepted change in the history with
    the quantity it replaced, and the row holding the last of them."""
    from shop.extensions import db
    from tests.payments.conftest import run_together

    campaign = open_campaign(world)
    clients = [api_as(world.owner_a) for _ in range(6)]  # one each: test clients are not thread-safe

    def attempt(client, quantity):
        def run():
            with app.app_context():
                try:
                    return commit_supply(client, campaign["id"], world.supplier_a, quantity, grade="特级果")
                finally:
                    db.session.remove()
        return run

    results = run_together([attempt(client, q) for client, q in zip(clients, range(10, 16))])
    statuses = [getattr(r, "status_code", repr(r)) for r in results]
    assert set(statuses) <= {200, 409}, statuses
    assert all(r.json["code"] == "supply_changed" for r in results if r.status_code == 409)
    rows = _supply(api_as(world.owner_a), campaign["id"])
    events = [e["data"] for e in api_as(world.owner_a).get(f"/api/v1/campaigns/{campaign['id']}/events").json
              if e["type"] == "supply_committed"]
    assert len(rows) == 1 and len(events) == statuses.count(200) >= 1
    assert [e["previous_quantity"] for e in events] == [None] + [e["quantity"] for e in events[:-1]]
    assert rows[0]["quantity"] == events[-1]["quantity"]
