"""Response headers every answer carries (nosniff, referrer policy, framing, CSP, HSTS in production), no caching
of answers that depend on who asked, and CORS for the one configured storefront origin."""
from __future__ import annotations

from flask import Flask, current_app, g, request

# HTML pages (the API docs, /showcase) load scripts, styles and images from this app only: no inline scripts,
# no CDN. data: images are Swagger UI's icons.
HTML_CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'")
# Everything else is data, never a document to render.
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"

CORS_PREFIX = "/api/v1/"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_REQUEST_HEADERS = "Content-Type, Authorization, X-CSRF-Token, Idempotency-Key, X-Request-ID"
CORS_EXPOSED_HEADERS = ("X-Request-ID, Retry-After, Location, X-RateLimit-Limit, X-RateLimit-Remaining, "
                        "X-RateLimit-Reset")
CORS_MAX_AGE = "600"


def storefront_origin() -> str | None:
    origin = (current_app.config.get("STOREFRONT_ORIGIN") or "").strip().rstrip("/")
    return origin or None


def _allowed_origin() -> str | None:
    """The request's Origin when it is exactly the storefront's (scheme, host and port), else None."""
    origin = request.headers.get("Origin")
    allowed = storefront_origin()
    if origin and allowed and request.path.startswith(CORS_PREFIX) and origin == allowed:
        return origin
    return None


def answer_preflight():
    """A browser asks before a cross-origin write: answer it here, before login, CSRF and rate limits, which
    concern the real request."""
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    if _allowed_origin() is None:
        return None  # Flask's plain OPTIONS answer, with no CORS headers: the browser refuses the request
    response = current_app.response_class(status=204)
    response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
    response.headers["Access-Control-Allow-Headers"] = CORS_REQUEST_HEADERS
    response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return response


def _depends_on_the_caller() -> bool:
    # Flask-Login caches the loaded user in g: only an answer computed for a signed-in user is private.
    # is_anonymous, not is_authenticated: that reads a column, and after a unit of work rolled back (the
    # database went away mid-request) the user is expired and reloading it would turn a 503 into a 500.
    user = g.get("_login_user")
    return bool(user is not None and not user.is_anonymous)


def add_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", HTML_CSP if response.mimetype == "text/html" else OTHER_CSP)
    if current_app.config.get("PREFERRED_URL_SCHEME") == "https":
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.path.startswith(CORS_PREFIX):
        if _depends_on_the_caller():
            headers.setdefault("Cache-Control", "private, no-store")
        response.vary.add("Origin")
        origin = _allowed_origin()
        if origin:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Allow-Credentials"] = "true"
            if request.method != "OPTIONS":
                headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
    return response


def init_app(app: Flask) -> None:
    # Before every other before_request function but the request id's (shop.request_log puts its own first).
    app.before_request_funcs.setdefault(None, []).insert(0, answer_preflight)
    app.after_request(add_headers)
