"""Quota and statement tests: a shop of reservoir-district products and an approved hospital with a canteen."""
import pytest

from tests.procurement.factories import make_organization, make_shop


@pytest.fixture
def shop():
    return make_shop()


@pytest.fixture
def org():
    """南京市第一医院, at home in 江苏省, with a canteen, approved."""
    return make_organization()
