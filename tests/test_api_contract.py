"""The spec says who may call what, and the server does what it says: every operation the spec secures answers
an anonymous caller 401 before it looks at the body (no field rules are learnt without a login), and the
operations documented as public (`security: []`) are exactly the ones that need no login."""
from __future__ import annotations

import re

import pytest

from tests.orders.factories import anonymous
from tests.support import assert_problem

PUBLIC = {
    ("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"), ("GET", "/api/v1/regions"),
    ("GET", "/api/v1/regions/{code}"), ("GET", "/api/v1/support-pairs"), ("GET", "/api/v1/support-pairs/{pair_id}"),
    ("GET", "/api/v1/suppliers"), ("GET", "/api/v1/suppliers/{supplier_id}"), ("GET", "/api/v1/categories"),
    ("GET", "/api/v1/products"), ("GET", "/api/v1/products/{product_id}"), ("GET", "/api/v1/skus/{sku_id}"),
    ("GET", "/api/v1/products/{product_id}/gi-records"),
    ("POST", "/api/v1/payments/stripe/webhook"), ("GET", "/api/v1/campaigns"),
    ("GET", "/api/v1/campaigns/{campaign_id}"), ("GET", "/healthz"), ("GET", "/readyz"),
    ("GET", "/api/v1/assistance/stats"), ("GET", "/api/v1/assistance/campaigns"),
}


def _operations(spec) -> list[tuple[str, str, dict]]:
    return [(method.upper(), path, op) for path, ops in spec["paths"].items() for method, op in ops.items()
            if method in ("get", "post", "put", "patch", "delete")]


def test_the_spec_declares_both_ways_in_and_secures_everything_else(client):
    spec = client.get("/api/openapi.json").json
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert (schemes["cookieAuth"]["type"], schemes["cookieAuth"]["in"]) == ("apiKey", "cookie")
    assert spec["security"] == [{"cookieAuth": []}, {"bearerAuth": []}]
    documented_public = {(m, p) for m, p, op in _operations(spec) if op.get("security") == []}
    assert documented_public == PUBLIC


def test_every_secured_operation_refuses_an_anonymous_caller_before_reading_the_body(client):
    spec = client.get("/api/openapi.json").json
    secured = [(m, p) for m, p, op in _operations(spec) if (m, p) not in PUBLIC]
    assert len(secured) > 40
    for method, path in secured:
        url = re.sub(r"\{[^}]+\}", "1", path)
        # A body that breaks every schema: validated first, it would answer 422 with the field rules.
        response = anonymous().open(method, url, json={"no_such_field": ["\u2603"] * 3})
        body = assert_problem(response, 401, "unauthorized")
        assert "errors" not in body or not body["errors"], (method, path, body)


@pytest.mark.parametrize("method,path", sorted(PUBLIC - {("POST", "/api/v1/payments/stripe/webhook")}))
def test_public_operations_need_no_login(client, method, path):
    response = anonymous().open(method, re.sub(r"\{[^}]+\}", "1", path), json={} if method == "POST" else None)
    assert response.status_code != 401, (method, path, response.json)
