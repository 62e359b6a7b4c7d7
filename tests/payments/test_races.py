"""Never oversold: many buyers check out the last units at the same moment.

50 threads, each with its own user, Bearer token, address and test client (prepared before the threads
start), released together by a barrier, each POSTing /api/v1/checkout. A sampler thread reads the stock on a
connection of its own all along (on SQLite a plain deferred reader, which WAL lets run beside the writers) to
show it never goes below zero while the race runs, not only at the end.
"""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from shop.catalog.models import StockMovement
from shop.extensions import db
from shop.orders.models import Order, OrderLine
from tests.orders.factories import checkout, count, stock_of
from tests.payments.conftest import movements, read, run_together

THREADS = 50
JOIN_TIMEOUT = 300  # seconds: 2 shared CPU cores, 50 threads, each checkout also creates a PaymentIntent


class StockSampler:
    """Reads the SKUs' stock in a loop on its own engine (not the app's: no BEGIN IMMEDIATE, no pool)."""

    def __init__(self, sku_ids):
        self.sku_ids = list(sku_ids)
        self.samples: list[dict[int, int]] = []
        self._stop = threading.Event()
        url = db.engine.url
        args = {"timeout": 30} if url.get_backend_name() == "sqlite" else {}
        self._engine = create_engine(url, poolclass=NullPool, connect_args=args)

    def _run(self):
        ids = ", ".join(str(i) for i in self.sku_ids)
        with self._engine.connect() as conn:
            while not self._stop.is_set():
                rows = conn.execute(text(f"SELECT id, stock FROM sku WHERE id IN ({ids})")).all()
                conn.rollback()  # a fresh snapshot each time
                self.samples.append(dict(rows))
                time.sleep(0.005)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)
        self._engine.dispose()

    def minimum(self, sku_id: int) -> int:
        return min(sample[sku_id] for sample in self.samples)


@pytest.fixture
def refused_by_update(monkeypatch):
    """Counts checkouts that passed the stock check of the quote but were refused by the conditional UPDATE
    (informational: shows the race reached the UPDATE; how many do varies from run to run)."""
    from shop.catalog import stock

    refused = []
    original = stock.reserve

    def reserve(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except stock.InsufficientStock:
            refused.append(1)
            raise

    monkeypatch.setattr(stock, "reserve", reserve)
    return refused


def _race(app, make_buyer, item_lists):
    """One buyer per item list; all check out at once. Returns (responses, seconds)."""
    buyers = [make_buyer() for _ in item_lists]
    clients = [buyer.client(app) for buyer in buyers]
    targets = [lambda api=api, buyer=buyer, items=items: checkout(api, buyer.address_id, items)
               for api, buyer, items in zip(clients, buyers, item_lists)]
    started = time.monotonic()
    results = run_together(targets, timeout=JOIN_TIMEOUT)
    elapsed = time.monotonic() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    return results, elapsed


def _outcomes(results) -> Counter:
    return Counter(r.status_code for r in results)


def _sold(sku_id: int) -> int:
    return read(lambda: db.session.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0))
                                          .where(OrderLine.sku_id == sku_id)))


def _movement_total(sku_id: int) -> int:
    return read(lambda: db.session.scalar(select(func.coalesce(func.sum(StockMovement.delta), 0))
                                          .where(StockMovement.sku_id == sku_id)))


def test_fifty_buyers_for_ten_units_sell_exactly_ten(app, stripe_server, make_catalog, make_buyer, record_property,
                                                     refused_by_update):
    catalog = make_catalog(stocks=[10])
    sku = catalog.sku_ids[0]

    with StockSampler([sku]) as sampler:
        results, elapsed = _race(app, make_buyer, [[(sku, 1)]] * THREADS)
    record_property("race_seconds", round(elapsed, 2))
    print(f"\n50-thread single-SKU race: {elapsed:.2f} s, {len(refused_by_update)} refused by the UPDATE itself")

    assert _outcomes(results) == {201: 10, 409: 40}, [r.json for r in results if r.status_code not in (201, 409)]
    assert {r.json["code"] for r in results if r.status_code == 409} == {"insufficient_stock"}
    created = [r.json for r in results if r.status_code == 201]
    assert len({body["order"]["id"] for body in created}) == 10
    assert all(body["payment"]["provider_ref"] for body in created), [b["payment_error"] for b in created]
    assert stock_of(sku) == 0
    assert sampler.samples and sampler.minimum(sku) >= 0
    assert movements(sku, "order_reserved") == 10
    assert _movement_total(sku) == -10
    assert count(Order) == 10
    assert _sold(sku) == 10


