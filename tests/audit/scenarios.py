"""The operator actions the log must record, each as a scenario: what to set up, the request an operator makes,
and the entry it must leave. Shared by the tests of recorded actions and of refused ones (test_actions.py)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from shop.catalog import gi
from shop.checkout.services import place_order
from shop.payments import services as payments
from shop.presale import campaigns
from shop.procurement import organizations
from shop.refunds import services as refunds
from shop.suppliers import vetting
from tests.catalog.factories import make_product
from tests.orders.factories import api_as, load_order, make_world, ship_and_deliver
from tests.presale.factories import open_campaign
from tests.procurement.factories import make_organization
from tests.suppliers.factories import make_reviewer, make_supplier
from tests.support import make_user

TODAY = dt.date.today().isoformat()
GI_CLAIM = {"scheme": "gi_trademark", "number": "4049199", "protected_area": "重庆市奉节县"}


@dataclass
class Scenario:
    request: Callable  # client → response
    status: int
    action: str = ""
    target: tuple = ()
    before: dict | None = None
    after: dict | None = None
    code: str = ""  # a refused request's problem code
    extra: dict = field(default_factory=dict)


def _supplier(status: str):
    return make_supplier(make_user(), status=status, name="巫山脆李合作社")


def _supplier_review(action: str, status: str, reason: str = "", *, refused: bool = False):
    def build(operator) -> Scenario:
        supplier = _supplier(status)
        request = lambda c: c.post(f"/api/v1/suppliers/{supplier.id}/review", json={"action": action, "reason": reason})
        if refused:
            return Scenario(request, 409, code="illegal_supplier_transition")
        to = {"approve": "approved", "reject": "rejected", "suspend": "suspended", "reinstate": "approved"}[action]
        before, after = {"name": "巫山脆李合作社", "status": status}, {"name": "巫山脆李合作社", "status": to}
        if reason:
            before["status_reason"], after["status_reason"] = "", reason
        return Scenario(request, 200, f"supplier.{to if action != 'reinstate' else 'reinstated'}",
                        ("supplier", supplier.id), before, after)
    return build


def appoint_reviewer(operator) -> Scenario:
    user = make_user()
    scenario = Scenario(lambda c: c.post("/api/v1/county-reviewers", json={"email": user.email,
                                                                          "district_code": "500237"}),
                        201, "county_reviewer.appointed", ("county_reviewer", None), None,
                        {"user_id": user.id, "email": user.email, "district_code": "500237"})
    scenario.extra["target_from_response"] = True
    return scenario


def revoke_reviewer(operator) -> Scenario:
    user = make_reviewer("500237")
    reviewer = vetting.list_reviewers(actor=operator, district="500237", limit=1, cursor=None)["items"][0]
    return Scenario(lambda c: c.delete(f"/api/v1/county-reviewers/{reviewer.id}"), 204, "county_reviewer.revoked",
                    ("county_reviewer", reviewer.id),
                    {"user_id": user.id, "email": user.email, "district_code": "500237"}, None)


def _organization_review(action: str, status: str, reason: str = ""):
    def build(operator) -> Scenario:
        organization = make_organization(status=status, name="南京市第一医院")
        to = {"approve": "approved", "reject": "rejected", "suspend": "suspended", "reinstate": "approved"}[action]
        before = {"name": "南京市第一医院", "status": status, "status_reason": organization.status_reason}
        after = {"name": "南京市第一医院", "status": to, "status_reason": reason}
        if before["status_reason"] == reason:
            del before["status_reason"], after["status_reason"]
        return Scenario(lambda c: c.post(f"/api/v1/organizations/{organization.id}/review",
                                         json={"action": action, "reason": reason}),
                        200, f"organization.{to if action != 'reinstate' else 'reinstated'}",
                        ("organization", organization.id), before, after)
    return build


def set_payment_terms(operator) -> Scenario:
    organization = make_organization(terms="net_30", name="南京市第一医院")
    return Scenario(lambda c: c.put(f"/api/v1/organizations/{organization.id}/payment-terms",
                                    json={"payment_terms": "net_60"}),
                    200, "organization.payment_terms_set", ("organization", organization.id),
                    {"name": "南京市第一医院", "payment_terms": "net_30"},
                    {"name": "南京市第一医院", "payment_terms": "net_60"})


def set_quota_minimum(operator) -> Scenario:
    body = {"share_bp": 1500, "source": "苏政办发〔2026〕1号"}
    return Scenario(lambda c: c.put("/api/v1/quota-minimums/320000", json=body), 200, "quota_minimum.set",
                    ("quota_minimum", "320000"), None, body)


def change_quota_minimum(operator) -> Scenario:
    from shop.procurement import quotas

    quotas.set_minimum(actor=operator, region_code="320000", share_bp=1500, source="苏政办发〔2026〕1号")
    return Scenario(lambda c: c.put("/api/v1/quota-minimums/320000",
                                    json={"share_bp": 2000, "source": "苏政办发〔2026〕1号"}),
                    200, "quota_minimum.set", ("quota_minimum", "320000"), {"share_bp": 1500}, {"share_bp": 2000})


def create_support_pair(operator) -> Scenario:
    body = {"supporter_code": "110000", "recipient_code": "500237", "kind": "other", "verified": True,
            "evidence": "北京市 2026 年协作协议"}
    scenario = Scenario(lambda c: c.post("/api/v1/support-pairs", json=body), 201, "support_pair.created",
                        ("support_pair", None), None, body)
    scenario.extra["target_from_response"] = True
    return scenario


def update_support_pair(operator) -> Scenario:
    from shop.regions import services as regions

    pair = regions.create_support_pair(actor=operator, supporter_code="110000", recipient_code="500237",
                                       kind="other", verified=False, evidence="")
    return Scenario(lambda c: c.patch(f"/api/v1/support-pairs/{pair.id}",
                                      json={"verified": True, "evidence": "北京市 2026 年协作协议"}),
                    200, "support_pair.updated", ("support_pair", pair.id),
                    {"supporter_code": "110000", "recipient_code": "500237", "verified": False, "evidence": ""},
                    {"supporter_code": "110000", "recipient_code": "500237", "verified": True,
                     "evidence": "北京市 2026 年协作协议"})


def _gi_record():
    supplier = make_supplier(make_user(), name="奉节脐橙合作社", district_code="500236")
    product = make_product(supplier, name="奉节脐橙", category="citrus")
    return product, gi.claim(user=supplier_owner(supplier), product_id=product.id, **GI_CLAIM)


def supplier_owner(supplier):
    from shop.suppliers import services as suppliers

    return suppliers.owners(supplier_ids=[supplier.id])[0][1]


def verify_gi(operator) -> Scenario:
    product, record = _gi_record()
    identity = {"product_id": product.id, "scheme": "gi_trademark", "number": "4049199"}
    return Scenario(lambda c: c.post(f"/api/v1/gi-records/{record.id}/verify", json={}), 200, "gi_record.verified",
                    ("gi_record", record.id), {**identity, "status": "claimed"}, {**identity, "status": "verified"})


def reject_gi(operator) -> Scenario:
    product, record = _gi_record()
    identity = {"product_id": product.id, "scheme": "gi_trademark", "number": "4049199"}
    return Scenario(lambda c: c.post(f"/api/v1/gi-records/{record.id}/reject", json={"note": "注册号不符"}), 200,
                    "gi_record.rejected", ("gi_record", record.id),
                    {**identity, "status": "claimed", "review_note": ""},
                    {**identity, "status": "rejected", "review_note": "注册号不符"})


# --- money -----------------------------------------------------------------------------------------------------


def transfer_order(items=None):
    """A world and a bank-transfer order of supplier B's 奉节脐橙 (seven-day returns), not paid yet."""
    world = make_world()
    order = place_order(user=world.buyer, address_id=world.address_id, payment_plan="bank_transfer", deposit_fen=0,
                        items=[{"sku_id": world.sku_b, "quantity": 2}] if items is None else items)
    return world, load_order(order.id)


