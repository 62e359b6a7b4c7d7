"""Months are Asia/Shanghai calendar months; a closed month is frozen and a later refund lands in the month it
happens; commission follows the rate of each money move's day."""
from __future__ import annotations

from tests.orders.factories import PRICE_A, load_order
from tests.settlements.helpers import (assert_ledger_exact, assert_reconciles, close, figures, operator_refund,
                                       paid, settlement_of)
from tests.support import assert_problem


def _half_up(base: int, bps: int) -> int:
    """The documented rule, for positive bases: round half up to the fen."""
    return (base * bps + 5_000) // 10_000


def test_an_order_paid_before_midnight_in_shanghai_counts_in_that_month(clock, world, buyer, admin):
    clock.to(2027, 1, 31, 23, 50)  # 15:50 UTC: still January in Shanghai
    january = paid(buyer, world.address_id, [(world.sku_a, 1)])
    clock.to(2027, 2, 1, 0, 10)  # 16:10 UTC on 31 January: February in Shanghai
    february = paid(buyer, world.address_id, [(world.sku_a, 2)])

    jan, feb = figures("2027-01")[world.supplier_a], figures("2027-02")[world.supplier_a]
    assert (jan.sales_fen, feb.sales_fen) == (PRICE_A, 2 * PRICE_A)
    assert jan.shipping_fen == load_order(january["id"]).fulfillments[0].shipping_fen
    assert feb.shipping_fen == load_order(february["id"]).fulfillments[0].shipping_fen
    assert jan.commission_fen == _half_up(PRICE_A, 500)  # the default rate
    assert jan.payable_fen == PRICE_A + jan.shipping_fen - jan.commission_fen
    shown = settlement_of(admin, world.supplier_a, "2027-01")
    assert (shown["id"], shown["status"], shown["sales_fen"], shown["payable_fen"]) == (
        None, "open", PRICE_A, jan.payable_fen)
    for month in ("2027-01", "2027-02"):
        assert_reconciles(month)


def test_a_refund_after_the_close_lands_in_the_next_month_and_the_closed_settlement_stays(clock, world, buyer,
                                                                                           admin):
    clock.to(2027, 1, 10)
    order = paid(buyer, world.address_id, [(world.sku_a, 2), (world.sku_b, 1)])
    clock.to(2027, 2, 3)
    closed = close(admin, "2027-01")
    assert closed.status_code == 201, closed.json
    assert closed.json["settlements"] == 2  # both suppliers sold in January
    settlements = admin.get("/api/v1/settlements?month=2027-01").json["items"]
    frozen = {s["supplier_id"]: s for s in settlements}
    a = admin.get(f"/api/v1/settlements/{frozen[world.supplier_a]['id']}").json
    assert (a["status"], a["sales_fen"], a["refunds_fen"]) == ("closed", 2 * PRICE_A, 0)
    assert [(c["rate_id"], c["bps"], c["base_fen"]) for c in a["commissions"]] == [(None, 500, 2 * PRICE_A)]

    refund = operator_refund(admin, order["id"], 3000)
    assert refund["status"] == "succeeded", refund

    assert admin.get(f"/api/v1/settlements/{a['id']}").json == a  # frozen
    assert settlement_of(admin, world.supplier_a, "2027-01") == a
    feb = figures("2027-02")
    assert set(feb) == {world.supplier_a, world.supplier_b}
    assert sum(f.refunds_fen + f.shipping_refunds_fen for f in feb.values()) == 3000
    assert all(f.sales_fen == 0 and f.refunds_fen > 0 and f.commission_fen < 0 for f in feb.values())
    assert all(f.payable_fen < 0 for f in feb.values())  # a month of refunds only: the supplier owes
    for month in ("2027-01", "2027-02"):
        assert_reconciles(month)
    assert_ledger_exact()
    # A second close changes nothing.
    assert_problem(close(admin, "2027-01"), 409, "month_already_closed")
    assert admin.get(f"/api/v1/settlements/{a['id']}").json == a
