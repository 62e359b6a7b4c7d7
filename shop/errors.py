"""One error path: every error answers application/problem+json with a stable machine `code`."""
from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

logger = logging.getLogger("shop")

PROBLEM_JSON = "application/problem+json"

# Stable codes for plain HTTP errors raised by Flask/Werkzeug/webargs/Flask-Limiter.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
}


class ShopError(Exception):
    """A business error: status, stable code, human detail, optional field errors."""

    status = 400
    code = "bad_request"
    title = "Bad request"
    retry_after: int | None = None  # seconds, sent as Retry-After (a 503 the client should retry)

    def __init__(self, detail: str | None = None, *, code: str | None = None, errors: dict | None = None,
                 status: int | None = None, extra: dict | None = None):
        super().__init__(detail or self.title)
        self.extra = extra or {}  # further members of the problem body (e.g. required_role)
        self.detail = detail or self.title
        if code:
            self.code = code
        if status:
            self.status = status
        self.errors = errors


class NotFound(ShopError):
    status, code, title = 404, "not_found", "Not found"


class Unauthorized(ShopError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(ShopError):
    status, code, title = 403, "forbidden", "Forbidden"


class RoleRequired(Forbidden):
    """A member of the supplier whose role is too low: the problem names the role that would be needed."""

    code, title = "role_required", "Role required"

    def __init__(self, required_role: str, detail: str | None = None):
        super().__init__(detail or f"This needs the {required_role} role (or higher) in the supplier.",
                         extra={"required_role": required_role})
        self.required_role = required_role


class Conflict(ShopError):
    """The request is valid but the object's state does not allow it (illegal state moves and the like)."""

    status, code, title = 409, "conflict", "Conflict"


class ValidationFailed(ShopError):
    status, code, title = 422, "validation_error", "Validation failed"


class PaymentProviderError(ShopError):
    status, code, title = 502, "payment_provider_error", "Payment provider error"


def problem(status: int, code: str, title: str, detail: str | None = None, errors: dict | None = None,
            headers: dict | None = None, extra: dict | None = None):
    body = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
        "request_id": getattr(g, "request_id", None),
    }
    if errors:
        body["errors"] = _string_keys(errors)
    for name, value in (extra or {}).items():
        body.setdefault(name, value)  # the standard members above win
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _string_keys(value):
    """marshmallow keys list items by int ({0: [...], "_schema": [...]}); JSON wants strings (and jsonify
    sorts keys, which fails on a mix)."""
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def _flatten_webargs_errors(messages):
    """webargs nests errors by location ({"json": {...}}); clients want the field map."""
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "form", "files", "headers", "view_args",
                                                        "path", "querystring", "cookies"}:
        flat = {}
        for value in messages.values():
            if isinstance(value, dict):
                flat.update(value)
            else:
                flat.setdefault("_schema", []).extend(value if isinstance(value, list) else [value])
        return flat
    return messages


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    headers = dict(data.get("headers") or {})
    if status == 405:
        allow = error.get_headers()
        for name, value in allow:
            if name.lower() == "allow":
                headers["Allow"] = value
    if status == 429 and getattr(error, "retry_after", None):
        headers["Retry-After"] = str(error.retry_after)
    code = HTTP_CODES.get(status, f"http_{status}")
    detail = data.get("message") or error.description
    if errors is not None:
        errors = _flatten_webargs_errors(errors)
        if status == 400 and _is_json_decode_error(errors):
            code, detail = "malformed_json", "The request body is not valid JSON."
    if status == 429:
        detail = "Too many requests; try again later."
    return problem(status, code, error.name, detail, errors if isinstance(errors, dict) else None, headers)


def _is_json_decode_error(errors) -> bool:
    return any("Invalid JSON" in str(message) for message in (errors.get("_schema") or []))


def handle_shop_error(error: ShopError):
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return problem(error.status, error.code, error.title, error.detail, error.errors, headers, extra=error.extra)


# PostgreSQL SQLSTATEs that mean "the server is not there for you now": connection exceptions (class 08) and
# the server shutting down or starting up (57P01-57P03).
_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def database_unavailable(error: Exception) -> bool:
    """The database could not serve the request at all (not: the request was wrong): a connection the server
    dropped (SQLAlchemy invalidates it, and the pool discards every connection of that generation), a server
    that refuses connections while it restarts, or a pool with no connection to give in time. SQLite's own
    OperationalErrors (a missing table, a lock) are bugs or contention, not an outage: they stay 500."""
    if isinstance(error, sa_exc.TimeoutError):  # QueuePool: every connection busy past pool_timeout
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    import psycopg

    if not isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)) or \
            not isinstance(error.orig, psycopg.Error):
        return False
    sqlstate = error.orig.sqlstate  # None: psycopg's own "connection failed" / "server closed the connection"
    return sqlstate is None or sqlstate.startswith(_UNREACHABLE_SQLSTATES)


def release_session(_error: BaseException | None = None) -> None:
    """End the session's transaction, if any. When the server dropped the connection meanwhile (a restart after
    the answer was computed), the rollback can only fail, and there is nothing left to roll back: the
    connection is discarded instead of turning a finished answer into a 500."""
    from shop.extensions import db

    try:
        db.session.rollback()
    except sa_exc.DBAPIError as error:
        if not database_unavailable(error):
            raise
        db.session.close()


def handle_database_unavailable(error: Exception):
    from shop.error_codes import DATABASE_UNAVAILABLE

    # A unit of work has already rolled back; this ends whatever the request still held (a read's transaction
    # on the dead connection), so the session starts clean on a fresh connection next time.
    release_session()
    logger.warning("database unavailable in %s %s: %s", request.method, request.path,
                   (str(getattr(error, "orig", None) or error).strip().splitlines() or [""])[0])
    return problem(503, DATABASE_UNAVAILABLE, "Service unavailable",
                   "The database cannot be reached just now. Retry shortly; an order or a payment with the same "
                   "Idempotency-Key, so that one that went through is not made twice.",
                   headers={"Retry-After": str(current_app.config["DATABASE_RETRY_AFTER_SECONDS"])})


def handle_unexpected(error: Exception):
    if database_unavailable(error):
        return handle_database_unavailable(error)
    logger.exception("unhandled error in %s %s", request.method, request.path)  # the log line carries the request id
    return problem(500, "internal_error", "Internal server error",
                   "Something went wrong on our side; quote the request id when you report it.")


def init_app(app: Flask) -> None:
    # Request ids (g.request_id, the X-Request-ID header) are shop.request_log's.
    # Registered after api.init_app so that this handler replaces flask-smorest's.
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ShopError, handle_shop_error)
    app.register_error_handler(Exception, handle_unexpected)
    # Registered after db.init_app, so it runs before Flask-SQLAlchemy's session.remove() (teardowns run last
    # registered first), whose rollback would raise on a connection the database dropped.
    app.teardown_appcontext(release_session)
