"""The engine gets the pool options for PostgreSQL, and a database that cannot be reached answers 503
problem+json `database_unavailable` with Retry-After: an app pointed at a closed port on this machine, so the
refusal is a real one (on both suite databases: nothing here uses the suite's)."""
from __future__ import annotations

import os
import socket

import pytest
from sqlalchemy.pool import QueuePool

from config import TestingConfig
from shop import create_app
from shop.extensions import db
from tests.support import assert_problem


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on leaving: nothing listens there


@pytest.fixture
def unreachable_app(monkeypatch):
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.setenv("DB_POOL_TIMEOUT", "4")

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"postgresql+psycopg://shop@127.0.0.1:{closed_port()}/shop"

    app = create_app(Config)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_postgresql_gets_a_pre_pinged_queue_pool_from_the_environment(unreachable_app):
    with unreachable_app.app_context():
        pool = db.engine.pool
        assert isinstance(pool, QueuePool)
        assert db.engine.dialect.driver == "psycopg"
        assert (pool._pre_ping, pool.size(), pool._max_overflow, pool._recycle, pool._timeout) == (True, 3, 10, 1800, 4)


def sqlite_app(monkeypatch):
    monkeypatch.setenv("DB_POOL_SIZE", "3")  # read, and not given to SQLite's pool (it would refuse it)

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        PROPAGATE_EXCEPTIONS = False  # as in production: the error handler answers

    return create_app(Config)


def test_sqlite_keeps_its_own_setup(monkeypatch):
    app = sqlite_app(monkeypatch)
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {}
    with app.app_context():
        assert not db.engine.pool._pre_ping


def test_an_unreachable_database_answers_503_with_retry_after_and_the_request_id(unreachable_app):
    client = unreachable_app.test_client()
    response = client.get("/api/v1/products", headers={"X-Request-ID": "db-down-1"})
    body = assert_problem(response, 503, "database_unavailable")
    assert response.headers["Retry-After"] == "2"
    assert body["request_id"] == response.headers["X-Request-ID"] == "db-down-1"
    assert "127.0.0.1" not in body["detail"]  # says what to do, never where the database is


def test_other_database_errors_stay_internal_errors(monkeypatch):
    """SQLite's OperationalError for a missing table is a bug, not an outage: 500, not a 503 that would have
    the client retry it."""
    from sqlalchemy import text

    app = sqlite_app(monkeypatch)

    @app.route("/api/v1/_bad_sql")
    def bad_sql():
        db.session.execute(text("SELECT * FROM no_such_table"))

    assert_problem(app.test_client().get("/api/v1/_bad_sql"), 500, "internal_error")


@pytest.mark.skipif(not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql"),
                    reason="PostgreSQL only: SQLite gets no pool options")
def test_a_pool_with_no_free_connection_answers_503_then_serves_again(monkeypatch):
    for name, value in {"DB_POOL_SIZE": "1", "DB_MAX_OVERFLOW": "0", "DB_POOL_TIMEOUT": "1"}.items():
        monkeypatch.setenv(name, value)

    class Config(TestingConfig):
        PROPAGATE_EXCEPTIONS = False

    app = create_app(Config)
    client = app.test_client()
    try:
        with app.app_context():
            held = db.engine.connect()  # the pool's only connection, busy elsewhere
            assert_problem(client.get("/api/v1/products"), 503, "database_unavailable")
            held.close()
            assert client.get("/api/v1/products").status_code == 200
    finally:
        with app.app_context():
            db.engine.dispose()
