"""Catalog tests: token clients and a supplier owner (regions and the category tree come from tests/conftest.py)."""
from __future__ import annotations

import pytest

from tests.support import make_user, token_client


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
