"""The two operator verbs of settlements write their audit entry: a payout once (a replay and a refused payout
write none), a commission rate with the rate in force before and after."""
from __future__ import annotations

from tests.audit.helpers import assert_one_entry, entries_since, mark
from tests.settlements.helpers import close, paid
from tests.support import assert_problem, make_user


def test_a_payout_is_audited_once(clock, world, buyer, as_user):
    operator = make_user(admin=True)
    admin = as_user(operator)
    clock.to(2027, 1, 10)
    paid(buyer, world.address_id, [(world.sku_a, 1)])
    clock.to(2027, 2, 2)
    assert close(admin, "2027-01").status_code == 201
    [settlement] = admin.get(f"/api/v1/settlements?month=2027-01&supplier_id={world.supplier_a}").json["items"]
    pay = f"/api/v1/settlements/{settlement['id']}/pay"
    since = mark()
    answer = admin.post(pay, json={"payout_reference": "CMB2027020501"})
    assert answer.status_code == 200, answer.json
    entry = assert_one_entry(since, actor=operator, action="settlement.paid", target=("settlement", settlement["id"]),
                             before={"status": "closed", "payout_reference": None, "paid_at": None,
                                     "paid_by_id": None},
                             after={"status": "paid", "payout_reference": "CMB2027020501",
                                    "paid_at": entries_since(since)[0].after["paid_at"], "paid_by_id": operator.id})
    assert entry.after["paid_at"].startswith("2027-02-02")
    since = mark()
    assert admin.post(pay, json={"payout_reference": "CMB2027020501"}).status_code == 200  # a replay
    assert_problem(admin.post(pay, json={"payout_reference": "CMB2027020502"}), 409, "settlement_paid")
    assert entries_since(since) == []


def test_a_rate_change_is_audited_with_the_rate_before_and_after(clock, world, as_user):
    operator = make_user(admin=True)
    admin = as_user(operator)
    clock.to(2027, 1, 5)
    rates = f"/api/v1/suppliers/{world.supplier_a}/commission-rates"
    since = mark()
    answer = admin.post(rates, json={"bps": 800, "effective_from": "2027-01-20"})
    assert answer.status_code == 201, answer.json
    assert_one_entry(since, actor=operator, action="commission_rate.set", target=("supplier", world.supplier_a),
                     before={"effective_from": "2027-01-20", "bps": 500, "rate_id": None},
                     after={"effective_from": "2027-01-20", "bps": 800, "rate_id": answer.json["id"]})
    since = mark()
    assert_problem(admin.post(rates, json={"bps": 10001, "effective_from": "2027-01-21"}), 422)
    assert entries_since(since) == []


def test_closing_a_month_is_audited_with_what_it_froze(clock, world, buyer, as_user):
    operator = make_user(admin=True)
    admin = as_user(operator)
    clock.to(2027, 1, 10)
    paid(buyer, world.address_id, [(world.sku_a, 1), (world.sku_b, 1)])
    clock.to(2027, 2, 2)
    since = mark()
    assert close(admin, "2027-01").status_code == 201
    assert_problem(close(admin, "2027-01"), 409, "month_already_closed")
    frozen = admin.get("/api/v1/settlements?month=2027-01").json["items"]
    assert_one_entry(since, actor=operator, action="settlement_month.closed", target=("settlement_month", "2027-01"),
                     before=None, after={"settlements": len(frozen),
                                         "payable_fen": sum(s["payable_fen"] for s in frozen),
                                         "commission_fen": sum(s["commission_fen"] for s in frozen)})
