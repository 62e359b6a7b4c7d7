"""Flask-Login wiring for both session cookies and Bearer tokens, and CSRF for cookie-authenticated writes."""
from __future__ import annotations

import hmac
import secrets

from flask import Flask, current_app, g, request, session
from flask_login import current_user
from flask_smorest import Blueprint

from shop.accounts import services
from shop.errors import Forbidden, Unauthorized
from shop.extensions import login_manager

CSRF_HEADER = "X-CSRF-Token"
CSRF_SESSION_KEY = "_csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def csrf_token() -> str:
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def public(func):
    """An operation anyone may call: documented without a security requirement (the spec's default asks for the
    session cookie or a Bearer token), and not refused for want of a login. Put it next to the def."""
    wrapper = Blueprint.doc(security=[])(func)
    wrapper.public = True
    return wrapper


def _operation():
    """The view method this request will run, or None (not an API operation, or a method it does not have)."""
    if not request.path.startswith("/api/v1/"):
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    method = "get" if request.method == "HEAD" else request.method.lower()
    return getattr(view_class, method, None) if view_class else None


def _view_is_exempt() -> bool:
    """Views authenticated otherwise (the payment webhook verifies a signature) set `csrf_exempt = True`."""
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    return bool(getattr(view, "csrf_exempt", False) or getattr(view_class, "csrf_exempt", False))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)

    @login_manager.user_loader
    def load_user(session_id: str):
        if "Authorization" in request.headers:
            return None  # an explicit credential wins over a cookie sent along with it
        user = services.load_session_user(session_id)
        if user is not None:
            g.auth_method = "session"
        return user

    @login_manager.request_loader
    def load_user_from_request(_request):
        token = bearer_token()
        if token is None:
            return None
        user = services.user_from_token(token)
        if user is None:
            raise Unauthorized("The API token is invalid or revoked.", code="invalid_token")
        g.auth_method = "token"
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        raise Unauthorized()

    @app.before_request
    def require_login():
        """Authenticate before anything reads the body: an anonymous caller gets 401, not the field rules."""
        operation = _operation()
        if operation is None or getattr(operation, "public", False):
            return
        if not current_user.is_authenticated:
            raise Unauthorized()

    @app.before_request
    def check_csrf():
        if request.method in SAFE_METHODS or _view_is_exempt():
            return
        if "Authorization" in request.headers:
            return  # browsers cannot attach it cross-site; the token itself authenticates
        if "_user_id" not in session:
            return  # not cookie-authenticated: nothing a forged request could ride on
        sent = request.headers.get(CSRF_HEADER, "")
        expected = session.get(CSRF_SESSION_KEY, "")
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise Forbidden("Missing or wrong CSRF token: send the X-CSRF-Token header.", code="csrf_failed")


def authenticated_user():
    """The signed-in user, or 401."""
    if not current_user.is_authenticated:
        raise Unauthorized()
    return current_user._get_current_object()
