"""The address book: county-level codes, normalised mobiles, one default, strictly one's own."""
from __future__ import annotations

import pytest

from tests.orders.factories import anonymous, make_address, state
from tests.support import make_user, assert_problem

API = "/api/v1/addresses"


def body(**overrides) -> dict:
    values = {"recipient": "王五", "mobile": "138 1234 5678", "region_code": "320102", "detail": "玄武大道 1 号",
              "postal_code": "210000"}
    values.update(overrides)
    return values


@pytest.fixture
def shopper(as_user):
    user = make_user()
    return user, as_user(user)


def test_create_normalises_the_mobile_and_names_the_region(shopper):
    _, client = shopper
    response = client.post(API, json=body())
    assert response.status_code == 201, response.json
    address = response.json
    assert address["mobile"] == "+8613812345678"
    assert address["region_code"] == "320102"
    assert address["region_name"] == "玄武区"
    assert address["detail"] == "玄武大道 1 号"
    assert client.get(f"{API}/{address['id']}").json == address


@pytest.mark.parametrize("mobile", ["+86 138-1234-5678", "8613812345678", "13812345678"])
def test_every_way_of_writing_a_mobile_is_stored_in_e164(shopper, mobile):
    _, client = shopper
    response = client.post(API, json=body(mobile=mobile))
    assert response.status_code == 201, response.json
    assert response.json["mobile"] == "+8613812345678"


@pytest.mark.parametrize("mobile", ["12345", "+14155550123", "02388888888", "not a phone"])
def test_a_number_that_is_not_a_chinese_mobile_is_refused(shopper, mobile):
    _, client = shopper
    before = state()
    problem = assert_problem(client.post(API, json=body(mobile=mobile)), 422)
    assert "mobile" in problem["errors"]
    assert state() == before


@pytest.mark.parametrize("code", ["320000", "320100"])  # a province and a city: not county level
def test_region_code_must_be_county_level(shopper, code):
    _, client = shopper
    before = state()
    problem = assert_problem(client.post(API, json=body(region_code=code)), 422, "invalid_region")
    assert "region_code" in problem["errors"]
    assert state() == before


@pytest.mark.parametrize("code", ["999999", "12345", "abcdef"])
def test_unknown_or_malformed_region_code_is_refused(shopper, code):
    _, client = shopper
    before = state()
    problem = assert_problem(client.post(API, json=body(region_code=code)), 422)
    assert "region_code" in problem["errors"]
    assert state() == before


@pytest.mark.parametrize("overrides", [
    {"recipient": 123},
    {"recipient": ""},
    {"region_code": 320102},
    {"mobile": 13812345678},
    {"detail": None},
    {"postal_code": "21000"},
    {"is_default": "maybe"},
])
def test_bad_types_are_422_and_create_nothing(shopper, overrides):
    _, client = shopper
    before = state()
    problem = assert_problem(client.post(API, json=body(**overrides)), 422)
    assert set(overrides) <= set(problem["errors"])
    assert state() == before


def test_missing_fields_are_named(shopper):
    _, client = shopper
    problem = assert_problem(client.post(API, json={}), 422)
    assert {"recipient", "mobile", "region_code", "detail"} <= set(problem["errors"])


def test_anonymous_cannot_use_the_address_book():
    assert_problem(anonymous().get(API), 401)
    assert_problem(anonymous().post(API, json=body()), 401)


def test_the_first_address_becomes_the_default_and_later_ones_do_not(shopper):
    _, client = shopper
    first = client.post(API, json=body(recipient="一")).json
    second = client.post(API, json=body(recipient="二")).json
    assert first["is_default"] is True
    assert second["is_default"] is False
    listed = client.get(API).json
    assert [(a["id"], a["is_default"]) for a in listed] == [(first["id"], True), (second["id"], False)]


def test_setting_a_default_moves_it(shopper):
    _, client = shopper
    first = client.post(API, json=body(recipient="一")).json
    second = client.post(API, json=body(recipient="二")).json
    response = client.patch(f"{API}/{second['id']}", json={"is_default": True})
    assert response.status_code == 200
    assert response.json["is_default"] is True
    defaults = {a["id"]: a["is_default"] for a in client.get(API).json}
    assert defaults == {first["id"]: False, second["id"]: True}
    # Created as default: it takes the flag from the previous one.
    third = client.post(API, json=body(recipient="三", is_default=True)).json
    defaults = {a["id"]: a["is_default"] for a in client.get(API).json}
    assert defaults == {first["id"]: False, second["id"]: False, third["id"]: True}


def test_deleting_the_default_passes_the_flag_on(shopper):
    _, client = shopper
    first = client.post(API, json=body(recipient="一")).json
    second = client.post(API, json=body(recipient="二")).json
    assert client.delete(f"{API}/{first['id']}").status_code == 204
    assert [(a["id"], a["is_default"]) for a in client.get(API).json] == [(second["id"], True)]
    assert_problem(client.get(f"{API}/{first['id']}"), 404)


def test_patch_changes_only_what_is_sent_and_checks_the_region(shopper):
    _, client = shopper
    address = client.post(API, json=body()).json
    response = client.patch(f"{API}/{address['id']}", json={"detail": "中山路 2 号", "mobile": "13900001111"})
    assert response.status_code == 200, response.json
    assert response.json["detail"] == "中山路 2 号"
    assert response.json["mobile"] == "+8613900001111"
    assert response.json["recipient"] == address["recipient"]
    before = state()
    assert_problem(client.patch(f"{API}/{address['id']}", json={"region_code": "320000"}), 422, "invalid_region")
    assert_problem(client.patch(f"{API}/{address['id']}", json={"region_code": "999999"}), 422, "invalid_region")
    assert_problem(client.patch(f"{API}/{address['id']}", json={"recipient": 5}), 422)
    assert state() == before


def test_another_users_address_is_404_for_get_patch_and_delete(shopper, as_user):
    owner, _ = shopper
    address = make_address(owner)
    intruder = as_user(make_user())
    before = state()
    assert_problem(intruder.get(f"{API}/{address.id}"), 404)
    assert_problem(intruder.patch(f"{API}/{address.id}", json={"detail": "hijacked", "is_default": True}), 404)
    assert_problem(intruder.delete(f"{API}/{address.id}"), 404)
    assert intruder.get(API).json == []
    assert state() == before
    assert_problem(intruder.get(f"{API}/{address.id + 1000}"), 404)
