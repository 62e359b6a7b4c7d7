"""Pre-sale tests use the order-domain fixtures (localstripe, no SMTP; tests/orders/fixtures.py), the payments
tests' buyers with clients of their own (for threads), and a two-supplier world (tests/orders/factories.py)."""
from tests.orders.fixtures import as_user, buyer, no_smtp, stripe_base, world  # noqa: F401
from tests.payments.conftest import make_buyer  # noqa: F401
