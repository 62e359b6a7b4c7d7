"""Fixtures of the order-domain tests (tests/orders, tests/cart, tests/checkout, tests/addresses): each of those
packages' conftest.py imports them. The database starts from regions and the category tree (tests/conftest.py).

Every such test may reach the payment gateway (checkout opens a PaymentIntent), so localstripe is started
and reset for each of them: the app's STRIPE_API_BASE must never point at the real Stripe API.
"""
from __future__ import annotations

import pytest

from tests.orders.factories import api_as, make_world


@pytest.fixture(autouse=True)
def stripe_base(stripe_server):
    """localstripe, empty for this test (the app already points at it)."""
    return stripe_server


@pytest.fixture(autouse=True)
def no_smtp(app, monkeypatch):
    """The outbox keeps messages instead of sending them, whatever the environment says."""
    monkeypatch.setitem(app.config, "SMTP_HOST", None)


@pytest.fixture
def as_user():
    """A client authenticated as a user with a personal API token (no sign-in rate limit, no CSRF)."""
    return api_as


@pytest.fixture
def world():
    """Two approved suppliers with one product each, a shopper with a home region and an address."""
    return make_world()


@pytest.fixture
def buyer(world, as_user):
    """The world's shopper, signed in with a personal API token."""
    return as_user(world.buyer)
