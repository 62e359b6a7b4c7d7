"""Fixtures: one app per session, a clean database per test, on SQLite or PostgreSQL (TEST_DATABASE_URL)."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from config import TestingConfig
from shop import create_app
from shop.extensions import db, limiter
from tests.redis_server import redis_server, redis_url  # noqa: F401  (a real Redis for the tests that ask)
from tests.request_context import fresh_app_context_per_request  # noqa: F401  (autouse for every test)
from tests.support import ApiClient

PRESERVED_TABLES = {"region", "alembic_version"}  # reference data loaded once per session


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = TestingConfig.SQLALCHEMY_DATABASE_URI if os.environ.get(
            "TEST_DATABASE_URL") else url

    app = create_app(Config)
    with app.app_context():
        db.drop_all()
        db.create_all()
        from shop.regions.services import load_reference_data

        load_reference_data()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _clean(app):
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in PRESERVED_TABLES]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
            conn.execute(text("DELETE FROM sqlite_sequence")) if conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first() else None


@pytest.fixture(autouse=True)
def _database(app):
    """Each test starts from reference data only and leaves nothing behind."""
    with app.app_context():
        from shop.regions.services import load_reference_data

        from shop.catalog.seed import load_categories

        _clean(app)
        load_reference_data()
        load_categories()
        limiter.reset()
        yield
        db.session.remove()
        _clean(app)


@pytest.fixture
def client(app):
    return ApiClient(app.test_client())


@pytest.fixture
def make_client(app):
    return lambda: ApiClient(app.test_client())


def _register_webhook(base: str, url: str, secret: str) -> None:
    """localstripe's own config API (not Stripe's): hooks cannot be deleted, re-registering an id moves it."""
    import json
    import urllib.request

    body = json.dumps({"url": url, "secret": secret}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{base}/_config/webhooks/shop", data=body,
                                                  headers={"Content-Type": "application/json"}, method="POST"))


@pytest.fixture(scope="session")
def localstripe_base(app):
    """One localstripe per session (loopback, in memory); the app's Stripe client points at it."""
    from shop.payments.localstripe_server import start_subprocess

    proc, base = start_subprocess()
    app.config["STRIPE_API_BASE"] = base
    # localstripe keeps events that found no hook and floods them into the next hook registered, which made
    # a webhook test wait behind every earlier test's events. A hook from the start, pointed at a closed port
    # except during webhook tests (stripe_webhooks), lets every event go at once.
    _register_webhook(base, "http://127.0.0.1:9/closed", app.config["STRIPE_WEBHOOK_SECRET"])
    yield base
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def stripe_server(localstripe_base):
    """localstripe with its data reset for this test."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{localstripe_base}/_config/data", method="DELETE"))
    return localstripe_base


@pytest.fixture(scope="session")
def live_server(app):
    """The app served on a loopback port in a thread, so that localstripe can deliver webhooks to it."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def stripe_webhooks(app, stripe_server, live_server):
    """localstripe delivers signed webhooks to the live app during this test only (hooks cannot be deleted:
    afterwards the hook is pointed at a closed port so late events cannot leak into the next test)."""
    import time

    secret = app.config["STRIPE_WEBHOOK_SECRET"]
    _register_webhook(stripe_server, f"{live_server}/api/v1/payments/stripe/webhook", secret)
    yield stripe_server
    _register_webhook(stripe_server, "http://127.0.0.1:9/closed", secret)
    time.sleep(0.05)
