"""Each test-client request runs in its own application context, as it would in production.

tests/conftest.py keeps an app context pushed for the whole test. Flask reuses an already-pushed app context
for a request, so without this fixture `g` (Flask-Login's cached `current_user`, flask-smorest's per-request
state) and the scoped `db.session` would carry over from one request to the next inside a test: a user signed
out or a revoked token would still be "authenticated" on the following request. Import the fixture into a test
module; tests/conftest.py imports it, so it applies to every test.
"""
from __future__ import annotations

import contextvars

import pytest
from flask import has_app_context
from flask.testing import FlaskClient

from shop.extensions import db


@pytest.fixture(autouse=True)
def fresh_app_context_per_request(monkeypatch):
    original_open = FlaskClient.open

    def open_in_fresh_context(self, *args, **kwargs):
        if has_app_context():
            # End the test's own transaction: what the test wrote is visible to the request, and on SQLite
            # (BEGIN IMMEDIATE) the request's writes are not blocked by the test's open transaction.
            db.session.commit()
        # An empty contextvars context: no app context is active, so the request pushes (and pops) its own.
        return contextvars.Context().run(original_open, self, *args, **kwargs)

    monkeypatch.setattr(FlaskClient, "open", open_in_fresh_context)
    yield