def _paid_transfer_order(operator):
    world, order = transfer_order()
    payments.record_bank_transfer(user=operator, order_id=order.id, amount_fen=order.total_fen,
                                  value_date=dt.date.today(), reference="CMB-SETUP-0001")
    return world, load_order(order.id)


def record_bank_transfer(operator) -> Scenario:
    world, order = transfer_order()
    body = {"amount_fen": 1000, "value_date": TODAY, "reference": "CMB20261203-0001"}
    scenario = Scenario(lambda c: c.post(f"/api/v1/orders/{order.id}/bank-transfers", json=body), 201,
                        "bank_transfer.recorded", ("order", order.id),
                        {"number": order.number, "paid_fen": 0, "due_fen": order.total_fen},
                        {"number": order.number, "paid_fen": 1000, "due_fen": order.total_fen - 1000,
                         "payment_id": None, **body})
    scenario.extra["payment_id_from_response"] = True
    return scenario


def operator_refund(operator) -> Scenario:
    world, order = _paid_transfer_order(operator)
    body = {"amount_fen": 1001, "reason": "破损补偿"}
    scenario = Scenario(lambda c: c.post(f"/api/v1/orders/{order.id}/operator-refunds", json=body), 201,
                        "refund.opened_by_operator", ("refund", None), None, {"order_id": order.id, **body})
    scenario.extra["target_from_response"] = True
    return scenario


