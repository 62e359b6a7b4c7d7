"""Test helpers: a JSON client that carries the CSRF token, account factories, and the problem+json check."""
from __future__ import annotations

import itertools

from shop.accounts.services import create_admin, register_user

PASSWORD = "correct-horse-battery-9"
PROBLEM_JSON = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
_seq = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_seq)}@example.test"


def make_user(email: str | None = None, *, admin: bool = False, **extra):
    email = email or unique_email()
    if admin:
        return create_admin(email=email, password=PASSWORD, display_name="Admin")
    return register_user(email=email, password=PASSWORD, display_name=extra.pop("display_name", "Test user"),
                         **extra)


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """`response` is an application/problem+json error with this HTTP status: the body names the same status,
    carries every problem key with a non-empty title and detail, a `type` that ends in its `code`, and `code`
    when given. Returns the body."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM_JSON, response.mimetype
    body = response.get_json(force=True)
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status, body
    assert isinstance(body["code"], str) and body["code"], body
    assert body["type"].endswith(body["code"]), body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    if code is not None:
        assert body["code"] == code, body
    return body


def count_statements(call) -> tuple[int, object]:
    """Run call() and count the SQL statements the app sends meanwhile; returns (count, call's result)."""
    statements, result = record_statements(call)
    return len(statements), result


def record_statements(call) -> tuple[list[tuple[str, object]], object]:
    """Run call() and keep the SQL statements the app sends meanwhile, with their parameters."""
    from sqlalchemy import event

    from shop.extensions import db

    db.session.commit()
    statements = []

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before_cursor_execute)
    try:
        result = call()
    finally:
        event.remove(db.engine, "before_cursor_execute", before_cursor_execute)
    return statements, result


def statements_of(call) -> tuple[list[str], object]:
    """record_statements() with each statement's text only, whitespace collapsed."""
    statements, result = record_statements(call)
    return [" ".join(statement.split()) for statement, _ in statements], result


def split_begins(statements: list[str]) -> tuple[list[str], int]:
    """(the statements but SQLite's BEGINs, how many BEGINs): the app issues BEGIN itself on SQLite only, so the
    rest is what both databases run."""
    begins = [s for s in statements if s.startswith("BEGIN")]
    return [s for s in statements if not s.startswith("BEGIN")], len(begins)


def selects_from(statements: list[str], table: str) -> int:
    """How many of the statements are SELECTs whose first FROM is `table` (quoted or not)."""
    import re

    pattern = re.compile(rf'^SELECT .*? FROM "?{re.escape(table)}"?(\s|$)')
    return sum(1 for s in statements if pattern.match(s))


def token_client(user) -> "ApiClient":
    """A client of the current app signed in as `user` with a fresh personal API token: no CSRF, and no login
    rate limit (5 a minute in tests)."""
    from flask import current_app

    from shop.accounts.services import create_token

    client = ApiClient(current_app.test_client())
    _, client.token = create_token(user=user, name="tests")
    return client


class ApiClient:
    """Wraps Flask's test client: JSON bodies, the CSRF header once signed in, an optional Bearer token."""

    def __init__(self, client):
        self.raw = client
        self.csrf: str | None = None
        self.token: str | None = None

    def _headers(self, headers):
        merged = dict(headers or {})
        if self.csrf and "X-CSRF-Token" not in merged:
            merged["X-CSRF-Token"] = self.csrf
        if self.token and "Authorization" not in merged:
            merged["Authorization"] = f"Bearer {self.token}"
        return merged

    def open(self, method, path, json=None, headers=None, **kwargs):
        return self.raw.open(path, method=method, json=json, headers=self._headers(headers), **kwargs)

    def get(self, path, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.open("POST", path, json=json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.open("PATCH", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.open("PUT", path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.open("DELETE", path, **kwargs)

    def login(self, email, password=PASSWORD):
        response = self.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.json
        self.csrf = response.json["csrf_token"]
        return response

    def login_as(self, user):
        return self.login(user.email)


def crashing_app():
    """An app on an in-memory database whose GET /api/v1/_boom logs a warning and then fails unhandled, with
    exceptions not propagated (as in production): the error handler and the request log are what answer."""
    import logging

    from config import TestingConfig
    from shop import create_app

    class Config(TestingConfig):
        PROPAGATE_EXCEPTIONS = False
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    app = create_app(Config)

    @app.route("/api/v1/_boom")
    def boom():
        logging.getLogger("shop.orders").warning("about to fail")
        raise RuntimeError("kaboom: secret internal detail")

    return app
