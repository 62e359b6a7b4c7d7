"""GI records: a product holds one per scheme; the supplier claims, an operator verifies or rejects, buyers see
which is which, and restating a verified record makes it claimed again."""
from __future__ import annotations

import pytest

from shop.catalog.models import GiRecord
from shop.extensions import db
from tests.catalog.factories import make_product
from tests.support import assert_problem, make_user, token_client
from tests.suppliers.factories import make_supplier

API = "/api/v1"
TRADEMARK = {"scheme": "gi_trademark", "number": "4049199", "protected_area": "重庆市奉节县"}
AGI = {"scheme": "agricultural_gi", "number": "AGI2020-demo", "protected_area": "重庆市奉节县",
       "harvest_months": [11, 12, 1, 2, 3, 4, 5]}


@pytest.fixture
def orange():
    owner = make_user()
    supplier = make_supplier(owner, name="奉节脐橙合作社", district_code="500236")
    product = make_product(supplier, name="奉节脐橙", category="citrus")
    return token_client(owner), product.id


@pytest.fixture
def operator():
    return token_client(make_user(admin=True))


def records_of(client, product_id):
    response = client.get(f"{API}/products/{product_id}/gi-records")
    assert response.status_code == 200, response.json
    return response.json


def test_a_product_holds_several_records_and_buyers_see_claimed_and_verified(orange, operator, client):
    owner, product_id = orange
    first = owner.post(f"{API}/products/{product_id}/gi-records", json=TRADEMARK)
    assert first.status_code == 201, first.json
    assert owner.post(f"{API}/products/{product_id}/gi-records", json=AGI).status_code == 201
    verified = operator.post(f"{API}/gi-records/{first.json['id']}/verify")
    assert verified.status_code == 200 and verified.json["status"] == "verified"

    listed = records_of(client, product_id)
    assert [(r["scheme"], r["status"]) for r in listed] == [("gi_trademark", "verified"), ("agricultural_gi", "claimed")]
    assert listed[1]["harvest_months"] == [1, 2, 3, 4, 5, 11, 12]  # calendar order
    detail = client.get(f"{API}/products/{product_id}").json
    assert detail["gi_verified"] is True and len(detail["gi_records"]) == 2
    gi_only = client.get(f"{API}/products", query_string={"gi_only": "true"}).json["items"]
    assert [p["id"] for p in gi_only] == [product_id]


def test_restating_a_verified_record_makes_it_claimed_again(orange, operator):
    owner, product_id = orange
    record = owner.post(f"{API}/products/{product_id}/gi-records", json=TRADEMARK).json
    operator.post(f"{API}/gi-records/{record['id']}/verify")
    same = owner.post(f"{API}/products/{product_id}/gi-records", json=TRADEMARK).json
    assert (same["id"], same["status"]) == (record["id"], "verified")  # nothing changed: still verified
    moved = owner.post(f"{API}/products/{product_id}/gi-records", json={**TRADEMARK, "number": "4049200"}).json
    assert (moved["id"], moved["status"], moved["number"]) == (record["id"], "claimed", "4049200")


def test_a_rejection_says_why_and_the_supplier_can_withdraw(orange, operator, client):
    owner, product_id = orange
    record = owner.post(f"{API}/products/{product_id}/gi-records", json=TRADEMARK).json
    before = db.session.get(GiRecord, record["id"]).status
    assert_problem(operator.post(f"{API}/gi-records/{record['id']}/reject", json={}), 422)
    assert_problem(operator.post(f"{API}/gi-records/{record['id']}/reject", json={"note": "  "}), 422,
                   "reason_required")
    db.session.expire_all()
    assert db.session.get(GiRecord, record["id"]).status == before == "claimed"
    rejected = operator.post(f"{API}/gi-records/{record['id']}/reject", json={"note": "商标局查无此号"}).json
    assert (rejected["status"], rejected["review_note"]) == ("rejected", "商标局查无此号")
    assert client.get(f"{API}/products/{product_id}").json["gi_verified"] is False
    assert owner.delete(f"{API}/gi-records/{record['id']}").status_code == 204
    assert records_of(client, product_id) == []


def test_operators_only_decide_and_members_only_claim(orange, operator):
    owner, product_id = orange
    record = owner.post(f"{API}/products/{product_id}/gi-records", json=TRADEMARK).json
    stranger = token_client(make_user())
    assert_problem(owner.post(f"{API}/gi-records/{record['id']}/verify"), 404, "not_found")
    assert_problem(stranger.post(f"{API}/gi-records/{record['id']}/verify"), 404, "not_found")
    assert_problem(stranger.post(f"{API}/products/{product_id}/gi-records", json=AGI), 404, "not_found")
    assert_problem(stranger.delete(f"{API}/gi-records/{record['id']}"), 404, "not_found")
    assert_problem(operator.post(f"{API}/gi-records/999999/verify"), 404, "not_found")
    db.session.expire_all()
    assert [r.status for r in db.session.query(GiRecord)] == ["claimed"]


def test_an_illegal_decision_is_409_and_bad_claims_are_422(orange, operator):
    owner, product_id = orange
    record = owner.post(f"{API}/products/{product_id}/gi-records", json=TRADEMARK).json
    assert operator.post(f"{API}/gi-records/{record['id']}/verify").status_code == 200
    assert_problem(operator.post(f"{API}/gi-records/{record['id']}/verify"), 409, "illegal_gi_transition")
    for bad in ({**TRADEMARK, "scheme": "made_up"}, {**TRADEMARK, "number": ""}, {"scheme": "gi_trademark"},
                {**AGI, "harvest_months": [0]}, {**AGI, "harvest_months": [13]}, {**TRADEMARK, "number": "x" * 65}):
        assert_problem(owner.post(f"{API}/products/{product_id}/gi-records", json=bad), 422)
    assert len(records_of(owner, product_id)) == 1


def test_a_gi_claim_is_not_cleared_through_the_product(orange):
    owner, product_id = orange
    owner.post(f"{API}/products/{product_id}/gi-records", json=TRADEMARK)
    assert_problem(owner.patch(f"{API}/products/{product_id}", json={"gi_scheme": None, "gi_number": None,
                                                                     "gi_protected_area": None}),
                   422, "gi_withdraw_by_record")
    assert len(records_of(owner, product_id)) == 1
