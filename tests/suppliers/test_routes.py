"""HTTP behaviour of /api/v1/suppliers: registration, review, visibility, editing, members, shipping rules."""
from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, func, select

from shop.extensions import db
from shop.suppliers.models import ShippingRule, Supplier, SupplierMember
from tests.support import token_client, make_user, assert_problem
from tests.suppliers.factories import make_reviewer, make_supplier, supplier_fields, valid_credit_code

API = "/api/v1/suppliers"


@pytest.fixture
def as_user(make_client):
    """A client authenticated as `user` with a personal API token (sign-ins are rate limited per test)."""

    return token_client


@pytest.fixture
def anonymous(make_client):
    return make_client()


def register_body(**overrides) -> dict:
    body = supplier_fields(**overrides)
    body.setdefault("represented_producers", [])
    return body


def supplier_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Supplier))


def reload(supplier_id: int) -> Supplier:
    db.session.expire_all()
    return db.session.get(Supplier, supplier_id)


@contextlib.contextmanager
def count_statements():
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


# --- registration -------------------------------------------------------------------------------------------


def test_register_with_a_session_cookie_makes_the_caller_owner(client):
    user = make_user()
    client.login_as(user)
    code = valid_credit_code()
    messy = f" {code[:6].lower()}-{code[6:].lower()} "
    response = client.post(API, json=register_body(credit_code=messy, contact_phone="023-6588 1234",
                                                   sc_license_number="sc11650023700123"))
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "pending"
    assert body["credit_code"] == code
    assert body["contact_phone"] == "+862365881234"
    assert body["sc_license_number"] == "SC11650023700123"
    assert body["district"] == {"code": "500237", "name": "巫山县"}
    assert body["is_demo"] is False
    member = db.session.scalar(select(SupplierMember).where(SupplierMember.supplier_id == body["id"]))
    assert (member.user_id, member.role) == (user.id, "owner")


def test_register_requires_sign_in(anonymous):
    assert_problem(anonymous.post(API, json=register_body()), 401, "unauthorized")
    assert supplier_count() == 0


def test_register_without_csrf_token_is_refused(client):
    client.login_as(make_user())
    client.csrf = None
    assert_problem(client.post(API, json=register_body()), 403, "csrf_failed")


