"""Property-based API test: every operation of /api/openapi.json, fuzzed in-process with schemathesis.

`test_api` is parametrized by schemathesis: one pytest test per operation, so tests/conftest.py gives each
operation a clean database. Each generated request is sent twice, anonymously and then as a signed-in user
(a Bearer token; tokens, not logins: the test config allows 5 logins a minute). Every answer must be:

- never a 5xx (the app's Stripe client talks to localstripe, so not even 502 payment_provider_error);
- a 4xx only as application/problem+json with `code`, `status` (the HTTP status) and `title`;
- a 2xx that matches the documented response schema and content type;
- a 4xx for a request that breaks the documented request schema (negative_data_rejection), and a 405 with
  `Allow` for a method the path does not have (unsupported_method, allow_header_conformance);
- a refusal of a request without valid credentials to every operation the spec secures (ignored_auth).

Not checked, on purpose:
- `status_code_conformance`: flask-smorest documents a `default` response on every operation, so any status
  conforms and the check cannot fail.
- schema and content-type conformance of *error* answers: flask-smorest documents them as application/json
  with its own `Error` schema ({code: int, status: str, message}), which is not what shop.errors sends
  (application/problem+json); pinned separately by test_documented_error_response_is_problem_json.

A small dataset is seeded per test (see `seeded`) and generated values are steered towards it: ids to 1 or 2,
region codes, mobile numbers, credit codes and emails to valid or seeded ones, so that requests get past the
lookups to the code behind them. In about a quarter of the bodies and query strings one string gets a NUL
character (valid JSON and valid per the schema; PostgreSQL text cannot hold it). Generation is derandomized,
bounded (MAX_EXAMPLES per operation) and not shrunk: CI runs the same cases as a laptop, in bounded time.

The plain tests at the end pin the bugs the fuzzing found, each with the exact request.
"""
from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (allow_header_conformance, content_type_conformance, ignored_auth,
                                               negative_data_rejection, response_schema_conformance,
                                               unsupported_method)

from config import TestingConfig
from shop import create_app
from shop.accounts.services import create_token
from shop.cart import services as cart
from shop.catalog import services as catalog
from shop.extensions import db
from tests.catalog.factories import make_product
from tests.orders.factories import SHIP, make_address, pay, set_rule, sku_of
from tests.suppliers.factories import make_supplier, supplier_fields, valid_credit_code
from tests.support import ApiClient, make_user

PROBLEM_JSON = "application/problem+json"
MAX_EXAMPLES = 15


