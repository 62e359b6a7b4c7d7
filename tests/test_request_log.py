"""Logs: every line written during a request carries its id; the access line has method, path, status and
duration; LOG_FORMAT=json writes one JSON object per line; a 500's answer and its log line share the id."""
from __future__ import annotations

import io
import json
import logging

import pytest

from config import ProductionConfig, TestingConfig
from shop import create_app
from shop.request_log import make_handler
from tests.support import assert_problem, crashing_app as make_crashing_app


@pytest.fixture
def json_log():
    """A JSON handler of the app's own kind on the root logger, with the shop loggers at INFO: returns a function
    that gives the lines written so far, parsed."""
    stream = io.StringIO()
    handler = make_handler("json", stream)
    root, shop = logging.getLogger(), logging.getLogger("shop")
    old_level = shop.level
    root.addHandler(handler)
    shop.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        shop.setLevel(old_level)


@pytest.fixture
def crashing_app():
    return make_crashing_app()


def test_every_line_of_a_request_carries_its_id(crashing_app, json_log):
    response = crashing_app.test_client().get("/api/v1/_boom", headers={"X-Request-ID": "trace-42"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "trace-42"

    lines = json_log()
    assert [line["logger"] for line in lines] == ["shop.orders", "shop", "shop.access"]
    for line in lines:
        assert line["request_id"] == "trace-42", line
        assert (line["method"], line["path"]) == ("GET", "/api/v1/_boom")
        assert {"ts", "level", "logger", "message"} <= set(line)
    warning, error, access = lines
    assert (warning["level"], warning["message"]) == ("WARNING", "about to fail")
    assert error["level"] == "ERROR" and "RuntimeError: kaboom" in error["exception"]  # the log has the cause
    assert access["status"] == 500 and isinstance(access["duration_ms"], float) and access["duration_ms"] >= 0


def test_one_access_line_per_request_with_a_generated_id(client, json_log):
    first = client.raw.get("/api/v1/regions/500237")
    second = client.raw.get("/api/v1/regions/999999")
    access = [line for line in json_log() if line["logger"] == "shop.access"]
    assert [(a["method"], a["path"], a["status"]) for a in access] == [
        ("GET", "/api/v1/regions/500237", 200), ("GET", "/api/v1/regions/999999", 404)]
    assert [a["request_id"] for a in access] == [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert second.json["request_id"] == access[1]["request_id"]


def test_a_request_refused_before_the_view_still_gets_its_id(client, json_log):
    """The id is the first thing assigned: a 401 from the login check carries and logs it too."""
    response = client.raw.get("/api/v1/orders", headers={"X-Request-ID": "anon-1"})
    assert assert_problem(response, 401, "unauthorized")["request_id"] == "anon-1"
    assert [line["status"] for line in json_log() if line["request_id"] == "anon-1"] == [401]


def test_a_rate_limited_answer_carries_the_request_id(client):
    """Flask-Limiter refuses in a before_request function of its own: the id is assigned before it runs."""
    login = {"email": "nobody@example.test", "password": "wrong-password-1"}
    statuses = []
    for attempt in range(8):
        response = client.raw.post("/api/v1/auth/login", json=login, headers={"X-Request-ID": f"login-{attempt}"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert assert_problem(response, 429, "rate_limited")["request_id"] == f"login-{attempt}"
            break
    assert statuses[-1] == 429, statuses


def test_json_lines_outside_a_request_have_no_request_fields(json_log):
    logging.getLogger("shop.jobs").warning("expired %d orders", 3)
    assert json_log() == [{**json_log()[0], "logger": "shop.jobs", "level": "WARNING",
                           "message": "expired 3 orders", "request_id": None}]
    assert "method" not in json_log()[0]


def test_log_format_follows_the_configuration(app):
    """Production writes JSON by default, development and tests text; anything else is refused at start-up."""
    from shop import request_log

    class Production(ProductionConfig):
        SECRET_KEY = "a-real-secret"
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    class Unknown(TestingConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        LOG_FORMAT = "yaml"

    def formatters():
        return [type(h.formatter).__name__ for h in logging.getLogger().handlers
                if getattr(h, request_log._HANDLER_MARK, False)]

    try:
        create_app(Production)
        assert formatters() == ["JsonFormatter"]  # replaced, not added: one line per record
        request_log.configure_logging(app)
        assert formatters() == ["Formatter"]
        with pytest.raises(RuntimeError, match="LOG_FORMAT"):
            create_app(Unknown)
    finally:
        request_log.configure_logging(app)  # the suite's own (text) handler for the tests after this one
