"""Security headers on every answer, no caching of answers computed for a signed-in caller, HSTS only when the
app is served over https, a CSP for HTML pages that the API docs live with, and CORS for the one storefront."""
from __future__ import annotations

import re

import pytest

from config import ProductionConfig, TestingConfig
from shop import create_app
from tests.support import assert_problem, make_user, token_client

STOREFRONT = "https://store.example.test"


@pytest.fixture
def storefront(app):
    app.config["STOREFRONT_ORIGIN"] = STOREFRONT + "/"  # a trailing slash, as people write it, is not part of it
    yield STOREFRONT
    app.config["STOREFRONT_ORIGIN"] = None


def assert_security_headers(response):
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/api/v1/regions/500237", "/api/v1/regions/999999", "/api/openapi.json",
                                  "/api/docs", "/api/docs/assets/swagger-ui.css", "/healthz", "/nowhere"])
def test_every_answer_carries_the_security_headers(client, path):
    response = client.raw.get(path)
    assert_security_headers(response)
    assert "Strict-Transport-Security" not in response.headers  # tests are served over http
    response.close()


def test_html_pages_get_a_csp_without_inline_scripts_and_data_none_at_all(client):
    page = client.raw.get("/api/docs")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert client.raw.get("/api/v1/regions").headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_the_docs_page_runs_no_inline_script(client):
    """The CSP refuses inline scripts, so Swagger UI is started from a file the app serves (see also
    tests/test_errors.py::test_swagger_ui_works_offline)."""
    html = client.raw.get("/api/docs").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all('src="/' in attributes and not body.strip() for attributes, body in scripts), scripts
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers either
    init = client.raw.get("/static/docs/swagger-init.js")
    assert init.status_code == 200 and "javascript" in init.mimetype
    assert "SwaggerUIBundle" in init.get_data(as_text=True)
    container = re.search(r'id="swagger-ui-container" data-spec-url="([^"]+)"', html)
    assert container and container.group(1) == "/api/openapi.json"
    init.close()


@pytest.mark.parametrize("config", ["production", "https"])
def test_hsts_when_served_over_https(config):
    class Config(ProductionConfig if config == "production" else TestingConfig):
        SECRET_KEY = "a-real-secret"
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        PREFERRED_URL_SCHEME = "https"

    if config == "production":
        del Config.PREFERRED_URL_SCHEME  # the production default
    response = create_app(Config).test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_answers_for_a_signed_in_caller_are_not_cached(client):
    user = make_user()
    api = token_client(user)
    for path in ("/api/v1/auth/me", "/api/v1/orders", "/api/v1/addresses"):
        response = api.get(path)
        assert response.status_code == 200, (path, response.json)
        assert "no-store" in response.headers["Cache-Control"], path
    client.login_as(user)
    assert "no-store" in client.get("/api/v1/cart").headers["Cache-Control"]
    public = client.raw.get("/api/v1/regions/500237")  # anonymous: nothing private in it
    assert "no-store" not in public.headers.get("Cache-Control", "")


# --- CORS -----------------------------------------------------------------------------------------------------------

CORS_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
                "Access-Control-Allow-Headers", "Access-Control-Expose-Headers")


def assert_no_cors(response):
    present = [name for name in CORS_HEADERS if name in response.headers]
    assert present == [], present


def test_the_storefront_gets_cors_with_credentials(client, storefront):
    user = make_user()
    client.login_as(user)
    response = client.get("/api/v1/auth/me", headers={"Origin": storefront})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == storefront
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]
    assert "Origin" in response.headers["Vary"]


def test_a_cookie_write_from_the_storefront_still_needs_the_csrf_token(client, storefront):
    client.login_as(make_user())
    forged = client.raw.patch("/api/v1/auth/me", json={"display_name": "x"}, headers={"Origin": storefront})
    assert_problem(forged, 403, "csrf_failed")
    assert forged.headers["Access-Control-Allow-Origin"] == storefront  # the storefront may read the refusal
    fine = client.patch("/api/v1/auth/me", json={"display_name": "店铺前台"}, headers={"Origin": storefront})
    assert fine.status_code == 200, fine.json


def test_the_storefront_preflight_is_answered_before_login(client, storefront):
    response = client.raw.options("/api/v1/cart/lines", headers={
        "Origin": storefront, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-csrf-token, idempotency-key"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == storefront
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PATCH", "PUT", "DELETE"} <= methods
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-csrf-token", "idempotency-key", "authorization"} <= allowed
    assert int(response.headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize("origin", ["https://evil.example.test", "http://store.example.test",
                                    "https://store.example.test:8443", "https://store.example.test.evil.test",
                                    "https://evil.test/https://store.example.test", "null"])
def test_any_other_origin_gets_no_cors(client, storefront, origin):
    assert_no_cors(client.raw.get("/api/v1/regions/500237", headers={"Origin": origin}))
    preflight = client.raw.options("/api/v1/cart/lines", headers={"Origin": origin,
                                                                  "Access-Control-Request-Method": "POST"})
    assert preflight.status_code != 204
    assert_no_cors(preflight)


def test_no_cors_at_all_without_a_configured_storefront(client):
    assert_no_cors(client.raw.get("/api/v1/regions/500237", headers={"Origin": STOREFRONT}))
    assert_no_cors(client.raw.options("/api/v1/cart/lines", headers={"Origin": STOREFRONT,
                                                                     "Access-Control-Request-Method": "POST"}))


def test_cors_is_for_the_api_only(client, storefront):
    assert_no_cors(client.raw.get("/api/docs", headers={"Origin": storefront}))
    assert_no_cors(client.raw.get("/healthz", headers={"Origin": storefront}))
