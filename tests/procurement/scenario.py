"""A procurement scenario for any test: a 江苏 hospital (approved, net 30) with an admin, a buyer (limit 1,000 元)
and an approver; a 云阳 supplier of TCM decoction pieces with volume tiers and a 涪陵 supplier of 榨菜 in cases;
and a platform admin. Helpers place requisitions through the API. The organisation and its members come from
tests/procurement/factories.py."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from shop.procurement.models import Organization
from tests.catalog.factories import make_product
from tests.orders.factories import set_rule, sku_of
from tests.procurement.factories import DELIVERY, add_member, make_organization
from tests.procurement.factories import organization_fields  # noqa: F401  (main's test_done_when imports it here)
from tests.suppliers.factories import make_supplier
from tests.support import ApiClient, make_user, token_client

_seq = itertools.count(1)
TCM_PRICE, TCM_TIERS = 12000, [{"min_qty": 20, "price_fen": 10800}, {"min_qty": 100, "price_fen": 9600}]
ZHACAI_PRICE, ZHACAI_CASE = 4800, 10  # a case of 10 bags; at least 2 cases


@dataclass
class Scenario:
    platform: object
    org: Organization
    admin: object
    buyer: object
    approver: object
    tcm_supplier_owner: object
    tcm_supplier_id: int
    tcm_sku: int
    zhacai_supplier_owner: object
    zhacai_supplier_id: int
    zhacai_sku: int

    def client(self, user) -> ApiClient:
        return token_client(user)

    def path(self, suffix: str = "", org_id: int | None = None) -> str:
        return f"/api/v1/organizations/{org_id or self.org.id}{suffix}"

    def requisition(self, user, items, *, org_id: int | None = None, key: str | None = None, **extra):
        body = {"items": [{"sku_id": sku, "quantity": qty} for sku, qty in items], "delivery_address": DELIVERY,
                "po_number": "PO-2026-0001", **extra}
        headers = {"Idempotency-Key": key} if key else None
        return self.client(user).post(self.path("/requisitions", org_id), json=body, headers=headers)

    def decide(self, user, order_id: int, verb: str, comment: str = "", org_id: int | None = None):
        return self.client(user).post(self.path(f"/requisitions/{order_id}/{verb}", org_id),
                                      json={"comment": comment})


def make_scenario() -> Scenario:
    platform = make_user(admin=True, email=f"platform{next(_seq)}@example.test")
    admin = make_user()
    org = make_organization(admin, platform=platform)
    buyer = add_member(org, "buyer", limit_fen=100_000)      # 1,000 元 without approval
    approver = add_member(org, "approver", limit_fen=50_000)
    tcm_owner, zhacai_owner = make_user(), make_user()
    tcm = make_supplier(tcm_owner, district_code="500235", name="云阳县中药饮片有限公司（演示）", kind="processor")
    zhacai = make_supplier(zhacai_owner, district_code="500102", name="涪陵榨菜合作社（演示）")
    for owner, supplier in ((tcm_owner, tcm), (zhacai_owner, zhacai)):
        set_rule(owner, supplier.id, base_fee_fen=2000)
    tcm_product = make_product(tcm, name="云阳 中药饮片 黄连片（演示）", category="tcm-decoction-pieces",
                               product_type="tcm_decoction", return_policy="seven_day", cold_chain=False,
                               sc_license_number="SC11150023500018",
                               skus=[{"spec": "500g/袋", "unit": "袋", "weight_g": 500, "price_fen": TCM_PRICE,
                                      "stock": 1000, "price_tiers": TCM_TIERS}])
    zhacai_product = make_product(zhacai, name="涪陵榨菜 食堂装（演示）", category="zhacai", product_type="prepackaged",
                                  return_policy="seven_day", cold_chain=False, food_filing_number="JY15001020000001",
                                  skus=[{"spec": "1kg/袋", "unit": "袋", "weight_g": 1000, "price_fen": ZHACAI_PRICE,
                                         "stock": 500, "min_order_qty": 2 * ZHACAI_CASE, "qty_step": ZHACAI_CASE}])
    return Scenario(platform=platform, org=org, admin=admin, buyer=buyer, approver=approver,
                    tcm_supplier_owner=tcm_owner, tcm_supplier_id=tcm.id, tcm_sku=sku_of(tcm_product.id),
                    zhacai_supplier_owner=zhacai_owner, zhacai_supplier_id=zhacai.id,
                    zhacai_sku=sku_of(zhacai_product.id))


@pytest.fixture
def scenario() -> Scenario:
    return make_scenario()
