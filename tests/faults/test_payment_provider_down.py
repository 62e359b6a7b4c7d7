"""localstripe down at checkout, for real: a private localstripe (the suite's shared one keeps running) that the
test stops and starts again on the same port. The order stands with its stock held, the client is told which
order and where to pay it, the retry works once the provider is back, and if nobody retries the expiry job
cancels the order and releases its stock."""
from __future__ import annotations

import datetime as dt
import os
import signal
import time

import pytest
from sqlalchemy import select, update

from shop.extensions import db
from shop.orders.jobs import expire_unpaid_orders, reconcile_pending_payments
from shop.orders.models import Order
from shop.payments.localstripe_server import start_subprocess
from shop.payments.models import Payment
from tests.orders.factories import STOCK_A, checkout, confirm_intent, load_order, stock_of
from tests.orders.fixtures import as_user, buyer, no_smtp, stripe_base, world  # noqa: F401
from tests.support import assert_problem

UNAVAILABLE = "payment_provider_unavailable"


class PrivateStripe:
    """A localstripe of this test's own, on a fixed port so that a restart comes back where the app looks."""

    def __init__(self):
        self.proc, self.base = start_subprocess()
        self.port = int(self.base.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def start(self) -> None:
        self.proc, _ = start_subprocess(self.port)  # empty again: what it held before is gone


@pytest.fixture
def provider(app, monkeypatch):
    stripe = PrivateStripe()
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", stripe.base)
    yield stripe
    if stripe.proc.poll() is None:
        os.kill(stripe.proc.pid, signal.SIGCONT)  # in case a test left it stopped
    stripe.stop()


def payment_of(order_id: int) -> tuple:
    db.session.expire_all()
    row = db.session.execute(select(Payment.status, Payment.provider_ref, Payment.claimed_at)
                             .where(Payment.order_id == order_id)).one()
    db.session.commit()
    return tuple(row)


def expire_now(order_id: int) -> None:
    db.session.execute(update(Order).where(Order.id == order_id)
                       .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)))
    db.session.commit()


def assert_order_stands(response, world) -> dict:
    body = assert_problem(response, 503, UNAVAILABLE)
    assert response.headers["Retry-After"] == "30"
    order = load_order(body["order_id"])
    assert (order.status, order.number) == ("pending_payment", body["order_number"])
    assert body["retry"] == {"method": "POST", "href": f"/api/v1/orders/{order.id}/payment"}
    assert body["expires_at"] and order.number in body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
    db.session.commit()
    assert stock_of(world.sku_a) == STOCK_A - 2  # held for the order
    assert payment_of(order.id) == ("pending", None, None)  # no intent, and no claim left to block a retry
    return body


def test_checkout_while_the_provider_is_down_keeps_the_order_and_the_retry_pays_it(world, buyer, provider):
    provider.stop()
    body = assert_order_stands(checkout(buyer, world.address_id, [(world.sku_a, 2)], key="provider-down-1"), world)
    order_id = body["order_id"]
    assert body["expires_at"] == buyer.get(f"/api/v1/orders/{order_id}").json["expires_at"]  # the same instant
    assert_problem(buyer.post(f"/api/v1/orders/{order_id}/payment"), 503, UNAVAILABLE)  # still down
    # Reconcile asks too (a payment with no intent may be one whose intent was created but not recorded), and
    # finds the provider still down: counted, nothing changed.
    assert reconcile_pending_payments(older_than=dt.timedelta(0)) == {"provider_error": 1}
    assert payment_of(order_id) == ("pending", None, None)

    provider.start()
    retried = buyer.post(body["retry"]["href"])
    assert retried.status_code == 200, retried.get_data(as_text=True)
    assert retried.json["client_secret"] and retried.json["provider_ref"]
    replay = checkout(buyer, world.address_id, [(world.sku_a, 2)], key="provider-down-1")  # the other retry
    assert replay.status_code == 201, replay.get_data(as_text=True)
    assert (replay.json["order"]["id"], replay.json["payment"]["provider_ref"]) == (order_id,
                                                                                    retried.json["provider_ref"])

    assert confirm_intent(retried.json["provider_ref"]).status == "succeeded"
    assert reconcile_pending_payments(older_than=dt.timedelta(0)) == {"paid": 1}  # the webhook's stand-in
    assert load_order(order_id).status == "paid"
    db.session.commit()
    assert stock_of(world.sku_a) == STOCK_A - 2


