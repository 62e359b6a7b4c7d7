"""/healthz and /readyz: what a load balancer polls. Liveness never touches the database; readiness answers 503
problem+json naming the failed check when the database does not answer, and 200 "degraded" when only the
configured Redis does not."""
from __future__ import annotations

import socket

import pytest

from config import TestingConfig
from shop import create_app
from tests.support import assert_problem, make_user


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once it is closed


def app_with(**settings):
    class Config(TestingConfig):
        pass

    for name, value in settings.items():
        setattr(Config, name, value)
    return create_app(Config)


@pytest.fixture(scope="module")
def database_down_app():
    return app_with(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/shop"
                                            "?connect_timeout=2")


def test_healthz_is_ok_anonymously_without_touching_the_database(client, database_down_app):
    response = client.raw.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})
    response = database_down_app.test_client().get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_checks_the_database(client):
    response = client.raw.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {"status": "ready", "checks": {"database": "ok"}}


def test_readyz_is_503_problem_when_the_database_does_not_answer(database_down_app):
    response = database_down_app.test_client().get("/readyz", headers={"X-Request-ID": "lb-probe-1"})
    body = assert_problem(response, 503, "not_ready")
    assert body["checks"] == {"database": "failed"}
    assert body["request_id"] == "lb-probe-1"
    assert "127.0.0.1" not in response.get_data(as_text=True)  # how to reach the database is not told


def test_probes_answer_a_signed_in_browser_and_refuse_writes(client, make_client):
    client.login_as(make_user())  # a session cookie and no CSRF header: a GET needs none
    for path in ("/healthz", "/readyz"):
        assert client.raw.get(path).status_code == 200, path
        assert_problem(make_client().raw.post(path), 405, "method_not_allowed")


def test_probes_are_exempt_from_rate_limits(client):
    """With an application-wide limit in force (none is configured today), the API answers 429 and the probes
    still answer: a balancer polling every second must not take the instance out of rotation."""
    from flask_limiter import ApplicationLimit

    from shop.extensions import limiter

    limiter.limit_manager.set_application_limits([ApplicationLimit(limit_provider="2 per minute").bind(limiter)])
    try:
        statuses = [client.raw.get("/api/v1/regions/500237").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        for path in ("/healthz", "/readyz") * 3:
            assert client.raw.get(path).status_code == 200, path
    finally:
        limiter.limit_manager.set_application_limits([])
        limiter.reset()


# --- Redis: a real server on a unix socket of this test's own (tests/redis_server.py) ---------------------------------------------------------

def test_readyz_pings_the_configured_redis_and_stays_ready_without_it(app, redis_url):
    """Redis down degrades the instance (rate limits per process, jobs wait) but every request is still served:
    the balancer keeps it (200), and the body says degraded for monitoring."""
    proc, url = redis_url
    app.config["REDIS_URL"] = url
    try:
        client = app.test_client()
        response = client.get("/readyz")
        assert response.status_code == 200, response.json
        assert response.json == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}

        proc.terminate()
        proc.wait(10)
        response = client.get("/readyz")
        assert response.status_code == 200, response.json
        assert response.json == {"status": "degraded", "checks": {"database": "ok", "redis": "failed"}}
    finally:
        app.config["REDIS_URL"] = None


def test_readyz_is_503_when_the_database_fails_whatever_redis_says(database_down_app, redis_url):
    _, url = redis_url
    database_down_app.config["REDIS_URL"] = url
    try:
        body = assert_problem(database_down_app.test_client().get("/readyz"), 503, "not_ready")
    finally:
        database_down_app.config["REDIS_URL"] = None
    assert body["checks"] == {"database": "failed", "redis": "ok"}
