"""Every operator action writes exactly one entry (actor, action, target, the changed fields before and after),
in the action's own unit of work: a refused action writes none."""
from __future__ import annotations

import pytest

from shop.audit.actions import ACTIONS
from shop.suppliers import services as suppliers
from tests.audit.helpers import assert_one_entry, entries_since, mark
from tests.audit.scenarios import RECORDED, REFUSED, TODAY, requested_refund, supplier_owner, transfer_order
from tests.orders.factories import api_as, make_world
from tests.payments.conftest import make_buyer, run_together  # noqa: F401  (make_buyer: a fixture)
from tests.presale.factories import DEPOSIT_A, open_campaign, paid_pledge
from tests.support import assert_problem, make_user

# Tested with the verbs that record them: tests/settlements/test_audit.py, tests/assistance/test_exports.py.
WIRED_ELSEWHERE = {"settlement.paid", "commission_rate.set", "settlement_month.closed", "supporter_office.granted",
                   "supporter_office.revoked"}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_an_operator_action_writes_one_entry_with_the_values_before_and_after(name, operator, operator_client):
    scenario = RECORDED[name](operator)
    since = mark()
    response = scenario.request(operator_client)
    assert response.status_code == scenario.status, response.get_data(as_text=True)
    target_type, target_id = scenario.target
    if scenario.extra.get("target_from_response"):
        target_id = response.json["id"]
    after = scenario.after
    if scenario.extra.get("payment_id_from_response"):
        after = {**after, "payment_id": response.json["id"]}
    entry = assert_one_entry(since, actor=operator, action=scenario.action, target=(target_type, target_id),
                             before=scenario.before, after=after)
    assert entry.request_id == response.headers["X-Request-ID"]
    assert entry.ip == "127.0.0.1"


def test_every_action_of_the_vocabulary_is_exercised_or_wired_elsewhere():
    exercised = {name.split(" ")[0] for name in RECORDED} | {"compensation.paid"}
    assert exercised | WIRED_ELSEWHERE == set(ACTIONS)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_refused_operator_action_writes_no_entry(name, operator, operator_client):
    scenario = REFUSED[name](operator)
    since = mark()
    assert_problem(scenario.request(operator_client), scenario.status, scenario.code)
    assert entries_since(since) == []


def test_paying_a_compensation_out_is_recorded_once(app, stripe_server, make_buyer, operator, operator_client):
    world = make_world()
    campaign = open_campaign(world)
    buyer = make_buyer()
    order_id = paid_pledge(buyer.client(app), campaign["id"], buyer.address_id, 2)
    cancelled = api_as(world.owner_a).post(f"/api/v1/campaigns/{campaign['id']}/cancel", json={"reason": "冰雹毁园"})
    assert cancelled.status_code == 200, cancelled.json
    [owed] = operator_client.get(f"/api/v1/campaigns/{campaign['id']}/compensations").json

    since = mark()
    paid = operator_client.post(f"/api/v1/compensations/{owed['id']}/pay", json={"reference": "CMB2026120301"})
    assert paid.status_code == 200, paid.json
    identity = {"campaign_id": campaign["id"], "order_id": order_id, "amount_fen": 2 * DEPOSIT_A}
    assert_one_entry(since, actor=operator, action="compensation.paid", target=("compensation", owed["id"]),
                     before={**identity, "status": "owed"},
                     after={**identity, "status": "paid", "reference": "CMB2026120301"})

    since = mark()
    again = operator_client.post(f"/api/v1/compensations/{owed['id']}/pay", json={"reference": "CMB2026120302"})
    assert_problem(again, 409, "compensation_paid")
    assert entries_since(since) == []


def test_a_suppliers_own_refund_decision_is_not_an_operator_action(operator):
    refund = requested_refund(operator)
    owner = supplier_owner(suppliers.get_supplier(supplier_id=refund["supplier_id"]))
    since = mark()
    response = api_as(owner).post(f"/api/v1/refunds/{refund['id']}/decision", json={"approve": False,
                                                                                         "note": "不符合"})
    assert response.status_code == 200, response.json
    assert entries_since(since) == []



def test_concurrent_operators_leave_one_entry_per_action_that_went_through(operator):
    world, order = transfer_order()
    order_id, part = order.id, order.total_fen // 3 + 1  # three of these are more than the total: two fit
    admins = [operator] + [make_user(admin=True) for _ in range(3)]
    clients = [api_as(admin) for admin in admins]
    since = mark()
    results = run_together([lambda c=c, i=i: c.post(f"/api/v1/orders/{order_id}/bank-transfers", json={
        "amount_fen": part, "value_date": TODAY, "reference": f"RACE-{i:04d}"}).status_code
        for i, c in enumerate(clients)])
    assert sorted(results) == [201, 201, 422, 422], results
    written = entries_since(since)
    assert sorted(e.actor_id for e in written) == sorted(a.id for a, r in zip(admins, results) if r == 201)
    assert {(e.action, e.target_id) for e in written} == {("bank_transfer.recorded", str(order_id))}
    assert sorted(e.after["paid_fen"] for e in written) == [part, 2 * part]  # each saw the other's transfer
