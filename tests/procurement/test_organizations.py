"""Organisations: registration rules, the platform's review in the suppliers' words, payment terms, members."""
from __future__ import annotations

import pytest

from shop.extensions import db
from shop.notifications.models import OutboxMessage
from shop.procurement.models import Organization, OrganizationMember
from tests.orders.factories import api_as, count
from tests.procurement.factories import add_member, make_organization, organization_fields
from tests.support import assert_problem, make_user

PATH = "/api/v1/organizations"


def _body(**overrides) -> dict:
    return organization_fields(**overrides)


def test_a_user_registers_an_organisation_and_becomes_its_admin(scenario):
    user = make_user()
    response = api_as(user).post(PATH, json=_body(name="浙江省某中学（演示）", kind="school",
                                                  home_region_code="330000"))
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["status"], body["payment_terms"], body["home_region"]["code"]) == ("pending", "prepaid", "330000")
    members = api_as(user).get(f"{PATH}/{body['id']}/members").json["items"]
    assert [(m["user"]["id"], m["role"]) for m in members] == [(user.id, "admin")]


@pytest.mark.parametrize("field, value, code", [
    ("credit_code", "12320100MB1234567X", "validation_error"),     # wrong check character
    ("credit_code", "123", "validation_error"),
    ("taxpayer_id", "not-a-code", "validation_error"),
    ("kind", "bank", "validation_error"),
    ("has_canteen", "yes", "validation_error"),
    ("home_region_code", "320102", "invalid_home_region"),        # a county, not a province or city
    ("home_region_code", "999999", None),
    ("contact_phone", "12345", "validation_error"),
])
def test_bad_registrations_are_refused_and_write_nothing(scenario, field, value, code):
    before = count(Organization)
    response = api_as(make_user()).post(PATH, json={**_body(), field: value})
    body = assert_problem(response, 422 if code else response.status_code, code)
    assert response.status_code in (404, 422), body
    assert count(Organization) == before


def test_a_credit_code_registers_once(scenario):
    response = api_as(make_user()).post(PATH, json=_body(credit_code=scenario.org.credit_code))
    assert_problem(response, 409, "credit_code_taken")


def test_the_platform_reviews_with_the_suppliers_words(scenario):
    admin = make_user()
    org_id = api_as(admin).post(PATH, json=_body()).json["id"]
    platform = api_as(scenario.platform)
    assert_problem(api_as(admin).post(f"{PATH}/{org_id}/review", json={"action": "approve"}), 403, "admin_only")
    assert_problem(platform.post(f"{PATH}/{org_id}/review", json={"action": "reject"}), 422, "reason_required")
    assert_problem(platform.post(f"{PATH}/{org_id}/review", json={"action": "reinstate"}), 409,
                   "illegal_organization_transition")
    assert platform.post(f"{PATH}/{org_id}/review", json={"action": "reject", "reason": "资质不全"}).json[
        "status"] == "rejected"
    # Editing a rejected application sends it back; then it is approved, suspended and reinstated.
    assert api_as(admin).patch(f"{PATH}/{org_id}", json={"address": "新地址 1 号"}).json["status"] == "pending"
    for action, status in (("approve", "approved"), ("suspend", "suspended"), ("reinstate", "approved")):
        body = {"action": action, "reason": "测试" if action == "suspend" else ""}
        assert platform.post(f"{PATH}/{org_id}/review", json=body).json["status"] == status
    events = api_as(admin).get(f"{PATH}/{org_id}/status-events").json
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "pending"), ("pending", "rejected"), ("rejected", "pending"), ("pending", "approved"),
        ("approved", "suspended"), ("suspended", "approved")]
    assert count(OutboxMessage, OutboxMessage.template == "organization_suspend") == 1
    # Once approved, who it is and where its purchases count are locked.
    assert_problem(api_as(admin).patch(f"{PATH}/{org_id}", json={"home_region_code": "330000"}), 409,
                   "locked_after_approval")


def test_only_the_platform_grants_payment_terms(scenario):
    path = f"{PATH}/{scenario.org.id}/payment-terms"
    assert_problem(api_as(scenario.admin).put(path, json={"payment_terms": "net_60"}), 403, "admin_only")
    assert_problem(api_as(scenario.platform).put(path, json={"payment_terms": "net_90"}), 422)
    assert api_as(scenario.platform).put(path, json={"payment_terms": "net_15"}).json["payment_terms"] == "net_15"


def test_members_roles_and_limits_are_the_admins_and_the_last_admin_stays(scenario):
    path = f"{PATH}/{scenario.org.id}/members"
    new = make_user()
    assert_problem(api_as(scenario.buyer).post(path, json={"email": new.email, "role": "buyer"}), 403,
                   "role_required")
    assert_problem(api_as(scenario.admin).post(path, json={"email": "nobody@example.test", "role": "buyer"}), 422,
                   "unknown_user")
    assert_problem(api_as(scenario.admin).post(path, json={"email": new.email, "role": "buyer",
                                                           "spending_limit_fen": 2.5}), 422)
    added = api_as(scenario.admin).post(path, json={"email": new.email, "role": "buyer",
                                                    "spending_limit_fen": 30_000})
    assert added.status_code == 201 and added.json["spending_limit_fen"] == 30_000
    assert_problem(api_as(scenario.admin).post(path, json={"email": new.email, "role": "buyer"}), 409,
                   "already_member")
    member_id = added.json["id"]
    changed = api_as(scenario.admin).patch(f"{path}/{member_id}", json={"role": "approver",
                                                                        "spending_limit_fen": 0})
    assert (changed.json["role"], changed.json["spending_limit_fen"]) == ("approver", 0)
    admin_member = db.session.query(OrganizationMember).filter_by(user_id=scenario.admin.id).one()
    # Nobody raises their own limit (an admin would approve itself); buyers do not list the members.
    assert_problem(api_as(scenario.admin).patch(f"{path}/{admin_member.id}", json={"spending_limit_fen": 10**9}),
                   403, "own_limit")
    assert_problem(api_as(scenario.buyer).get(path), 403, "role_required")
    assert_problem(api_as(scenario.admin).patch(f"{path}/{admin_member.id}", json={"role": "buyer"}), 409,
                   "last_admin")
    assert_problem(api_as(scenario.admin).delete(f"{path}/{admin_member.id}"), 409, "last_admin")
    assert api_as(new).delete(f"{path}/{member_id}").status_code == 204  # a member may leave


def test_a_user_may_act_for_several_organisations_each_in_its_own_path(scenario):
    other_admin = make_user()
    other = make_organization(other_admin, name="浙江某食堂（演示）", home_region_code="330000")
    both = add_member(other, "buyer", limit_fen=10_000_000)
    assert api_as(scenario.admin).post(f"{PATH}/{scenario.org.id}/members",
                                       json={"email": both.email, "role": "buyer"}).status_code == 201
    listed = api_as(both).get(f"{PATH}?mine=true").json["items"]
    assert sorted(o["id"] for o in listed) == sorted([scenario.org.id, other.id])
    # The path names the organisation it acts for: the same order waits for approval in one, not the other.
    items = [(scenario.zhacai_sku, 20)]
    assert scenario.requisition(both, items).json["status"] == "awaiting_approval"  # limit 0 here
    placed = scenario.requisition(both, items, org_id=other.id).json
    assert (placed["status"], placed["organization_id"], placed["buyer_region_code"]) == (
        "approved", other.id, "330000")