def test_nobody_retries_so_the_expiry_job_cancels_the_order_and_releases_its_stock(world, buyer, provider):
    provider.stop()
    order_id = assert_order_stands(checkout(buyer, world.address_id, [(world.sku_a, 2)]), world)["order_id"]
    expire_now(order_id)
    # No intent was created, so there is nothing to close at the provider: it need not be back.
    assert expire_unpaid_orders() == {"expired": 1, "paid_meanwhile": 0, "expired_elsewhere": 0, "skipped": 0}
    assert load_order(order_id).status == "cancelled"
    db.session.commit()
    assert stock_of(world.sku_a) == STOCK_A


def test_an_order_whose_intent_is_open_waits_for_the_provider_before_it_expires(app, world, buyer, provider,
                                                                                 monkeypatch):
    """Expiring it while the provider does not answer could cancel an order whose buyer is paying right now: the
    job skips it until it can close the intent, and the reconcile job reports the failure instead of crashing.
    Down here is hung (SIGSTOP): the provider keeps its intents, as Stripe does through an outage."""
    placed = checkout(buyer, world.address_id, [(world.sku_a, 2)])
    assert placed.status_code == 201 and placed.json["payment"]["provider_ref"], placed.get_data(as_text=True)
    order_id = placed.json["order"]["id"]
    expire_now(order_id)
    db.session.execute(update(Payment).where(Payment.order_id == order_id)
                       .values(created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)))
    db.session.commit()

    monkeypatch.setitem(app.config, "STRIPE_TIMEOUT_SECONDS", 1.0)
    os.kill(provider.proc.pid, signal.SIGSTOP)
    try:
        assert reconcile_pending_payments() == {"provider_error": 1}
        assert expire_unpaid_orders()["skipped"] == 1
    finally:
        os.kill(provider.proc.pid, signal.SIGCONT)
    assert load_order(order_id).status == "pending_payment"
    db.session.commit()
    assert stock_of(world.sku_a) == STOCK_A - 2  # still held: the buyer may have paid meanwhile

    assert expire_unpaid_orders()["expired"] == 1  # back: the intent is closed first, then the stock released
    assert load_order(order_id).status == "cancelled"
    db.session.commit()
    assert stock_of(world.sku_a) == STOCK_A
    assert payment_of(order_id)[0] == "cancelled"


def test_a_provider_that_hangs_is_a_503_within_the_timeout_not_a_stuck_request(app, world, buyer, provider,
                                                                               monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_TIMEOUT_SECONDS", 1.0)
    os.kill(provider.proc.pid, signal.SIGSTOP)  # accepts connections (the kernel does), answers nothing
    try:
        started = time.monotonic()
        response = checkout(buyer, world.address_id, [(world.sku_a, 2)])
        waited = time.monotonic() - started
    finally:
        os.kill(provider.proc.pid, signal.SIGCONT)
    assert_order_stands(response, world)
    assert waited < 5, waited


def test_reconcile_stops_asking_at_the_first_provider_outage_and_asks_the_rest_next_run(world, buyer, provider):
    """During an outage every payment would wait out its timeout: one run asks once, then leaves the rest (and
    the open intents) for its next run, instead of holding the worker the expiry job needs."""
    placed = checkout(buyer, world.address_id, [(world.sku_a, 1)])
    assert placed.status_code == 201 and placed.json["payment"]["provider_ref"], placed.get_data(as_text=True)
    provider.stop()
    waiting = [assert_problem(checkout(buyer, world.address_id, [(world.sku_a, 1)]), 503, UNAVAILABLE)["order_id"]
               for _ in range(2)]

    assert reconcile_pending_payments(older_than=dt.timedelta(0)) == {"provider_error": 1}
    assert [payment_of(order_id) for order_id in waiting] == [("pending", None, None)] * 2

    provider.start()  # empty: the intent made before the outage is gone, the two without one get theirs
    outcome = reconcile_pending_payments(older_than=dt.timedelta(0))
    assert outcome.get("intent_recovered") == 2, outcome
    assert all(payment_of(order_id)[1] for order_id in waiting)