def _spec_app():
    """An app to read the spec from at collection time; requests go to the session `app` fixture."""

    class SpecConfig(TestingConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    return create_app(SpecConfig)


schema = schemathesis.openapi.from_wsgi("/api/openapi.json", _spec_app())


# --- steering generated values towards the seeded rows and valid formats ---------------------------------------

KNOWN_IDS = (1, 2)
REGION_KEYS = {"code", "region_code", "origin_district_code", "district_code", "home_region_code", "supporter_code",
               "recipient_code", "parent", "district", "origin_district", "supporter", "recipient"}
REGIONS = ("500237", "320102", "500000")  # a reservoir county, the seeded buyer's county, a province
PHONE_KEYS = {"mobile", "contact_phone"}
ID_KEYS = {"category"}
ME, OTHER = "me@example.test", "other@example.test"  # the seeded users' emails
CREDIT_CODE = valid_credit_code("500237", serial=424242)  # checksum-valid, used by no seeded supplier


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _steer(key, value):
    """Often a seeded id, a valid region code, mobile number or credit code, or a seeded user's email instead of
    the generated value, which is kept otherwise (random, huge, or invalid in negative mode). Only values that
    already have the documented type and format are replaced, so a negative case stays negative."""
    key = key if isinstance(key, str) else ""
    if (key.endswith("_id") or key in ID_KEYS) and _is_int(value) and value >= 0:
        return st.sampled_from((value, value, *KNOWN_IDS))
    if key in REGION_KEYS and isinstance(value, str) and len(value) == 6 and value.isascii() and value.isdigit():
        return st.sampled_from((value, *REGIONS))
    if key in PHONE_KEYS and isinstance(value, str):
        return st.sampled_from((value, "+8613812345678"))
    if key == "credit_code" and isinstance(value, str):
        return st.sampled_from((value, CREDIT_CODE))
    if key == "email" and isinstance(value, str):
        return st.sampled_from((value, value, ME, OTHER))
    if isinstance(value, dict):
        return st.fixed_dictionaries({k: _steer(k, v) for k, v in value.items()})
    if isinstance(value, list):
        return st.tuples(*(_steer(key, item) for item in value)).map(list)
    return st.just(value)


def _string_paths(value, path=()):
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _string_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _string_paths(v, (*path, i))


def _with_nul(value, path):
    if not path:
        return value + "\x00"
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _with_nul(copy[path[0]], path[1:])
    return copy


def _maybe_nul(value):
    """About a quarter of the time, one string (of a body or the query) gets a NUL character appended."""
    paths = list(_string_paths(value))
    if not paths:
        return st.just(value)
    return st.integers(0, 4 * len(paths) - 1).map(lambda i: _with_nul(value, paths[i]) if i < len(paths) else value)


@schema.hook("flatmap_path_parameters")
def _steer_path(context, path_parameters):
    # every path parameter but the region {code} is an integer id named *_id
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    return st.fixed_dictionaries({name: _steer(name, value) for name, value in path_parameters.items()})


@schema.hook("flatmap_query")
def _steer_query(context, query):
    return _steer(None, query).flatmap(_maybe_nul)


@schema.hook("flatmap_body")
def _steer_body(context, body):
    return _steer(None, body).flatmap(_maybe_nul)


# --- seeded data -----------------------------------------------------------------------------------------------

ORDER_PATHS = ("/orders", "/fulfillments", "/refunds")


def _api(app, user) -> ApiClient:
    api = ApiClient(app.test_client())
    _, api.token = create_token(user=user, name="seed")
    return api


def _place_delivered_order(app, buyer, seller, address_id, sku_id) -> dict:
    """`buyer` orders one unit of sku_id and pays at localstripe; `seller` ships and delivers it."""
    response = _api(app, buyer).post("/api/v1/checkout", json={
        "address_id": address_id, "items": [{"sku_id": sku_id, "quantity": 1}]})
    assert response.status_code == 201, response.get_data(as_text=True)
    order = response.json["order"]
    pay(order["id"])
    seller_api = _api(app, seller)
    (fulfillment,) = order["fulfillments"]
    for action, body in (("ship", SHIP), ("deliver", None)):
        response = seller_api.post(f"/api/v1/fulfillments/{fulfillment['id']}/{action}", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
    return order


@pytest.fixture
def seeded(request, app, stripe_server):
    """`me` (the signed-in user) and `other` each own an approved supplier with one active product (one SKU) and
    have an address; `me` has a cart line. For the order-side operations also two delivered orders: #1 `me`
    bought from `other`; #2 `other` bought from `me` and asked for refund #1, which `me` decides on.
    Ids 1 and 2 everywhere: where generated ids are steered to. Returns `me`."""
    me = make_user(ME, display_name="测试用户", home_region_code="320102")
    other = make_user(OTHER, display_name="另一个用户")
    supplier_1 = make_supplier(me, name="巫山脆李合作社", district_code="500237")
    supplier_2 = make_supplier(other, name="奉节脐橙合作社", district_code="500236")
    product_1 = make_product(supplier_1)
    product_2 = make_product(supplier_2, name="奉节脐橙", category="citrus", cold_chain=False,
                             return_policy="seven_day")
    address_1 = make_address(me)
    address_2 = make_address(other)
    sku_1, sku_2 = sku_of(product_1.id), sku_of(product_2.id)
    cart.add_line(user=me, sku_id=sku_2, quantity=1)
    db.session.commit()
    ids = (me.id, other.id, supplier_1.id, supplier_2.id, product_1.id, product_2.id, sku_1, sku_2,
           address_1.id, address_2.id)
    assert ids == (1, 2) * 5, ids

    if any(part in request.node.name for part in ORDER_PATHS):
        first = _place_delivered_order(app, me, other, address_1.id, sku_2)
        second = _place_delivered_order(app, other, me, address_2.id, sku_1)
        assert (first["id"], second["id"]) == (1, 2)
        response = _api(app, other).post("/api/v1/orders/2/refunds", json={
            "kind": "quality_claim", "reason": "烂果", "photo_urls": ["https://img.example.test/rotten.jpg"],
            "items": [{"order_line_id": second["lines"][0]["id"], "quantity": 1}]})
        assert response.status_code == 201, response.get_data(as_text=True)
    return me


@pytest.fixture
def bearer(seeded):
    """Authorization headers with a fresh token of `me` per call: an earlier example may have revoked the last
    one (DELETE /auth/tokens/1) or ended every session (password change, logout)."""

    def make():
        _, plain = create_token(user=seeded, name="fuzz")
        return {"Authorization": f"Bearer {plain}"}

    return make


# --- the property ----------------------------------------------------------------------------------------------

# ignored_auth: an operation the spec secures (every one not marked `security: []`) must refuse a request without
# credentials, or with invalid ones; it probes both for every signed-in success.
CHECKS = [not_a_server_error, negative_data_rejection, unsupported_method, allow_header_conformance, ignored_auth]
SUCCESS_CHECKS = [response_schema_conformance, content_type_conformance]


def check_problem_json(response, case) -> None:
    """Every 4xx is application/problem+json with a stable `code`, `status` and `title`."""
    if not 400 <= response.status_code < 500:
        return
    what = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.split(";")[0].strip() == PROBLEM_JSON, f"not {PROBLEM_JSON} ({content_type}): {what}"
    body = response.json()
    assert isinstance(body, dict), what
    assert isinstance(body.get("code"), str) and body["code"], what
    assert body.get("status") == response.status_code, what
    assert isinstance(body.get("title"), str) and body["title"], what


def call_and_check(app, case, headers=None) -> None:
    # The spec declares the session cookie and the Bearer header, so schemathesis puts generated (meaningless)
    # values of them into the case: drop them, so that the anonymous call is anonymous and the signed-in one
    # carries only the real token.
    (case.headers or {}).pop("Authorization", None)
    (case.cookies or {}).pop("session", None)
    # A Flask test client, so that tests/request_context.py runs each request in an app context of its own.
    response = case.call(app=app, session=app.test_client(), headers=headers)
    checks = CHECKS + (SUCCESS_CHECKS if 200 <= response.status_code < 300 else [])
    # ignored_auth's probes go to `app` too (not to the app the spec was read from, which has no tables).
    case.validate_response(response, checks=checks, headers=headers,
                           transport_kwargs={"app": app, "session": app.test_client()})
    check_problem_json(response, case)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          database=None, phases=[Phase.explicit, Phase.generate])  # no shrinking: a failing run stays fast
def test_api(app, bearer, case):
    call_and_check(app, case)
    call_and_check(app, case, headers=bearer())


# --- regression tests for what the fuzzing found ------------------------------------------------------------------


def _problem(response, status: int | None = None) -> dict:
    what = (response.status_code, response.get_data(as_text=True)[:500])
    assert 400 <= response.status_code < 500, what
    if status is not None:
        assert response.status_code == status, what
    assert response.mimetype == PROBLEM_JSON, what
    body = response.get_json(force=True)
    assert body["status"] == response.status_code and body["code"] and body["title"], body
    return body


@pytest.fixture
def me_api(app):
    """A signed-in user (Bearer token) who owns approved supplier #1 with product #1 / SKU #1."""
    me = make_user(display_name="测试用户")
    make_product(make_supplier(me))
    return _api(app, me)


BIG = 678632731034465201364664320


@pytest.mark.parametrize("method,path,body", [
    ("DELETE", f"/api/v1/suppliers/{BIG}/members/409", None),
    ("PUT", "/api/v1/suppliers/973685522719487557632/shipping-rule",
     {"base_fee_fen": 883, "per_extra_kg_fen": 415, "base_weight_g": 859453}),
    ("POST", "/api/v1/products/1287889661904239035810687049172779008/skus",
     {"spec": "=", "price_fen": 2107921, "min_order_qty": 228, "weight_g": 1814}),
    ("PATCH", "/api/v1/skus/18829896184", {"weight_g": 942}),  # > 2**31: 500 on PostgreSQL only
    ("POST", "/api/v1/skus/7308616590801/stock-adjustments", {"delta": 409, "reason": "adjustment"}),
    ("POST", "/api/v1/products", {"supplier_id": 1, "category_id": 621221381122049572864, "name": "巫山脆李",
                                  "origin_district_code": "500237", "product_type": "raw_produce",
                                  "return_policy": "seven_day"}),
    ("POST", "/api/v1/products", {"supplier_id": 2955127914464, "category_id": 1, "name": "巫山脆李",
                                  "origin_district_code": "500237", "product_type": "raw_produce",
                                  "return_policy": "seven_day"}),
])
def test_an_oversized_id_is_a_4xx_problem_not_a_500(me_api, method, path, body):
    """Ids beyond the 32-bit id columns overflowed: OverflowError on SQLite (> 2**63), "integer out of range"
    on PostgreSQL (> 2**31), both a 500."""
    _problem(me_api.open(method, path, json=body))


def test_a_validation_error_on_list_items_and_on_the_list_is_a_422_not_a_500(me_api):
    """{"sale_months": [0, 1, 1]}: marshmallow reports {"sale_months": {0: [...], "_schema": [...]}}; jsonify
    (sort_keys) cannot order the int and str keys: TypeError inside the error handler, a 500 (in tests the
    exception propagates). Signed in: an anonymous caller gets 401 before any field rule."""
    body = _problem(me_api.patch("/api/v1/products/1", json={"sale_months": [0, 1, 1]}), 422)
    assert set(body["errors"]["sale_months"]) == {"0", "_schema"}, body


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/api/v1/auth/tokens", {"name": "a\x00b"}),
    ("PATCH", "/api/v1/auth/me", {"display_name": "a\x00b"}),
    ("POST", "/api/v1/addresses", {"recipient": "a\x00b", "mobile": "+8613812345678", "region_code": "320102",
                                   "detail": "玄武大道 1 号"}),
    ("PATCH", "/api/v1/products/1", {"name": "a\x00b"}),
    ("POST", "/api/v1/auth/login", {"email": "a\x00b@example.test", "password": "x"}),
    ("GET", "/api/v1/products?q=a%00b", None),
    ("GET", "/api/v1/suppliers?q=a%00b", None),
    ("GET", "/api/v1/regions?q=a%00b", None),
    ("GET", "/api/v1/regions/50%0037", None),
])
def test_a_nul_character_is_stored_or_refused_never_a_500(me_api, method, path, body):
    """PostgreSQL text cannot hold NUL: psycopg raises DataError ("PostgreSQL text fields cannot contain NUL
    (0x00) bytes") on insert *and* on comparison, a 500. SQLite stores it. Fails on PostgreSQL only."""
    response = me_api.open(method, path, json=body)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        _problem(response)


