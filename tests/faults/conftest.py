"""The fault tests place orders, so they share the order-domain fixtures (tests/orders/fixtures.py): stripe_base
and no_smtp are autouse."""
from tests.orders.fixtures import no_smtp, stripe_base, world  # noqa: F401
