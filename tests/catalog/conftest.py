"""Catalog tests start from regions (loaded by tests/conftest.py) plus the category tree."""
from __future__ import annotations

import pytest

from shop.catalog.seed import load_categories
from tests.support import make_user, token_client


@pytest.fixture(autouse=True)
def categories(_database):
    load_categories()


@pytest.fixture
def api_as(app):
    """Build a token-authenticated client for a user."""
    return token_client


@pytest.fixture
def owner():
    return make_user()


@pytest.fixture
def member(owner):
    """The owner's client (the `supplier` fixture of each module makes them the owner)."""
    return token_client(owner)
