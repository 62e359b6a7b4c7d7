"""Attribution tests use the order-domain fixtures (localstripe, no SMTP; tests/orders/fixtures.py) and their
two-supplier world (a 南京 shopper, suppliers in 巫山 and 奉节: districts no 江苏 pair covers), plus a 云阳 supplier
(江苏省 → 云阳县 is a verified pair of the reference data) made here; pre-sale tests use the payments tests'
buyers (make_buyer) as tests/presale does."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.catalog.factories import make_product
from tests.orders.factories import set_rule, sku_of
from tests.orders.fixtures import as_user, buyer, no_smtp, stripe_base, world  # noqa: F401
from tests.payments.conftest import make_buyer  # noqa: F401
from tests.suppliers.factories import make_supplier
from tests.support import make_user

__all__ = ["as_user", "buyer", "no_smtp", "stripe_base", "world", "make_buyer", "yunyang", "admin"]  # fixtures pytest collects

YUNYANG = "500235"
TCM_PRICE = 8800  # 云阳 中药饮片, seven_day: returnable without reason
SHIPPING_FEN = 800  # the 云阳 supplier's flat fee: money that is no district's product


@dataclass
class Yunyang:
    owner: object
    supplier_id: int
    product_id: int
    sku_id: int


@pytest.fixture
def yunyang(world) -> Yunyang:
    owner = make_user(display_name="云阳药业负责人")
    supplier = make_supplier(owner, name="云阳万力药业", kind="leading_enterprise", district_code=YUNYANG)
    set_rule(owner, supplier.id, base_fee_fen=SHIPPING_FEN, base_weight_g=100_000)
    product = make_product(supplier, name="云阳 中药饮片 黄连片", category="tcm-decoction-pieces",
                           product_type="tcm_decoction", sc_license_number="SC12350023500012",
                           return_policy="seven_day",
                           skus=[{"spec": "500g", "unit": "袋", "weight_g": 500, "price_fen": TCM_PRICE,
                                  "stock": 1000}])
    return Yunyang(owner=owner, supplier_id=supplier.id, product_id=product.id, sku_id=sku_of(product.id))


@pytest.fixture
def admin(as_user):
    return as_user(make_user(admin=True))
