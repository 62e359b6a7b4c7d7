"""The one error path (application/problem+json), request ids, API docs, configuration guards."""
from __future__ import annotations

import re

import pytest

from config import ProductionConfig, normalise_database_url
from shop import create_app
from tests.support import assert_problem, crashing_app as make_crashing_app


@pytest.mark.parametrize("path", ["/api/v1/nope", "/nowhere", "/api/v1/regions/500237/extra"])
def test_unknown_url_is_404_problem(client, path):
    assert_problem(client.get(path), 404, "not_found")


@pytest.mark.parametrize("method,path", [("DELETE", "/api/v1/regions"), ("PUT", "/api/v1/regions/500237"),
                                         ("GET", "/api/v1/auth/login"), ("DELETE", "/api/v1/auth/me")])
def test_wrong_method_is_405_with_allow(client, method, path):
    response = client.open(method, path)
    assert_problem(response, 405, "method_not_allowed")
    allow = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    assert allow, response.headers
    assert method not in allow


def test_405_allow_lists_the_real_methods(client):
    response = client.delete("/api/v1/regions")
    allow = {m.strip() for m in response.headers["Allow"].split(",")}
    assert "GET" in allow
    assert "DELETE" not in allow and "POST" not in allow
    response = client.delete("/api/v1/support-pairs")
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_validation_error_is_problem_with_field_errors(client):
    body = assert_problem(client.get("/api/v1/regions?limit=0"), 422, "validation_error")
    assert list(body["errors"]) == ["limit"]


def test_malformed_json_is_problem(client):
    response = client.raw.post("/api/v1/auth/login", data="{nope", content_type="application/json")
    assert_problem(response, 400, "malformed_json")


@pytest.fixture
def crashing_app():
    return make_crashing_app()


def test_unhandled_exception_is_500_problem_without_traceback(crashing_app):
    response = crashing_app.test_client().get("/api/v1/_boom", headers={"X-Request-ID": "trace-me-500"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "trace-me-500"
    assert response.headers["X-Request-ID"] == "trace-me-500"
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "kaboom", "secret internal detail", "RuntimeError", ".py"):
        assert leak not in text


def test_unhandled_exception_gets_a_request_id_when_none_is_sent(crashing_app):
    response = crashing_app.test_client().get("/api/v1/_boom")
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"]
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_request_id_is_echoed(client):
    response = client.get("/api/v1/regions/500237", headers={"X-Request-ID": "req-abc-123"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-abc-123"

    response = client.get("/api/v1/regions/999999", headers={"X-Request-ID": "req-def-456"})
    assert response.headers["X-Request-ID"] == "req-def-456"
    assert response.json["request_id"] == "req-def-456"


def test_request_id_is_generated_and_unique(client):
    first = client.get("/api/v1/regions/999999")
    second = client.get("/api/v1/regions/999999")
    for response in (first, second):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
        assert response.json["request_id"] == response.headers["X-Request-ID"]
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize("supplied", ["r" * 65, "has space", "semi;colon", "<script>", "zh-\u4e2d", "a/b", "\t"])
def test_an_unsafe_request_id_is_replaced_not_trimmed(client, supplied):
    """Only [A-Za-z0-9._-]{1,64} is taken as it is: anything else could forge log lines or break a header."""
    response = client.get("/api/v1/regions/999999", headers={"X-Request-ID": supplied})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    assert response.json["request_id"] == response.headers["X-Request-ID"]


def test_a_safe_request_id_of_64_characters_is_kept(client):
    supplied = "Ab0._-" * 10 + "wxyz"
    response = client.get("/api/v1/regions/500237", headers={"X-Request-ID": supplied})
    assert response.headers["X-Request-ID"] == supplied


def test_openapi_document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/regions", "/api/v1/support-pairs"):
        assert path in spec["paths"], sorted(spec["paths"])
    assert "post" in spec["paths"]["/api/v1/auth/login"]
    assert "get" in spec["paths"]["/api/v1/regions"]


def test_swagger_ui_works_offline(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html
    assert "/api/openapi.json" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources  # nothing from a CDN

    for asset in sources:
        served = client.get(asset)
        assert served.status_code == 200, asset
        served.close()
    bundle = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert "javascript" in bundle.mimetype
    assert len(bundle.get_data()) > 10_000
    bundle.close()


@pytest.mark.parametrize("secret", [None, ""])
def test_production_refuses_to_start_without_secret_key(secret):
    class Config(ProductionConfig):
        SECRET_KEY = secret
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Config)


def test_production_starts_with_secret_key_and_secure_cookies():
    class Config(ProductionConfig):
        SECRET_KEY = "a-real-secret"
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    app = create_app(Config)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize("url,expected", [
    ("postgres://u:p@db:5432/shop", "postgresql+psycopg://u:p@db:5432/shop"),
    ("postgresql://u:p@db/shop?sslmode=require", "postgresql+psycopg://u:p@db/shop?sslmode=require"),
    ("postgresql+psycopg://u@db/shop", "postgresql+psycopg://u@db/shop"),
    ("sqlite:////tmp/shop.db", "sqlite:////tmp/shop.db"),
    ("mysql://u@db/postgres://x", "mysql://u@db/postgres://x"),
])
def test_normalise_database_url(url, expected):
    assert normalise_database_url(url) == expected