@pytest.mark.parametrize("value", [0, 1, "yes", "off"])
def test_a_json_boolean_field_takes_only_true_or_false(me_api, value):
    """The spec documents `is_active` (and `approve`, `is_default`, `verified`, ...) as type boolean, but
    marshmallow's fields.Boolean also takes 0/1 and strings like "yes"/"off": the fuzzer's
    {"approve": 0} on POST /refunds/1/decision was a 200 (a refusal), {"is_active": 0} on POST /products/1/skus
    a 201."""
    response = me_api.post("/api/v1/products/1/skus", json={"spec": "10斤装", "price_fen": 100, "weight_g": 1,
                                                            "is_active": value})
    body = _problem(response, 422)
    assert "is_active" in body.get("errors", {}), body


# Requests whose 2xx answer carries a null where the spec documents a non-nullable field. The seeded state for
# each: see documented_nulls_world.
NULLABLE_CASES = [
    ("GET", "/api/v1/regions/500000", "Region.parent_code"),
    ("GET", "/api/v1/regions?level=province", "Region.parent_code"),
    ("GET", "/api/v1/categories", "Category.parent_id"),
    ("GET", "/api/v1/auth/me", "User.mobile, User.home_region_code"),
    ("GET", "/api/v1/auth/tokens", "Token.last_used_at, Token.revoked_at"),
    ("POST", "/api/v1/auth/tokens", "TokenCreated.last_used_at, TokenCreated.revoked_at"),
    ("GET", "/api/v1/suppliers", "SupplierPublic.sc_license_number, .food_filing_number"),
    ("GET", "/api/v1/suppliers/1", "Supplier.sc_license_number, .food_filing_number"),
    ("GET", "/api/v1/suppliers/1/events", "SupplierStatusEvent.from_status, .actor_id"),
    ("GET", "/api/v1/suppliers/1/shipping-rule", "ShippingRule.free_over_fen"),
    ("POST", "/api/v1/suppliers", "Supplier.reviewed_at (a pending supplier)"),
    ("GET", "/api/v1/products/1", "ProductDetail.sc_license_number, .food_filing_number, .shelf_life_days, "
                                  "Sku.barcode"),
    ("GET", "/api/v1/suppliers/1/products?status=draft", "Product.published_at (a draft)"),
    ("GET", "/api/v1/skus/1", "SkuDetail.barcode"),
    ("GET", "/api/v1/skus/1/stock-movements", "StockMovement.order_id"),
    ("GET", "/api/v1/addresses/1", "Address.postal_code"),
    ("GET", "/api/v1/orders/1", "Order.buyer_region_code, .paid_at, .cancelled_at, .delivered_at, .completed_at, "
                                "FulfillmentBrief.carrier, .tracking_number, .shipped_at, .delivered_at"),
    ("GET", "/api/v1/fulfillments/2", "SupplierFulfillment.carrier, .tracking_number, .shipped_at, "
                                      ".delivered_at"),
]