def requested_refund(operator):
    world, order = _paid_transfer_order(operator)
    body = api_as(world.buyer).get(f"/api/v1/orders/{order.id}").json
    ship_and_deliver(world, body)
    response = api_as(world.buyer).post(f"/api/v1/orders/{order.id}/refunds", json={
        "kind": "no_reason_return", "items": [{"order_line_id": body["lines"][0]["id"], "quantity": 2}],
        "reason": "不想要了"})
    assert response.status_code == 201, response.json
    [refund] = response.json  # one request per supplier: all of it is supplier B's
    return refund


def decide_refund(approve: bool):
    def build(operator) -> Scenario:
        refund = requested_refund(operator)
        body = {"approve": approve, "note": "同意退货" if approve else "超出范围"}
        if approve:
            body["amount_fen"] = refund["amount_fen"] - 100
        status = "approved" if approve else "rejected"
        return Scenario(lambda c: c.post(f"/api/v1/refunds/{refund['id']}/decision", json=body), 200,
                        f"refund.{status}_by_operator", ("refund", refund["id"]),
                        {"order_id": refund["order_id"], "status": "requested", "amount_fen": refund["amount_fen"]}
                        if approve else {"order_id": refund["order_id"], "status": "requested"},
                        {"order_id": refund["order_id"], "status": status, "decision_note": body["note"],
                         **({"amount_fen": body["amount_fen"]} if approve else {})})
    return build


def record_refund_transfer(operator) -> Scenario:
    world, order = _paid_transfer_order(operator)
    refund = refunds.operator_refund(user=operator, order_id=order.id, amount_fen=500, reason="运费补偿")
    part = refund.parts[0]
    body = {"part_id": part.id, "value_date": TODAY, "reference": "CMB-RF-0001"}
    identity = {"order_id": order.id, "part_id": part.id, "amount_fen": 500}
    return Scenario(lambda c: c.post(f"/api/v1/refunds/{refund.id}/transfers", json=body), 200,
                    "refund.transfer_recorded", ("refund", refund.id), {**identity, "status": "awaiting_transfer"},
                    {**identity, "status": "succeeded", "reference": "CMB-RF-0001", "value_date": TODAY})


def suspend_campaign(operator) -> Scenario:
    campaign = open_campaign(make_world())
    return Scenario(lambda c: c.post(f"/api/v1/campaigns/{campaign['id']}/suspend", json={"reason": "虚假宣传核查"}),
                    200, "campaign.suspended", ("campaign", campaign["id"]),
                    {"title": campaign["title"], "status": "open", "suspended_from": None, "status_reason": ""},
                    {"title": campaign["title"], "status": "suspended", "suspended_from": "open",
                     "status_reason": "虚假宣传核查"})


def reinstate_campaign(operator) -> Scenario:
    campaign = open_campaign(make_world())
    campaigns.suspend_campaign(actor=operator, campaign_id=campaign["id"], reason="虚假宣传核查")
    return Scenario(lambda c: c.post(f"/api/v1/campaigns/{campaign['id']}/reinstate", json={"reason": "核查无误"}),
                    200, "campaign.reinstated", ("campaign", campaign["id"]),
                    {"title": campaign["title"], "status": "suspended", "suspended_from": "open",
                     "status_reason": "虚假宣传核查"},
                    {"title": campaign["title"], "status": "open", "suspended_from": None, "status_reason": "核查无误"})


RECORDED = {
    "supplier.approved": _supplier_review("approve", "recommended"),
    "supplier.rejected": _supplier_review("reject", "pending", "材料不全"),
    "supplier.suspended": _supplier_review("suspend", "approved", "抽检不合格"),
    "supplier.reinstated": _supplier_review("reinstate", "suspended", "整改完成"),
    "county_reviewer.appointed": appoint_reviewer,
    "county_reviewer.revoked": revoke_reviewer,
    "organization.approved": _organization_review("approve", "pending"),
    "organization.rejected": _organization_review("reject", "pending", "信用代码不符"),
    "organization.suspended": _organization_review("suspend", "approved", "长期欠款"),
    "organization.reinstated": _organization_review("reinstate", "suspended", "已结清"),
    "organization.payment_terms_set": set_payment_terms,
    "quota_minimum.set": set_quota_minimum,
    "quota_minimum.set (changed)": change_quota_minimum,
    "support_pair.created": create_support_pair,
    "support_pair.updated": update_support_pair,
    "gi_record.verified": verify_gi,
    "gi_record.rejected": reject_gi,
    "bank_transfer.recorded": record_bank_transfer,
    "refund.opened_by_operator": operator_refund,
    "refund.approved_by_operator": decide_refund(True),
    "refund.rejected_by_operator": decide_refund(False),
    "refund.transfer_recorded": record_refund_transfer,
    "campaign.suspended": suspend_campaign,
    "campaign.reinstated": reinstate_campaign,
}


