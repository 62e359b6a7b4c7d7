"""The county step of supplier vetting: admins appoint county reviewers, a reviewer sees and recommends (or
turns down) only its own district's applicants, and the platform approves only recommended ones."""
from __future__ import annotations

import threading

import pytest
from flask import current_app
from sqlalchemy import func, select

from shop.extensions import db
from shop.suppliers.models import CountyReviewer, Supplier, SupplierStatusEvent
from tests.support import assert_problem, make_user, token_client
from tests.suppliers.factories import make_reviewer, make_supplier, recommend, valid_credit_code

API = "/api/v1"
WUSHAN, FENGJIE = "500237", "500236"


def county_review(client, supplier_id, action, reason=""):
    return client.post(f"{API}/suppliers/{supplier_id}/county-review", json={"action": action, "reason": reason})


def status_of(supplier_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Supplier, supplier_id).status


def moves_to(supplier_id: int, status: str) -> int:
    return db.session.scalar(select(func.count()).select_from(SupplierStatusEvent).where(
        SupplierStatusEvent.supplier_id == supplier_id, SupplierStatusEvent.to_status == status))


# --- appointments -------------------------------------------------------------------------------------------


def test_admins_appoint_list_and_revoke_county_reviewers():
    admin, user = token_client(make_user(admin=True)), make_user()
    response = admin.post(f"{API}/county-reviewers", json={"email": user.email.upper(), "district_code": WUSHAN})
    assert response.status_code == 201, response.json
    assert (response.json["user_id"], response.json["district_code"]) == (user.id, WUSHAN)
    assert response.json["district"]["code"] == WUSHAN
    make_reviewer(FENGJIE)
    listed = admin.get(f"{API}/county-reviewers", query_string={"limit": 1}).json
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    only_wushan = admin.get(f"{API}/county-reviewers", query_string={"district": WUSHAN}).json["items"]
    assert [r["user_id"] for r in only_wushan] == [user.id]
    assert admin.delete(f"{API}/county-reviewers/{response.json['id']}").status_code == 204
    assert db.session.scalar(select(CountyReviewer).where(CountyReviewer.user_id == user.id)) is None
    assert_problem(admin.delete(f"{API}/county-reviewers/{response.json['id']}"), 404, "not_found")


@pytest.mark.parametrize("body, status, code", [
    ({"email": "nobody@example.test", "district_code": WUSHAN}, 422, "unknown_user"),
    ({"district_code": WUSHAN}, 422, "validation_error"),
    ({"email": "EMAIL", "district_code": "320100"}, 422, "invalid_region"),  # not a reservoir-area district
    ({"email": "EMAIL", "district_code": "999999"}, 422, "invalid_region"),
    ({"email": "EMAIL", "district_code": "5002"}, 422, "validation_error"),
])
def test_bad_appointments_are_422(body, status, code):
    user = make_user()
    body = {k: (user.email if v == "EMAIL" else v) for k, v in body.items()}
    assert_problem(token_client(make_user(admin=True)).post(f"{API}/county-reviewers", json=body), status, code)
    assert db.session.scalar(select(func.count()).select_from(CountyReviewer)) == 0


def test_a_reviewer_serves_one_district():
    user = make_reviewer(WUSHAN)
    response = token_client(make_user(admin=True)).post(f"{API}/county-reviewers",
                                                        json={"email": user.email, "district_code": FENGJIE})
    assert_problem(response, 409, "already_appointed")


def test_only_admins_manage_reviewers():
    client = token_client(make_reviewer(WUSHAN))
    assert_problem(client.get(f"{API}/county-reviewers"), 403, "admin_only")
    assert_problem(client.post(f"{API}/county-reviewers", json={"email": make_user().email,
                                                                "district_code": WUSHAN}), 403, "admin_only")
    reviewer_id = db.session.scalar(select(CountyReviewer.id))
    assert_problem(client.delete(f"{API}/county-reviewers/{reviewer_id}"), 403, "admin_only")


# --- the queue ----------------------------------------------------------------------------------------------


