"""Settlement tests use the order-domain fixtures (localstripe, no SMTP; tests/orders/fixtures.py) and their
two-supplier world (巫山 and 奉节), the pre-sale tests' buyers, and a clock that travels forward to the months
a test settles (time_machine: every clock of the app moves, the ledger's, the payments' and the refunds')."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from shop.database import SHOP_TIMEZONE
from tests.orders.fixtures import as_user, buyer, no_smtp, stripe_base, world  # noqa: F401
from tests.payments.conftest import make_buyer  # noqa: F401
from tests.support import make_user

__all__ = ["as_user", "buyer", "no_smtp", "stripe_base", "world", "make_buyer", "admin", "clock"]


@pytest.fixture
def admin(as_user):
    return as_user(make_user(admin=True))


class Clock:
    """Moves the app's clock to a local time (Asia/Shanghai), only ever forward (tokens and orders made earlier
    stay in the past), ticking from there."""

    def __init__(self) -> None:
        self._traveller = None

    def to(self, year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
        when = dt.datetime(year, month, day, hour, minute, tzinfo=SHOP_TIMEZONE)
        self.stop()
        self._traveller = time_machine.travel(when, tick=True)
        self._traveller.start()
        return when

    def stop(self) -> None:
        if self._traveller is not None:
            self._traveller.stop()
            self._traveller = None


@pytest.fixture
def clock():
    travelling = Clock()
    yield travelling
    travelling.stop()
