"""Procurement tests use the order-domain fixtures (localstripe, no SMTP) and the scenario of tests/procurement/scenario.py."""
from tests.orders.fixtures import as_user, no_smtp, stripe_base  # noqa: F401
from tests.procurement.scenario import scenario  # noqa: F401