@pytest.fixture
def documented_nulls_world(app, stripe_server):
    """`me` owns approved supplier #1 (no licence numbers, a shipping rule without free_over_fen), active
    product #1 (no barcode, no shelf life) and a draft product, has an address without postal code and an unpaid
    order #1 from supplier #2; `other` has a paid order #2 from supplier #1 (fulfilment #2, not yet shipped)."""
    me = make_user(display_name="测试用户")
    other = make_user(display_name="另一个用户")
    supplier_1, supplier_2 = make_supplier(me), make_supplier(other, district_code="500236")
    set_rule(me, supplier_1.id)
    product_1 = make_product(supplier_1)
    product_2 = make_product(supplier_2, name="奉节脐橙", category="citrus", return_policy="seven_day")
    make_product(supplier_1, status="draft", name="巫山脆李 草稿")
    catalog.adjust_stock(user=me, sku_id=sku_of(product_1.id), delta=5, reason="adjustment", note="")
    address_1 = make_address(me, postal_code=None)
    address_2 = make_address(other)
    for buyer, address, product in ((me, address_1, product_2), (other, address_2, product_1)):
        response = _api(app, buyer).post("/api/v1/checkout", json={
            "address_id": address.id, "items": [{"sku_id": sku_of(product.id), "quantity": 1}]})
        assert response.status_code == 201, response.get_data(as_text=True)
    pay(2)
    return _api(app, me)


