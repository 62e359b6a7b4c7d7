"""Audit tests: the outbox keeps its messages (no SMTP); localstripe only where a test asks for it."""
import pytest

from tests.orders.fixtures import no_smtp  # noqa: F401  (autouse)
from tests.support import make_user, token_client


@pytest.fixture
def operator():
    """A platform admin: the actor the entries must name."""
    return make_user(admin=True)


@pytest.fixture
def operator_client(operator):
    return token_client(operator)