def test_two_skus_in_opposite_orders_do_not_deadlock_or_oversell(app, stripe_server, make_catalog, make_buyer,
                                                                 record_property, refused_by_update):
    catalog = make_catalog(stocks=[10, 15])
    a, b = catalog.sku_ids
    initial = {a: 10, b: 15}
    item_lists = [[(a, 1), (b, 1)] if i % 2 == 0 else [(b, 1), (a, 1)] for i in range(THREADS)]

    with StockSampler([a, b]) as sampler:
        results, elapsed = _race(app, make_buyer, item_lists)
    record_property("race_seconds", round(elapsed, 2))
    print(f"\n50-thread two-SKU opposite-order race: {elapsed:.2f} s, "
          f"{len(refused_by_update)} refused by the UPDATE itself")

    outcomes = _outcomes(results)
    assert set(outcomes) <= {201, 409}, [r.json for r in results if r.status_code not in (201, 409)]
    assert {r.json["code"] for r in results if r.status_code == 409} == {"insufficient_stock"}
    assert outcomes[201] == 10  # every order takes one of A, of which there are 10
    for sku in (a, b):
        remaining = stock_of(sku)
        assert remaining >= 0 and sampler.minimum(sku) >= 0
        assert _sold(sku) == initial[sku] - remaining
        assert _movement_total(sku) == remaining - initial[sku]
        assert movements(sku, "order_reserved") == outcomes[201]
    assert (stock_of(a), stock_of(b)) == (0, 5)


@pytest.mark.parametrize("quantity", [3])
def test_larger_quantities_never_oversell(app, stripe_server, make_catalog, make_buyer, quantity):
    """Buyers asking 3 each for 10 units: three orders fit, the last unit stays (no partial reservation)."""
    catalog = make_catalog(stocks=[10])
    sku = catalog.sku_ids[0]
    results, _ = _race(app, make_buyer, [[(sku, quantity)]] * 12)
    assert _outcomes(results) == {201: 3, 409: 9}
    assert stock_of(sku) == 1
    assert _sold(sku) == 9


def test_the_same_checkout_replayed_concurrently_makes_one_order_and_one_intent(app, stripe_server, sc,
                                                                                make_catalog, make_buyer):
    """A client retrying POST /checkout with one Idempotency-Key from 5 connections at once: one order, one
    reservation, one PaymentIntent at Stripe (localstripe ignores idempotency keys: a second create would
    show), every response naming it."""
    catalog = make_catalog(stocks=[10])
    sku = catalog.sku_ids[0]
    buyer = make_buyer()
    clients = [buyer.client(app) for _ in range(5)]

    results = run_together([lambda api=api: checkout(api, buyer.address_id, [(sku, 2)], key="retry-me")
                            for api in clients], timeout=JOIN_TIMEOUT)

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert [r.status_code for r in results] == [201] * 5, [r.json for r in results]
    assert len({r.json["order"]["id"] for r in results}) == 1
    refs = {r.json["payment"]["provider_ref"] for r in results}
    assert len(refs) == 1 and None not in refs, [r.json["payment_error"] for r in results]
    order_id = results[0].json["order"]["id"]
    intents = [pi for pi in sc.v1.payment_intents.list(params={"limit": 100}).data
               if pi.to_dict().get("metadata", {}).get("order_id") == str(order_id)]
    assert [pi.id for pi in intents] == list(refs)
    assert count(Order) == 1
    assert stock_of(sku) == 8 and movements(sku, "order_reserved") == 1