def test_the_queue_holds_the_districts_applicants_with_the_credit_code_region_flagged():
    owner = make_user()
    local = make_supplier(owner, status="pending", name="本地合作社")
    moved = make_supplier(owner, status="pending", name="迁入企业", credit_code=valid_credit_code(FENGJIE))
    make_supplier(owner, status="pending", district_code=FENGJIE, name="奉节企业")
    make_supplier(owner, status="approved", name="已批准")
    client = token_client(make_reviewer(WUSHAN))
    first = client.get(f"{API}/county-review/queue", query_string={"limit": 1}).json
    assert [s["id"] for s in first["items"]] == [local.id]  # oldest first
    assert (first["items"][0]["credit_code_region"], first["items"][0]["region_mismatch"]) == (WUSHAN, False)
    rest = client.get(f"{API}/county-review/queue", query_string={"limit": 1, "cursor": first["next_cursor"]}).json
    assert [s["id"] for s in rest["items"]] == [moved.id]
    assert (rest["items"][0]["credit_code_region"], rest["items"][0]["district_code"],
            rest["items"][0]["region_mismatch"]) == (FENGJIE, WUSHAN, True)
    assert rest["next_cursor"] is None
    # Flagged, not refused: the reviewer may still recommend it.
    assert county_review(client, moved.id, "recommend", "已核实迁入").json["status"] == "recommended"
    recommended = client.get(f"{API}/county-review/queue", query_string={"status": "recommended"}).json["items"]
    assert [s["id"] for s in recommended] == [moved.id]


def test_the_queue_is_for_county_reviewers_only():
    for user in (make_user(), make_user(admin=True)):
        body = assert_problem(token_client(user).get(f"{API}/county-review/queue"), 403, "role_required")
        assert body["required_role"] == "county_reviewer"
    assert_problem(token_client(make_reviewer()).get(f"{API}/county-review/queue",
                                                     query_string={"status": "approved"}), 422)


# --- the county's step --------------------------------------------------------------------------------------


def test_other_districts_applicants_do_not_exist_for_a_reviewer():
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    fengjie = token_client(make_reviewer(FENGJIE))
    assert_problem(county_review(fengjie, supplier.id, "recommend"), 404, "not_found")
    assert_problem(county_review(fengjie, 999_999, "recommend"), 404, "not_found")
    body = assert_problem(county_review(token_client(make_user()), supplier.id, "recommend"), 403, "role_required")
    assert body["required_role"] == "county_reviewer"
    assert_problem(county_review(token_client(owner), supplier.id, "recommend"), 403,
                   "role_required")  # an applicant does not recommend itself
    assert status_of(supplier.id) == "pending"


def test_a_revoked_reviewer_can_no_longer_act():
    supplier = make_supplier(make_user(), status="pending")
    user = make_reviewer(WUSHAN)
    db.session.delete(db.session.scalar(select(CountyReviewer).where(CountyReviewer.user_id == user.id)))
    db.session.commit()
    assert_problem(county_review(token_client(user), supplier.id, "recommend"), 403, "role_required")


def test_the_county_returns_an_application_with_reasons_and_the_applicant_reapplies():
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    reviewer = make_reviewer(WUSHAN)
    client = token_client(reviewer)
    body = assert_problem(county_review(client, supplier.id, "reject", "   "), 422, "reason_required")
    assert "reason" in body["errors"]
    response = county_review(client, supplier.id, "reject", "营业执照与实际经营地不符")
    assert response.status_code == 200 and response.json["status"] == "rejected"
    assert response.json["status_reason"] == "营业执照与实际经营地不符"
    event = db.session.scalar(select(SupplierStatusEvent).where(SupplierStatusEvent.supplier_id == supplier.id)
                              .order_by(SupplierStatusEvent.id.desc()).limit(1))
    assert (event.from_status, event.to_status, event.actor_id) == ("pending", "rejected", reviewer.id)
    assert token_client(owner).patch(f"{API}/suppliers/{supplier.id}", json={"address": "巫山县曲尺乡 2 号"}).json[
        "status"] == "pending"
    assert county_review(client, supplier.id, "recommend").json["status"] == "recommended"


