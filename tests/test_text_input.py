"""Text the API refuses before any view runs (shop/text_input.py): lone surrogates, NUL and control characters
anywhere in a JSON body, the query string or the path, and bodies nested too deep. Each refusal is a
problem+json with a stable code that names the field, and changes nothing."""
from __future__ import annotations

import pytest

from shop.accounts.models import User
from shop.addresses.models import Address
from shop.extensions import db
from tests.orders.factories import BUYER_COUNTY
from tests.support import make_user, token_client, assert_problem

ADDRESS = {"recipient": "王五", "mobile": "+8613900001111", "region_code": BUYER_COUNTY, "detail": "玄武大道 1 号",
           "postal_code": "210000"}


def raw_post(client, path: str, text: str, method: str = "POST"):
    """Send JSON text as it is: json.dumps could not even produce some of these bodies."""
    return client.raw.open(path, method=method, data=text.encode("utf-8", "surrogatepass"),
                           headers={"Content-Type": "application/json",
                                    "Authorization": f"Bearer {client.token}"} if client.token else
                           {"Content-Type": "application/json"})


@pytest.fixture
def user():
    return make_user(display_name="原名")


@pytest.fixture
def api(user):
    return token_client(user)


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "a\\udc00b"])
def test_a_lone_surrogate_in_the_profile_is_422_naming_the_field(api, user, escape):
    response = raw_post(api, "/api/v1/auth/me", f'{{"display_name": "{escape}"}}', method="PATCH")
    body = assert_problem(response, 422, "invalid_text")
    assert list(body["errors"]) == ["display_name"]
    db.session.expire_all()
    assert db.session.get(User, user.id).display_name == "原名"


def test_a_lone_surrogate_deep_in_an_address_names_its_path(api):
    text = ('{"recipient": "王五", "mobile": "+8613900001111", "region_code": "%s", "detail": "\\ud83d 号", '
            '"postal_code": "210000"}' % BUYER_COUNTY)
    body = assert_problem(raw_post(api, "/api/v1/addresses", text), 422, "invalid_text")
    assert list(body["errors"]) == ["detail"]
    assert db.session.query(Address).count() == 0


def test_a_valid_surrogate_pair_is_an_ordinary_character(api):
    text = ('{"recipient": "王五", "mobile": "+8613900001111", "region_code": "%s", "detail": "\\ud83c\\udf4a 号", '
            '"postal_code": "210000"}' % BUYER_COUNTY)
    response = raw_post(api, "/api/v1/addresses", text)
    assert response.status_code == 201, response.json
    assert response.json["detail"] == "🍊 号"


@pytest.mark.parametrize("char", ["\u0003", "\u001b", "\u000b", "\u007f\u0001"])
def test_control_characters_are_refused(api, char):
    body = assert_problem(api.post("/api/v1/addresses", json={**ADDRESS, "recipient": f"王{char}五"}), 422,
                          "control_character")
    assert list(body["errors"]) == ["recipient"]
    assert db.session.query(Address).count() == 0


def test_tabs_and_newlines_are_ordinary_text(api):
    response = api.post("/api/v1/addresses", json={**ADDRESS, "detail": "玄武大道 1 号\n3 栋\t2 单元"})
    assert response.status_code == 201, response.json


def test_keys_and_list_items_are_checked_too(api):
    body = assert_problem(api.post("/api/v1/checkout", json={"address_id": 1, "items": [{"sku_id": 1, "quantity": 1},
                                                                                          {"sku\u0002": 1}]}),
                          422, "control_character")
    assert list(body["errors"]) == ["_schema"]  # a bad key is never echoed back as a field name
    body = assert_problem(api.post("/api/v1/checkout", json={"address_id": 1, "note": ["ok", "\u0000"]}), 422,
                          "nul_character")
    assert list(body["errors"]) == ["note.1"]


def test_the_query_string_is_checked(api):
    body = assert_problem(api.get("/api/v1/products?q=%E5%B7%AB%01"), 422, "control_character")
    assert list(body["errors"]) == ["q"]


@pytest.mark.parametrize("text", ["[" * 50_000 + "]" * 50_000, '{"a":' * 20_000 + "1" + "}" * 20_000,
                                  "[" * 40 + "]" * 40])
def test_deeply_nested_json_is_400_malformed_json_even_anonymously(client, api, text):
    # Anonymously on a public operation (a secured one answers 401 first), and signed in on secured ones.
    response = client.raw.post("/api/v1/auth/login", data=text, headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "malformed_json")
    for path in ("/api/v1/addresses", "/api/v1/checkout"):
        assert_problem(raw_post(api, path, text), 400, "malformed_json")


def test_ordinary_nesting_is_not_refused(api):
    nested = {"address_id": 1, "fapiao": {"type": "normal", "title": "南京市第一医院", "extra": [[[["x"]]]]}}
    response = api.post("/api/v1/checkout", json=nested)
    assert response.status_code != 400 or response.json["code"] != "malformed_json"