@pytest.mark.parametrize("method,path,fields", NULLABLE_CASES, ids=[f"{m} {p}" for m, p, _ in NULLABLE_CASES])
def test_documented_response_schemas_allow_the_nulls_the_api_sends(documented_nulls_world, method, path, fields):
    """These marshmallow output fields lack allow_none=True, so the spec says "type: string/integer" without
    "nullable: true", yet the API sends null (for `fields`): generated clients reject the answer."""
    body = {"POST /api/v1/auth/tokens": {"name": "ci"},
            "POST /api/v1/suppliers": supplier_fields(district_code="500238")}.get(f"{method} {path}")
    response = documented_nulls_world.open(method, path, json=body)
    assert 200 <= response.status_code < 300, response.get_data(as_text=True)[:500]
    _operation(method, path).validate_response(response)


def _operation(method: str, path: str):
    """The spec operation a concrete path belongs to."""
    concrete = path.split("?")[0]
    for template in schema.raw_schema["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, concrete) and method.lower() in schema.raw_schema["paths"][template]:
            return schema[template][method]
    raise LookupError(path)


def test_documented_error_response_is_problem_json(client):
    """flask-smorest documents every error (the `default` response and 422) as application/json with its Error
    schema {code: integer, status: string, message}; the app sends application/problem+json with a string `code`,
    an integer `status`, `title`, `detail`, `type`, `request_id`."""
    spec = client.get("/api/openapi.json").get_json()
    default_error = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(default_error) == [PROBLEM_JSON], default_error
    response = client.get("/api/v1/regions?limit=0")
    _problem(response, 422)
    _operation("GET", "/api/v1/regions").validate_response(response)


def test_a_documented_required_body_is_required(me_api):
    """The spec marks the PATCH /auth/me request body `required: true`, but a PATCH without a body is a 200 (the
    fuzzer found the same on PATCH /suppliers/1, /products/1, /skus/1, /addresses/1). Either the spec says
    required: false (blp.arguments(..., required=False)) or a missing body is a 4xx."""
    operation = _operation("PATCH", "/api/v1/auth/me")
    required = operation.definition.raw["requestBody"].get("required", False)
    response = me_api.raw.patch("/api/v1/auth/me", headers={"Authorization": f"Bearer {me_api.token}"})
    assert not required or 400 <= response.status_code < 500, (required, response.status_code)
