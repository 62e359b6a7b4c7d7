"""PostgreSQL restarted (pg_ctl restart -m fast) under reads and checkouts served over HTTP (werkzeug's threaded
server in this process: the same engine, QueuePool and error handler as one gunicorn worker): requests
caught by it answer problem+json 503 `database_unavailable`, never a 500 or an HTML page; the ones that start
once it is back succeed without restarting the app (the pool pre-pings and replaces the dead connections); and
nothing is half-written. On a private cluster: the suite's own database is never restarted."""
from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest
import requests

from config import TestingConfig
from shop import create_app
from shop.accounts.services import create_token
from shop.extensions import db
from tests.faults.consistency import assert_every_intent_has_its_payment, assert_orders_consistent, stock_levels
from tests.orders.factories import make_world
from tests.pg_cluster import private_cluster
from tests.served import threaded_server

pytestmark = pytest.mark.skipif(
    not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql"),
    reason="PostgreSQL only: runs in the suite's PostgreSQL pass (TEST_DATABASE_URL), on a cluster of its own")

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def cluster_app():
    """An app on a private cluster with the schema, reference data and a two-supplier world."""
    from shop.catalog.seed import load_categories
    from shop.regions.services import load_reference_data

    with private_cluster() as cluster:
        class Config(TestingConfig):
            SQLALCHEMY_DATABASE_URI = cluster.url
            PROPAGATE_EXCEPTIONS = False  # as in production: an error escaping the handlers is answered, as a 500

        app = create_app(Config)
        with app.app_context():
            db.create_all()
            load_reference_data()
            load_categories()
            yield cluster, app
            db.session.remove()
            db.engine.dispose()


class Traffic:
    """Shoppers reading the catalog and checking out, each answer recorded with when its request began."""

    def __init__(self, base: str, headers: dict, world):
        self.base, self.headers, self.world = base, headers, world
        self.answers: list[tuple[float, str, object]] = []  # (began, what, outcome)
        self.done = threading.Event()

    def _outcome(self, response: requests.Response):
        if response.status_code < 300:
            return "ok"
        body = response.json() if response.headers.get("Content-Type", "").startswith(PROBLEM_JSON) else None
        if response.status_code == 503 and body and body.get("code") == "database_unavailable" and \
                response.headers.get("Retry-After") and body.get("request_id") == response.headers["X-Request-ID"]:
            return "503"
        return (response.status_code, response.headers.get("Content-Type"), response.text[:300])

    def _shopper(self, what: str):
        session = requests.Session()
        world, base = self.world, self.base
        calls = {
            "list": lambda: session.get(f"{base}/api/v1/products?limit=20", timeout=20),
            "detail": lambda: session.get(f"{base}/api/v1/products/{world.product_a}", timeout=20),
            "checkout": lambda: session.post(f"{base}/api/v1/checkout", headers=self.headers, timeout=20, json={
                "address_id": world.address_id, "items": [{"sku_id": world.sku_b, "quantity": 1}]}),
        }
        while not self.done.is_set():
            began = time.monotonic()
            self.answers.append((began, what, self._outcome(calls[what]())))

    def start(self):
        self.threads = [threading.Thread(target=self._shopper, args=(what,), daemon=True)
                        for what in ("list", "detail", "checkout", "checkout")]
        for thread in self.threads:
            thread.start()

    def kinds_since(self, instant: float) -> Counter:
        return Counter(what for began, what, _ in list(self.answers) if began > instant)

    def wait_for(self, each: int, *, since: float = 0.0, timeout: float = 20):
        """Until every kind of request has `each` answers to requests begun after `since`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = self.kinds_since(since)
            if len(counts) == 3 and min(counts.values()) >= each:
                return
            time.sleep(0.05)

    def stop(self):
        self.done.set()
        for thread in self.threads:
            thread.join(30)


def test_a_postgresql_restart_under_traffic_fails_cleanly_and_recovers(cluster_app, stripe_base):
    cluster, app = cluster_app
    world = make_world()
    _, token = create_token(user=world.buyer, name="faults")
    stock_before = stock_levels()
    app.config["STRIPE_API_BASE"] = stripe_base

    with threaded_server(app) as base:
        traffic = Traffic(base, {"Authorization": f"Bearer {token}"}, world)
        traffic.start()
        traffic.wait_for(3)
        cluster.restart()
        back = time.monotonic()
        traffic.wait_for(4, since=back)
        traffic.stop()

    outcomes = Counter(outcome if isinstance(outcome, str) else "other" for _, _, outcome in traffic.answers)
    print("outcomes:", dict(outcomes))
    assert [a for a in traffic.answers if not isinstance(a[2], str)] == []  # no 500, no HTML, nothing else
    after = [(what, outcome) for began, what, outcome in traffic.answers if began > back]
    assert min(traffic.kinds_since(back).values()) >= 4 and len(traffic.kinds_since(back)) == 3
    assert {outcome for _, outcome in after} == {"ok"}, after  # the same processes, serving again
    assert_orders_consistent(stock_before)
    assert_every_intent_has_its_payment(stripe_base, recorded=False)