def _bad_check_character(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


@pytest.mark.parametrize("field, value", [
    ("credit_code", "BAD"),
    ("credit_code", "CHECK"),  # replaced below by a code whose check character is wrong
    ("credit_code", "91500237MA5U0ABCDI"),  # I is not in the alphabet
    ("credit_code", None),
    ("sc_license_number", "SC1165002370012"),  # 13 digits
    ("sc_license_number", "SC116500237001234"),  # 15 digits
    ("sc_license_number", "XK11650023700123"),
    ("sc_license_number", "SC1165002370012A"),
    ("sc_license_number", "SC１１６５００２３７００１２３"),  # full-width digits
    ("contact_phone", "12345"),
    ("contact_phone", "+1 650 253 0000"),
    ("kind", "wholesaler"),
    ("district_code", "5002"),
    ("name", ""),
    ("name", 123),
    ("represented_producers", "某合作社"),
])
def test_invalid_fields_are_named(as_user, field, value):
    if value == "CHECK":
        value = _bad_check_character(valid_credit_code())
    body = assert_problem(as_user(make_user()).post(API, json=register_body(**{field: value})), 422)
    assert field in body["errors"], body
    assert supplier_count() == 0


@pytest.mark.parametrize("code", ["500103", "420102", "110000", "999999"])
def test_district_outside_the_reservoir_area_is_422(as_user, code):
    body = assert_problem(as_user(make_user()).post(API, json=register_body(district_code=code)), 422,
                          "invalid_region")
    assert "district_code" in body["errors"]
    assert supplier_count() == 0


def test_trading_agent_must_name_producers(as_user):
    client = as_user(make_user())
    body = assert_problem(client.post(API, json=register_body(kind="trading_agent", represented_producers=[])), 422,
                          "producers_required")
    assert "represented_producers" in body["errors"]
    response = client.post(API, json=register_body(kind="trading_agent", represented_producers=[
        {"name": "巫溪县核桃合作社", "credit_code": valid_credit_code("500238")}]))
    assert response.status_code == 201, response.json
    assert response.json["represented_producers"][0]["name"] == "巫溪县核桃合作社"


def test_producers_are_forbidden_for_other_kinds(as_user):
    body = assert_problem(as_user(make_user()).post(API, json=register_body(
        kind="family_farm", represented_producers=[{"name": "别人"}])), 422, "producers_not_allowed")
    assert "represented_producers" in body["errors"]


def test_producer_credit_codes_are_checked(as_user):
    body = assert_problem(as_user(make_user()).post(API, json=register_body(
        kind="trading_agent", represented_producers=[{"name": "某社", "credit_code": "123"}])), 422)
    assert "represented_producers" in body["errors"]


@pytest.mark.parametrize("field, value", [("is_demo", True), ("status", "approved"), ("id", 5)])
def test_clients_cannot_set_internal_fields(as_user, field, value):
    body = assert_problem(as_user(make_user()).post(API, json={**register_body(), field: value}), 422)
    assert field in body["errors"]
    assert supplier_count() == 0


def test_missing_fields_are_named(as_user):
    body = assert_problem(as_user(make_user()).post(API, json={}), 422)
    assert {"name", "kind", "credit_code", "district_code", "contact_name", "contact_phone", "address"} <= set(
        body["errors"])


def test_credit_code_is_unique(as_user):
    code = valid_credit_code()
    assert as_user(make_user()).post(API, json=register_body(credit_code=code)).status_code == 201
    assert_problem(as_user(make_user()).post(API, json=register_body(credit_code=code.lower())), 409,
                   "credit_code_taken")
    assert supplier_count() == 1


# --- review -------------------------------------------------------------------------------------------------


def review(client, supplier_id, action, reason=""):
    return client.post(f"{API}/{supplier_id}/review", json={"action": action, "reason": reason})


def test_county_recommends_admin_approves_and_the_events_tell_the_story(as_user):
    owner, admin = make_user(), make_user(admin=True)
    supplier = make_supplier(owner, status="pending")
    reviewer = make_reviewer(supplier.district_code)
    assert as_user(reviewer).post(f"{API}/{supplier.id}/county-review",
                                  json={"action": "recommend", "reason": "实地核查属实"}).status_code == 200
    response = review(as_user(admin), supplier.id, "approve", "材料齐全")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "approved"
    events = as_user(owner).get(f"{API}/{supplier.id}/events").json
    assert [(e["from_status"], e["to_status"], e["actor_id"]) for e in events["items"]] == [
        (None, "pending", owner.id), ("pending", "recommended", reviewer.id), ("recommended", "approved", admin.id)]
    assert [e["reason"] for e in events["items"][1:]] == ["实地核查属实", "材料齐全"]
    assert events["next_cursor"] is None
    assert as_user(admin).get(f"{API}/{supplier.id}/events").status_code == 200


def test_events_are_hidden_from_others(as_user, anonymous):
    supplier = make_supplier(make_user())
    assert_problem(as_user(make_user()).get(f"{API}/{supplier.id}/events"), 404, "not_found")
    assert_problem(anonymous.get(f"{API}/{supplier.id}/events"), 401)


def test_non_admins_cannot_review(as_user, anonymous):
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    assert_problem(review(as_user(owner), supplier.id, "approve"), 403, "admin_only")
    assert_problem(review(anonymous, supplier.id, "approve"), 401)
    assert reload(supplier.id).status == "pending"


@pytest.mark.parametrize("status, action", [("pending", "suspend"), ("pending", "reinstate"), ("pending", "approve"),
                                            ("approved", "approve"), ("approved", "reject"),
                                            ("rejected", "approve"), ("suspended", "approve"),
                                            ("suspended", "suspend")])
def test_illegal_moves_are_409(as_user, status, action):
    supplier = make_supplier(make_user(), status=status)
    assert_problem(review(as_user(make_user(admin=True)), supplier.id, action, "because"), 409,
                   "illegal_supplier_transition")
    assert reload(supplier.id).status == status


@pytest.mark.parametrize("status, action", [("pending", "reject"), ("approved", "suspend")])
def test_reject_and_suspend_need_a_reason(as_user, status, action):
    supplier = make_supplier(make_user(), status=status)
    body = assert_problem(review(as_user(make_user(admin=True)), supplier.id, action), 422, "reason_required")
    assert "reason" in body["errors"]
    assert reload(supplier.id).status == status


def test_unknown_review_action_is_422(as_user):
    supplier = make_supplier(make_user(), status="pending")
    body = assert_problem(review(as_user(make_user(admin=True)), supplier.id, "delete"), 422)
    assert "action" in body["errors"]


def test_missing_supplier_is_404_for_admins_too(as_user):
    admin = as_user(make_user(admin=True))
    assert_problem(review(admin, 999, "approve"), 404)
    for path in ("", "/members", "/events", "/shipping-rule"):
        assert_problem(admin.get(f"{API}/999{path}"), 404, "not_found")


# --- visibility ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "rejected", "suspended"])
def test_unapproved_suppliers_are_invisible_to_outsiders(as_user, anonymous, status):
    owner = make_user()
    supplier = make_supplier(owner, status=status)
    assert_problem(anonymous.get(f"{API}/{supplier.id}"), 404, "not_found")
    assert_problem(as_user(make_user()).get(f"{API}/{supplier.id}"), 404, "not_found")
    assert as_user(owner).get(f"{API}/{supplier.id}").json["status"] == status
    assert as_user(make_user(admin=True)).get(f"{API}/{supplier.id}").json["status"] == status


def test_public_shape_hides_contact_details(as_user, anonymous):
    owner = make_user()
    supplier = make_supplier(owner)
    public = anonymous.get(f"{API}/{supplier.id}")
    assert public.status_code == 200
    assert public.json["name"] == supplier.name
    assert public.json["district"]["name"] == "巫山县"
    assert not {"contact_phone", "contact_name", "status_reason", "reviewed_at"} & set(public.json)
    assert as_user(make_user()).get(f"{API}/{supplier.id}").json == public.json
    for viewer in (owner, make_user(admin=True)):
        full = as_user(viewer).get(f"{API}/{supplier.id}").json
        assert full["contact_phone"] == "+8613812345678"
        assert full["contact_name"] == "李四"


def test_missing_supplier_is_404(anonymous):
    assert_problem(anonymous.get(f"{API}/999"), 404, "not_found")


def test_suspended_supplier_leaves_the_public_list_at_once(as_user, anonymous):
    supplier = make_supplier(make_user())
    assert [s["id"] for s in anonymous.get(API).json["items"]] == [supplier.id]
    assert review(as_user(make_user(admin=True)), supplier.id, "suspend", "质检不合格").status_code == 200
    assert anonymous.get(API).json["items"] == []
    assert_problem(anonymous.get(f"{API}/{supplier.id}"), 404)


def test_public_list_shows_approved_only_and_filters(anonymous):
    owner = make_user()
    plum = make_supplier(owner, name="巫山脆李合作社")
    orange = make_supplier(owner, name="奉节脐橙龙头企业", kind="leading_enterprise", district_code="500236")
    for status in ("pending", "rejected", "suspended"):
        make_supplier(owner, status=status, name=f"巫山{status}")

    def ids(query=""):
        response = anonymous.get(API + query)
        assert response.status_code == 200, response.json
        return [item["id"] for item in response.json["items"]]

    assert ids() == [orange.id, plum.id]  # newest first
    assert ids("?district=500236") == [orange.id]
    assert ids("?kind=cooperative") == [plum.id]
    assert ids("?q=脆李") == [plum.id]
    assert ids("?q=%25") == []  # LIKE wildcards are literal
    assert "contact_phone" not in anonymous.get(API).json["items"][0]


@pytest.mark.parametrize("query", ["?kind=wholesaler", "?district=abc", "?limit=0", "?limit=101", "?limit=2.5",
                                   "?cursor=nonsense", "?mine=maybe", "?status=gone"])
def test_bad_list_arguments_are_422(anonymous, query):
    assert_problem(anonymous.get(API + query), 422)


def test_public_list_pages_with_a_cursor(anonymous):
    owner = make_user()
    created = [make_supplier(owner, name=f"合作社{i}").id for i in range(5)]
    seen, cursor = [], None
    while True:
        page = anonymous.get(API + "?limit=2" + (f"&cursor={cursor}" if cursor else "")).json
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(created, reverse=True)


def test_mine_lists_own_suppliers_in_any_status(as_user, anonymous):
    owner, staff = make_user(), make_user()
    own = [make_supplier(owner, status=s).id for s in ("pending", "approved", "rejected")]
    other = make_supplier(staff, status="pending")
    db.session.add(SupplierMember(supplier_id=own[0], user_id=staff.id, role="staff"))
    db.session.commit()
    assert [s["id"] for s in as_user(owner).get(API + "?mine=true").json["items"]] == own[::-1]
    assert [s["id"] for s in as_user(staff).get(API + "?mine=true").json["items"]] == [other.id, own[0]]
    assert [s["id"] for s in as_user(owner).get(API + "?mine=true&status=rejected").json["items"]] == [own[2]]
    assert_problem(anonymous.get(API + "?mine=true"), 401)


def test_only_admins_filter_by_other_statuses(as_user, anonymous):
    owner = make_user()
    pending = make_supplier(owner, status="pending")
    make_supplier(owner, status="approved")
    admin_view = as_user(make_user(admin=True)).get(API + "?status=pending")
    assert [s["id"] for s in admin_view.json["items"]] == [pending.id]
    assert_problem(as_user(owner).get(API + "?status=pending"), 403, "admin_only")
    assert_problem(anonymous.get(API + "?status=suspended"), 401)
    assert len(anonymous.get(API + "?status=approved").json["items"]) == 1


def test_list_runs_the_same_number_of_statements_for_any_page_size(anonymous):
    owner = make_user()
    make_supplier(owner, district_code="500236")

    def statements_for_list():
        with count_statements() as statements:
            assert anonymous.get(API).status_code == 200
        return len(statements)

    few = statements_for_list()
    for code in ("500101", "500102", "500235", "500238", "500240"):
        make_supplier(owner, district_code=code)
    assert len(anonymous.get(API).json["items"]) == 6
    assert statements_for_list() == few


# --- editing ------------------------------------------------------------------------------------------------


def add_staff(supplier_id: int, role: str = "staff"):
    staff = make_user()
    db.session.add(SupplierMember(supplier_id=supplier_id, user_id=staff.id, role=role))
    db.session.commit()
    return staff


def test_owner_edits_the_editable_fields(as_user):
    owner = make_user()
    supplier = make_supplier(owner)
    response = as_user(owner).patch(f"{API}/{supplier.id}", json={
        "name": "巫山县曲尺乡脆李专业合作社", "contact_name": "王五", "contact_phone": "13900001111",
        "address": "巫山县曲尺乡柑园村", "sc_license_number": "SC10150023700017", "food_filing_number": "YB1500237",
        "farmer_linkage": "保底收购"})
    assert response.status_code == 200, response.json
    assert response.json["contact_phone"] == "+8613900001111"
    assert response.json["status"] == "approved"
    assert reload(supplier.id).sc_license_number == "SC10150023700017"
    cleared = as_user(owner).patch(f"{API}/{supplier.id}", json={"sc_license_number": None})
    assert cleared.json["sc_license_number"] is None


def test_staff_may_not_edit_and_outsiders_get_404(as_user, anonymous):
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    staff = add_staff(supplier.id)
    assert_problem(as_user(staff).patch(f"{API}/{supplier.id}", json={"name": "x"}), 403, "role_required")
    assert_problem(as_user(make_user()).patch(f"{API}/{supplier.id}", json={"name": "x"}), 404)
    assert_problem(as_user(make_user(admin=True)).patch(f"{API}/{supplier.id}", json={"name": "x"}), 404)
    assert_problem(anonymous.patch(f"{API}/{supplier.id}", json={"name": "x"}), 401)
    assert reload(supplier.id).name == "巫山脆李合作社"


def test_staff_of_one_supplier_cannot_touch_another(as_user):
    supplier_a = make_supplier(make_user())
    staff_a = add_staff(supplier_a.id)
    owner_b = make_user()
    supplier_b = make_supplier(owner_b)
    pending_b = make_supplier(owner_b, status="pending")
    client = as_user(staff_a)
    assert_problem(client.get(f"{API}/{pending_b.id}"), 404)
    assert "contact_phone" not in client.get(f"{API}/{supplier_b.id}").json
    assert_problem(client.patch(f"{API}/{supplier_b.id}", json={"name": "x"}), 404)
    assert_problem(client.get(f"{API}/{supplier_b.id}/members"), 404)
    assert_problem(client.post(f"{API}/{supplier_b.id}/members", json={"email": staff_a.email}), 404)
    assert_problem(client.get(f"{API}/{supplier_b.id}/events"), 404)
    assert_problem(client.get(f"{API}/{supplier_b.id}/shipping-rule"), 404)
    assert_problem(client.put(f"{API}/{supplier_b.id}/shipping-rule", json=RULE), 404)
    owner_member = db.session.scalar(select(SupplierMember).where(SupplierMember.supplier_id == supplier_b.id))
    assert_problem(client.delete(f"{API}/{supplier_b.id}/members/{owner_member.id}"), 404)
    assert reload(supplier_b.id).name == "巫山脆李合作社"
    assert db.session.get(ShippingRule, supplier_b.id) is None


@pytest.mark.parametrize("status", ["approved", "suspended"])
def test_credit_code_and_district_are_locked_after_approval(as_user, status):
    owner = make_user()
    supplier = make_supplier(owner, status=status)
    client = as_user(owner)
    body = assert_problem(client.patch(f"{API}/{supplier.id}", json={"district_code": "500236"}), 409,
                          "locked_after_approval")
    assert "district_code" in body["errors"]
    assert_problem(client.patch(f"{API}/{supplier.id}", json={"credit_code": valid_credit_code()}), 409,
                   "locked_after_approval")
    assert reload(supplier.id).district_code == "500237"


def test_pending_supplier_may_fix_its_identity(as_user):
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    code = valid_credit_code("500236")
    response = as_user(owner).patch(f"{API}/{supplier.id}", json={"credit_code": code, "district_code": "500236"})
    assert response.status_code == 200, response.json
    assert (response.json["credit_code"], response.json["district"]["code"]) == (code, "500236")
    assert_problem(as_user(owner).patch(f"{API}/{supplier.id}", json={"district_code": "500103"}), 422,
                   "invalid_region")


def test_editing_a_rejected_supplier_reapplies(as_user):
    owner = make_user()
    supplier = make_supplier(owner, status="rejected")
    response = as_user(owner).patch(f"{API}/{supplier.id}", json={"farmer_linkage": "补充带农材料"})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "pending"
    last = as_user(owner).get(f"{API}/{supplier.id}/events").json["items"][-1]
    assert (last["from_status"], last["to_status"], last["actor_id"]) == ("rejected", "pending", owner.id)


@pytest.mark.parametrize("changes", [{"is_demo": True}, {"status": "approved"}, {"name": ""},
                                     {"sc_license_number": "SC123"}, {"credit_code": "91500237000000001X"},
                                     {"contact_phone": "110"}])
def test_bad_edits_are_422_and_change_nothing(as_user, changes):
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    body = assert_problem(as_user(owner).patch(f"{API}/{supplier.id}", json=changes), 422)
    assert set(changes) <= set(body["errors"])
    after = reload(supplier.id)
    assert (after.status, after.is_demo, after.name, after.sc_license_number, after.contact_phone) == (
        "pending", False, "巫山脆李合作社", None, "+8613812345678")


# --- members ------------------------------------------------------------------------------------------------


def test_owner_adds_and_removes_members(as_user):
    owner, newcomer = make_user(), make_user(display_name="张三")
    supplier = make_supplier(owner)
    client = as_user(owner)
    response = client.post(f"{API}/{supplier.id}/members", json={"email": newcomer.email.upper(), "role": "staff"})
    assert response.status_code == 201, response.json
    assert response.json["user_id"] == newcomer.id
    assert response.json["display_name"] == "张三"
    members = client.get(f"{API}/{supplier.id}/members").json["items"]
    assert [(m["user_id"], m["role"]) for m in members] == [(owner.id, "owner"), (newcomer.id, "staff")]
    assert as_user(newcomer).get(f"{API}/{supplier.id}/members").status_code == 200
    assert client.delete(f"{API}/{supplier.id}/members/{response.json['id']}").status_code == 204
    assert not db.session.scalar(select(SupplierMember).where(SupplierMember.user_id == newcomer.id))


def test_a_user_may_belong_to_several_suppliers(as_user):
    owner_a, owner_b, shared = make_user(), make_user(), make_user()
    first, second = make_supplier(owner_a), make_supplier(owner_b)
    for owner, supplier in ((owner_a, first), (owner_b, second)):
        assert as_user(owner).post(f"{API}/{supplier.id}/members",
                                   json={"email": shared.email}).status_code == 201
    mine = as_user(shared).get(API + "?mine=true").json["items"]
    assert {s["id"] for s in mine} == {first.id, second.id}


def test_member_rules(as_user, anonymous):
    owner, staff_user = make_user(), make_user()
    supplier = make_supplier(owner)
    client = as_user(owner)
    body = assert_problem(client.post(f"{API}/{supplier.id}/members", json={"email": "nobody@example.test"}), 422,
                          "unknown_user")
    assert "email" in body["errors"]
    assert_problem(client.post(f"{API}/{supplier.id}/members", json={"email": "not-an-email"}), 422)
    assert_problem(client.post(f"{API}/{supplier.id}/members", json={"email": staff_user.email, "role": "boss"}),
                   422)
    assert client.post(f"{API}/{supplier.id}/members", json={"email": staff_user.email}).status_code == 201
    assert_problem(client.post(f"{API}/{supplier.id}/members", json={"email": staff_user.email}), 409,
                   "already_member")
    assert_problem(client.post(f"{API}/{supplier.id}/members", json={"email": owner.email}), 409, "already_member")

    staff = as_user(staff_user)
    assert_problem(staff.post(f"{API}/{supplier.id}/members", json={"email": make_user().email}), 403,
                   "role_required")
    owner_member = db.session.scalar(select(SupplierMember).where(SupplierMember.user_id == owner.id))
    assert_problem(staff.delete(f"{API}/{supplier.id}/members/{owner_member.id}"), 403, "role_required")
    assert_problem(client.delete(f"{API}/{supplier.id}/members/{owner_member.id}"), 409, "last_owner")
    assert_problem(client.delete(f"{API}/{supplier.id}/members/9999"), 404)
    assert_problem(as_user(make_user()).get(f"{API}/{supplier.id}/members"), 404)
    assert_problem(anonymous.get(f"{API}/{supplier.id}/members"), 401)
    assert as_user(make_user(admin=True)).get(f"{API}/{supplier.id}/members").status_code == 200


def test_an_owner_may_leave_when_another_owner_stays(as_user):
    owner, second = make_user(), make_user()
    supplier = make_supplier(owner)
    client = as_user(owner)
    assert client.post(f"{API}/{supplier.id}/members", json={"email": second.email, "role": "owner"}).status_code == 201
    own = db.session.scalar(select(SupplierMember).where(SupplierMember.user_id == owner.id))
    assert client.delete(f"{API}/{supplier.id}/members/{own.id}").status_code == 204
    assert_problem(client.get(f"{API}/{supplier.id}/members"), 404)  # no longer a member


def test_member_of_another_supplier_cannot_be_removed_through_this_one(as_user):
    owner = make_user()
    mine = make_supplier(owner)
    theirs = make_supplier(make_user())
    their_owner = db.session.scalar(select(SupplierMember).where(SupplierMember.supplier_id == theirs.id))
    assert_problem(as_user(owner).delete(f"{API}/{mine.id}/members/{their_owner.id}"), 404)
    assert db.session.get(SupplierMember, their_owner.id) is not None


def test_member_list_loads_users_without_n_plus_1(as_user):
    owner = make_user()
    supplier = make_supplier(owner)
    client = as_user(owner)

    def statements_for_list():
        with count_statements() as statements:
            assert client.get(f"{API}/{supplier.id}/members").status_code == 200
        return len(statements)

    statements_for_list()  # the token's first use writes its last_used_at: measure after it
    few = statements_for_list()
    for _ in range(4):
        add_staff(supplier.id)
    assert statements_for_list() == few


# --- shipping rule ------------------------------------------------------------------------------------------


RULE = {"base_fee_fen": 800, "base_weight_g": 1000, "per_extra_kg_fen": 300, "cold_chain_surcharge_fen": 1500,
        "free_over_fen": 9900, "excluded_region_codes": ["650000", "540000"]}


def test_managers_set_the_shipping_rule_and_members_read_it(as_user, anonymous):
    owner = make_user()
    supplier = make_supplier(owner)
    staff = as_user(add_staff(supplier.id))
    manager = as_user(add_staff(supplier.id, role="manager"))
    assert_problem(staff.get(f"{API}/{supplier.id}/shipping-rule"), 404, "no_shipping_rule")
    refused = staff.put(f"{API}/{supplier.id}/shipping-rule", json=RULE)
    assert_problem(refused, 403, "role_required")
    assert refused.json["required_role"] == "manager"
    response = manager.put(f"{API}/{supplier.id}/shipping-rule", json=RULE)
    assert response.status_code == 200, response.json
    assert response.json["excluded_region_codes"] == ["540000", "650000"]
    read = as_user(owner).get(f"{API}/{supplier.id}/shipping-rule").json
    assert {k: read[k] for k in RULE if k != "excluded_region_codes"} == {
        k: v for k, v in RULE.items() if k != "excluded_region_codes"}
    assert as_user(make_user(admin=True)).get(f"{API}/{supplier.id}/shipping-rule").status_code == 200
    assert_problem(as_user(make_user()).get(f"{API}/{supplier.id}/shipping-rule"), 404, "not_found")
    assert_problem(anonymous.get(f"{API}/{supplier.id}/shipping-rule"), 401)
    assert_problem(as_user(make_user(admin=True)).put(f"{API}/{supplier.id}/shipping-rule", json=RULE), 404)
    minimal = as_user(owner).put(f"{API}/{supplier.id}/shipping-rule", json={
        "base_fee_fen": 0, "base_weight_g": 0, "per_extra_kg_fen": 0})
    assert minimal.status_code == 200
    assert (minimal.json["free_over_fen"], minimal.json["excluded_region_codes"],
            minimal.json["cold_chain_surcharge_fen"]) == (None, [], 0)


@pytest.mark.parametrize("field, value", [
    ("base_fee_fen", 2.5), ("base_fee_fen", 800.0), ("base_fee_fen", -1), ("base_fee_fen", "800"),
    ("base_fee_fen", True), ("base_fee_fen", None), ("per_extra_kg_fen", 0.5), ("cold_chain_surcharge_fen", -100),
    ("free_over_fen", 99.9), ("free_over_fen", -1), ("base_weight_g", 1.5), ("base_weight_g", -1),
    ("excluded_region_codes", ["99"]), ("excluded_region_codes", ["999999"]), ("excluded_region_codes", "540000"),
])
def test_bad_shipping_rules_are_422_and_change_nothing(as_user, field, value):
    owner = make_user()
    supplier = make_supplier(owner)
    client = as_user(owner)
    assert client.put(f"{API}/{supplier.id}/shipping-rule", json=RULE).status_code == 200
    body = assert_problem(client.put(f"{API}/{supplier.id}/shipping-rule", json={**RULE, field: value}), 422)
    assert field in body["errors"]
    db.session.expire_all()
    saved = db.session.get(ShippingRule, supplier.id)
    assert (saved.base_fee_fen, saved.base_weight_g, saved.per_extra_kg_fen, saved.cold_chain_surcharge_fen,
            saved.free_over_fen, saved.excluded_region_codes) == (800, 1000, 300, 1500, 9900, ["540000", "650000"])


def test_shipping_rule_needs_the_required_amounts(as_user):
    owner = make_user()
    supplier = make_supplier(owner)
    body = assert_problem(as_user(owner).put(f"{API}/{supplier.id}/shipping-rule", json={}), 422)
    assert {"base_fee_fen", "base_weight_g", "per_extra_kg_fen"} <= set(body["errors"])
    assert db.session.get(ShippingRule, supplier.id) is None


# --- documentation ------------------------------------------------------------------------------------------


def test_openapi_documents_the_supplier_paths(anonymous):
    paths = anonymous.get("/api/openapi.json").json["paths"]
    for path in ("/api/v1/suppliers", "/api/v1/suppliers/{supplier_id}", "/api/v1/suppliers/{supplier_id}/review",
                 "/api/v1/suppliers/{supplier_id}/members", "/api/v1/suppliers/{supplier_id}/members/{member_id}",
                 "/api/v1/suppliers/{supplier_id}/events", "/api/v1/suppliers/{supplier_id}/shipping-rule"):
        assert path in paths
