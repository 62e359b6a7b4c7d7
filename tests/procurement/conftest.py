"""Procurement tests use the order-domain fixtures (localstripe, no SMTP), the requisition scenario
(tests/procurement/scenario.py) and, for quotas and statements, a shop with an approved hospital (factories.py)."""
import pytest

from tests.orders.fixtures import as_user, no_smtp, stripe_base  # noqa: F401
from tests.procurement.factories import make_organization, make_shop
from tests.procurement.scenario import scenario  # noqa: F401


@pytest.fixture
def shop():
    return make_shop()


@pytest.fixture
def org():
    """南京市第一医院, at home in 江苏省, with a canteen, approved on net 30."""
    return make_organization(name="南京市第一医院", fapiao_title="南京市第一医院")