# --- refused: each answers an error and must leave no entry ----------------------------------------------------


def _refused(request, status, code):
    return Scenario(request, status, code=code)


def approve_pending_supplier(operator):
    supplier = _supplier("pending")
    return _refused(lambda c: c.post(f"/api/v1/suppliers/{supplier.id}/review", json={"action": "approve"}), 409,
                    "illegal_supplier_transition")


def appoint_twice(operator):
    user = make_reviewer("500237")
    return _refused(lambda c: c.post("/api/v1/county-reviewers", json={"email": user.email, "district_code": "500236"}),
                    409, "already_appointed")


def duplicate_support_pair(operator):
    # 广东省 → 巫山县 is in the reference data: the unique key refuses it at the flush, after the checks.
    return _refused(lambda c: c.post("/api/v1/support-pairs", json={
        "supporter_code": "440000", "recipient_code": "500237", "kind": "three_gorges_counterpart"}), 409,
        "duplicate_support_pair")


def verify_unexplained_pair(operator):
    from shop.regions import services as regions

    pair = regions.create_support_pair(actor=operator, supporter_code="110000", recipient_code="500237",
                                       kind="other")
    return _refused(lambda c: c.patch(f"/api/v1/support-pairs/{pair.id}", json={"verified": True}), 422,
                    "evidence_required")


def reverify_gi(operator):
    _, record = _gi_record()
    gi.review(user=operator, record_id=record.id, action="verify")
    return _refused(lambda c: c.post(f"/api/v1/gi-records/{record.id}/verify", json={}), 409, "illegal_gi_transition")


def overpay_by_transfer(operator):
    # Refused after the payment row is written and the ledger counted: the rollback takes the entry too.
    world, order = transfer_order()
    return _refused(lambda c: c.post(f"/api/v1/orders/{order.id}/bank-transfers", json={
        "amount_fen": order.total_fen + 1, "value_date": TODAY, "reference": "CMB-OVER-0001"}), 422, "overpayment")


def duplicate_bank_reference(operator):
    world, order = transfer_order()
    payments.record_bank_transfer(user=operator, order_id=order.id, amount_fen=100, value_date=dt.date.today(),
                                  reference="CMB-DUP-0001")
    return _refused(lambda c: c.post(f"/api/v1/orders/{order.id}/bank-transfers", json={
        "amount_fen": 100, "value_date": TODAY, "reference": "CMB-DUP-0001"}), 409, "duplicate_bank_reference")


def refund_more_than_paid(operator):
    world, order = _paid_transfer_order(operator)
    return _refused(lambda c: c.post(f"/api/v1/orders/{order.id}/operator-refunds", json={
        "amount_fen": order.total_fen + 1, "reason": "多退"}), 409, "refund_exceeds_paid")


def approve_more_than_asked(operator):
    refund = requested_refund(operator)
    return _refused(lambda c: c.post(f"/api/v1/refunds/{refund['id']}/decision", json={
        "approve": True, "amount_fen": refund["amount_fen"] + 1}), 422, "refund_exceeds_request")


def reinstate_open_campaign(operator):
    campaign = open_campaign(make_world())
    return _refused(lambda c: c.post(f"/api/v1/campaigns/{campaign['id']}/reinstate", json={}), 409,
                    "illegal_campaign_transition")


def set_city_minimum(operator):
    return _refused(lambda c: c.put("/api/v1/quota-minimums/320100", json={"share_bp": 1500, "source": "文件"}), 422,
                    "not_a_province")


def review_organization_without_reason(operator):
    organization = make_organization(status="approved")
    return _refused(lambda c: c.post(f"/api/v1/organizations/{organization.id}/review", json={"action": "suspend"}),
                    422, "reason_required")


REFUSED = {
    "supplier approve while pending": approve_pending_supplier,
    "reviewer appointed twice": appoint_twice,
    "duplicate support pair": duplicate_support_pair,
    "verified pair without evidence": verify_unexplained_pair,
    "GI verified twice": reverify_gi,
    "transfer overpays": overpay_by_transfer,
    "bank reference twice": duplicate_bank_reference,
    "operator refund over paid": refund_more_than_paid,
    "approve over asked": approve_more_than_asked,
    "reinstate an open campaign": reinstate_open_campaign,
    "minimum for a city": set_city_minimum,
    "suspend without reason": review_organization_without_reason,
}
