"""For every month: money received − refunds sent − compensations paid == Σ payable + Σ commission, to the fen,
over random orders of two suppliers with partial refunds (some refused by the provider), shipping, a rate
change mid-month, a forfeited 定金 and a compensation payout; months closed on the way."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from shop.database import utcnow
from shop.presale.balances import settle_campaigns
from tests.orders.factories import api_as, load_order
from tests.presale.factories import (DEPOSIT_A, allocate, open_campaign, paid_pledge, pay_due_part, set_campaign,
                                     succeeded_campaign)
from tests.settlements.helpers import (assert_ledger_exact, assert_reconciles, close, figures, operator_refund,
                                       paid)

MONTHS = ("2027-01", "2027-02", "2027-03")


def _random_orders(rng, world, buyer, count):
    orders = []
    for _ in range(count):
        items = [(sku, rng.randint(1, 3)) for sku in rng.sample([world.sku_a, world.sku_b], rng.randint(1, 2))]
        orders.append(paid(buyer, world.address_id, items))
    return orders


def _random_refunds(rng, admin, orders, count):
    for order in rng.sample(orders, min(count, len(orders))):
        held = load_order(order["id"]).net_paid_fen
        if held > 1:
            assert operator_refund(admin, order["id"], rng.randint(1, held - 1))["status"] == "succeeded"


@pytest.mark.parametrize("seed", [11, 2027])
def test_every_month_reconciles_to_the_fen(app, clock, world, buyer, admin, make_buyer, monkeypatch, seed):
    rng = random.Random(seed)
    clock.to(2027, 1, 5)
    assert admin.post(f"/api/v1/suppliers/{world.supplier_a}/commission-rates",
                      json={"bps": 1234, "effective_from": "2027-01-20"}).status_code == 201
    january = _random_orders(rng, world, buyer, 3)
    _random_refunds(rng, admin, january, 2)
    # A refund the provider refuses counts when it is reserved and is given back when refused: nothing is left.
    with monkeypatch.context() as patch:
        patch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")
        assert operator_refund(admin, january[0]["id"], 100)["status"] == "failed"
    # A forfeited 定金: the pledge that never pays its balance leaves its deposit with the supplier.
    campaign_id, pledgers = succeeded_campaign(app, world, make_buyer, [2, 2])
    assert allocate(world, campaign_id, 4).status_code == 200
    assert pay_due_part(*pledgers[0]) == "paid"
    clock.to(2027, 1, 25)  # at the new rate
    january += _random_orders(rng, world, buyer, 2) + [paid(buyer, world.address_id, [(world.sku_a, 1)])]
    set_campaign(campaign_id, balance_due_at=utcnow() - dt.timedelta(minutes=1))
    assert settle_campaigns()["fulfilling"] == 1
    forfeited = load_order(pledgers[1][1])
    assert forfeited.status == "cancelled" and forfeited.net_paid_fen == 2 * DEPOSIT_A

    clock.to(2027, 2, 2)
    assert close(admin, "2027-01").status_code == 201
    _random_refunds(rng, admin, january, 2)  # refunds of January's orders, in February
    # A supplier's default: the campaign it cancels owes each paid 定金 once more, which it bears when paid out.
    cancelled = open_campaign(world)
    pledger = make_buyer()
    paid_pledge(pledger.client(app), cancelled["id"], pledger.address_id, 3)
    assert api_as(world.owner_a).post(f"/api/v1/campaigns/{cancelled['id']}/cancel",
                                      json={"reason": "冰雹毁园"}).status_code == 200
    [owed] = api_as(world.owner_a).get(f"/api/v1/campaigns/{cancelled['id']}/compensations").json
    assert admin.post(f"/api/v1/compensations/{owed['id']}/pay", json={"reference": "CMB2027020201"}
                      ).status_code == 200
    february = _random_orders(rng, world, buyer, 2)

    clock.to(2027, 3, 3)
    assert close(admin, "2027-02").status_code == 201
    _random_refunds(rng, admin, february + january, 2)
    _random_orders(rng, world, buyer, 1)

    for month in MONTHS:
        assert_reconciles(month)
    assert_ledger_exact()
    feb_a = figures("2027-02")[world.supplier_a]
    assert feb_a.compensation_fen == 3 * DEPOSIT_A
    # Every closed settlement still says what the ledger says of its month: nothing later moved it.
    for month in MONTHS[:2]:
        stored = {s["supplier_id"]: s for s in admin.get(f"/api/v1/settlements?month={month}").json["items"]}
        live = figures(month)
        assert set(stored) == set(live)
        for supplier_id, settlement in stored.items():
            assert (settlement["payable_fen"], settlement["commission_fen"]) == (
                live[supplier_id].payable_fen, live[supplier_id].commission_fen)
    # January's supplier A was charged at two rates: the default before the 20th, 1234 bps from it.
    jan_a = admin.get(f"/api/v1/settlements/{stored_id(admin, world.supplier_a, '2027-01')}").json
    assert sorted(c["bps"] for c in jan_a["commissions"]) == [500, 1234]


def stored_id(client, supplier_id: int, month: str) -> int:
    [item] = client.get(f"/api/v1/settlements?month={month}&supplier_id={supplier_id}").json["items"]
    return item["id"]
