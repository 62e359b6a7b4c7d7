"""A gunicorn worker killed in the middle of checkouts (SIGKILL: no cleanup, no answer). Checkout writes the
order, its lines and its stock reservation in one transaction, then the payment row, then claims it, asks
localstripe for the PaymentIntent and records it: a kill can fall between any two of those. Whatever it hits,
no order lacks its reservation and no reservation its order, every PaymentIntent names a payment row, and the
reconcile job records (or closes) an intent the dead worker never recorded."""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter

import pytest
import requests
from sqlalchemy import select, update

from shop.accounts.services import create_token
from shop.extensions import db
from shop.orders.jobs import expire_unpaid_orders, reconcile_pending_payments
from shop.orders.models import Order
from shop.payments.models import Payment
from tests.faults.consistency import assert_every_intent_has_its_payment, assert_orders_consistent, stock_levels
from tests.orders.factories import confirm_intent, load_order
from tests.served import app_env, gunicorn

HOOK = __file__.replace("test_worker_killed.py", "kill_after_intent.py")
RECONCILE_NOW = dt.timedelta(0)  # the server is stopped: every claim left is a dead worker's


@pytest.fixture
def shop(app, world, tmp_path):
    """(the world, a Bearer header of its buyer, the stock before any checkout)."""
    _, token = create_token(user=world.buyer, name="faults")
    return world, {"Authorization": f"Bearer {token}"}, stock_levels()


@pytest.fixture(scope="module")
def server(app, localstripe_base, tmp_path_factory):
    """One gunicorn for the module (-w 2, gthread), its workers armed with the kill hook; each test's data is
    its own (the suite's per-test database and localstripe reset)."""
    directory = tmp_path_factory.mktemp("killed")
    flag = directory / "kill"
    env = app_env(app.config["SQLALCHEMY_DATABASE_URI"], localstripe_base, KILL_AFTER_INTENT_FLAG=str(flag))
    with gunicorn(directory, env, workers=2, config=HOOK) as served:
        served.kill_flag = flag
        yield served


def checkout(base: str, headers: dict, world, sku_id: int) -> requests.Response:
    return requests.post(f"{base}/api/v1/checkout", headers=headers, timeout=60,
                         json={"address_id": world.address_id, "items": [{"sku_id": sku_id, "quantity": 1}]})


def test_a_worker_killed_between_the_intent_and_its_commit_leaves_an_intent_reconcile_records(
        server, shop, stripe_base):
    world, headers, stock_before = shop
    for sku_id in (world.sku_a, world.sku_b):  # the first stays payable, the second will expire unpaid
        server.kill_flag.touch()
        with pytest.raises(requests.ConnectionError):  # the worker died before answering
            checkout(server.base, headers, world, sku_id)
        assert not server.kill_flag.exists()
        answer = checkout(server.base, headers, world, sku_id)  # the master's other worker serves meanwhile
        assert answer.status_code == 201, answer.text

    orphans = list(db.session.scalars(select(Payment).where(Payment.provider_ref.is_(None)).order_by(Payment.id)))
    assert [p.claimed_at is not None for p in orphans] == [True, True]  # claimed, asked, never recorded
    payable_id, expiring_id = (p.order_id for p in orphans)  # killed in that order
    orphan_ids = [p.id for p in orphans]
    db.session.commit()
    assert_orders_consistent(stock_before)
    assert len(assert_every_intent_has_its_payment(stripe_base, recorded=False)) == 4  # two of them unrecorded

    db.session.execute(update(Order).where(Order.id == expiring_id)
                       .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)))
    db.session.commit()
    assert expire_unpaid_orders()["expired"] == 1  # its intent unknown here, so left open at localstripe
    assert reconcile_pending_payments(older_than=RECONCILE_NOW) == {  # ignored: open, unpaid, nothing to apply
        "intent_recovered": 1, "intent_recovered_closed": 1, "ignored": 3}
    intents = {i.id: i for i in assert_every_intent_has_its_payment(stripe_base, recorded=True)}
    assert len(intents) == 4  # the same intents, recorded: none opened twice
    payable, expired = (db.session.get(Payment, payment_id) for payment_id in orphan_ids)
    assert intents[expired.provider_ref].status == "canceled" and expired.status == "cancelled"
    assert confirm_intent(payable.provider_ref).status == "succeeded"  # the buyer can pay the recovered one
    db.session.commit()
    assert reconcile_pending_payments(older_than=RECONCILE_NOW) == {"paid": 1, "ignored": 2}
    assert load_order(payable_id).status == "paid"
    assert_orders_consistent(stock_before)


def test_a_worker_killed_during_checkout_traffic_leaves_nothing_half_written(server, shop, stripe_base):
    world, headers, stock_before = shop
    outcomes, done = [], threading.Event()

    def shopper(base, sku_id):
        session = requests.Session()
        while not done.is_set():
            try:
                response = session.post(f"{base}/api/v1/checkout", headers=headers, timeout=60, json={
                    "address_id": world.address_id, "items": [{"sku_id": sku_id, "quantity": 1}]})
                outcomes.append(response.status_code)
            except requests.RequestException:  # refused, reset, or cut in the middle of the answer
                outcomes.append("cut")
                session = requests.Session()

    threads = [threading.Thread(target=shopper, args=(server.base, sku), daemon=True)
               for sku in (world.sku_a, world.sku_b) * 3]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(outcomes) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    killed = server.kill_worker()
    while len(outcomes) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    for thread in threads:
        thread.join(30)
    assert killed not in server.worker_pids()
    print("outcomes:", Counter(outcomes))

    assert set(outcomes) <= {201, "cut"}, outcomes
    assert outcomes.count(201) >= 20, outcomes
    assert_orders_consistent(stock_before)
    assert_every_intent_has_its_payment(stripe_base, recorded=False)
    reconcile_pending_payments(older_than=RECONCILE_NOW)
    assert_every_intent_has_its_payment(stripe_base, recorded=True)
    assert_orders_consistent(stock_before)