@pytest.mark.parametrize("status, action", [("recommended", "recommend"), ("approved", "recommend"),
                                            ("rejected", "recommend"), ("recommended", "reject"),
                                            ("suspended", "reject")])
def test_the_county_acts_on_pending_applicants_only(status, action):
    supplier = make_supplier(make_user(), status=status)
    assert_problem(county_review(token_client(make_reviewer()), supplier.id, action, "because"), 409,
                   "illegal_supplier_transition")
    assert status_of(supplier.id) == status


@pytest.mark.parametrize("body", [{}, {"action": "approve"}, {"action": "suspend", "reason": "x"},
                                  {"action": 1}, {"action": "recommend", "reason": "x" * 1001}])
def test_bad_county_reviews_are_422(body):
    supplier = make_supplier(make_user(), status="pending")
    client = token_client(make_reviewer())
    assert_problem(client.post(f"{API}/suppliers/{supplier.id}/county-review", json=body), 422)
    assert status_of(supplier.id) == "pending"


def test_a_recommended_applicants_identity_is_locked():
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    recommend(supplier.id)
    response = token_client(owner).patch(f"{API}/suppliers/{supplier.id}", json={"district_code": FENGJIE})
    assert_problem(response, 409, "locked_after_approval")


# --- races --------------------------------------------------------------------------------------------------


def race(calls) -> list[int]:
    """Run the calls at once (threads released together); their status codes."""
    db.session.commit()  # nothing of the test thread may hold a lock while the threads run
    app = current_app._get_current_object()
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i):
        with app.app_context():  # each request thread gets its own session
            barrier.wait(timeout=30)
            results[i] = calls[i]().status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def _warm(*clients):
    for client in clients:  # first use of a token writes last_used_at: do it before the race
        assert client.get(f"{API}/suppliers", query_string={"mine": "true"}).status_code == 200


def test_two_reviewers_recommending_at_once_count_once():
    # Plain ids: an ORM object expired by the commit would reload through the test thread's session.
    supplier_id = make_supplier(make_user(), status="pending").id
    clients = [token_client(make_reviewer(WUSHAN)), token_client(make_reviewer(WUSHAN))]
    _warm(*clients)
    results = race([lambda c=c: county_review(c, supplier_id, "recommend", "ok") for c in clients])
    assert sorted(results) == [200, 409], results
    assert moves_to(supplier_id, "recommended") == 1


def test_two_admins_approving_at_once_count_once():
    supplier_id = make_supplier(make_user(), status="pending").id
    recommend(supplier_id)
    clients = [token_client(make_user(admin=True)), token_client(make_user(admin=True))]
    _warm(*clients)
    results = race([lambda c=c: c.post(f"{API}/suppliers/{supplier_id}/review", json={"action": "approve"})
                    for c in clients])
    assert sorted(results) == [200, 409], results
    assert moves_to(supplier_id, "approved") == 1 and status_of(supplier_id) == "approved"


def test_a_reviewer_opens_its_districts_applicants_and_their_history_but_no_others():
    owner = make_user()
    local = make_supplier(owner, status="pending", name="本地合作社")
    elsewhere = make_supplier(owner, status="pending", district_code=FENGJIE, name="奉节企业")
    client = token_client(make_reviewer(WUSHAN))
    detail = client.get(f"{API}/suppliers/{local.id}")
    assert detail.status_code == 200 and detail.json["contact_phone"] == local.contact_phone
    assert county_review(client, local.id, "reject", "营业执照地址与申报不符").status_code == 200
    events = client.get(f"{API}/suppliers/{local.id}/events").json["items"]
    assert events[-1]["reason"] == "营业执照地址与申报不符"
    assert_problem(client.get(f"{API}/suppliers/{elsewhere.id}"), 404, "not_found")
    assert_problem(client.get(f"{API}/suppliers/{elsewhere.id}/events"), 404, "not_found")
    assert_problem(client.get(f"{API}/suppliers/{local.id}/members"), 404, "not_found")
