"""Request ids and logs: every request gets an id (a safe incoming X-Request-ID, else a new one), echoed in the
response header and in problem+json bodies (shop.errors), stamped on every log line written while it runs, and
closed by one access-log line. LOG_FORMAT=json writes one JSON object per line, for log shippers."""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy or client may hand us: short and inert in headers, logs and JSON. Anything else is replaced.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
access_logger = logging.getLogger("shop.access")
_HANDLER_MARK = "_shop_handler"


def incoming_or_new_request_id(supplied: str | None) -> str:
    if supplied and SAFE_REQUEST_ID.fullmatch(supplied):
        return supplied
    return uuid.uuid4().hex


class RequestContextFilter(logging.Filter):
    """Stamps the record with the request it was written in, when the line is written (formatting may be later)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = getattr(g, "request_id", None)
            record.method = request.method
            record.path = request.path
        else:
            record.request_id = getattr(record, "request_id", None)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, and method/path/status/duration_ms when
    the record has them (the access line has all four)."""

    OPTIONAL = ("method", "path", "status", "duration_ms", "remote_addr")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in self.OPTIONAL:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def make_handler(log_format: str, stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestContextFilter())
    return handler


class _LimiterStorageNews(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or str(record.msg).startswith("Rate limit storage")


def configure_logging(app: Flask) -> None:
    """One handler on the root logger (so library warnings are JSON too), replaced, not added, when several apps
    are created in one process (tests, the CLI)."""
    log_format = (app.config.get("LOG_FORMAT") or "text").lower()
    if log_format not in {"json", "text"}:
        raise RuntimeError(f"LOG_FORMAT must be json or text, not {log_format!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = make_handler(log_format)
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.getLogger("shop").setLevel(app.config.get("LOG_LEVEL") or "INFO")
    # Its warning "Rate limit storage unreachable - falling back to in-memory storage" has its counterpart at INFO,
    # "Rate limit storage recovered": both are kept; its other INFO lines (each breach, with the key) are not.
    limiter_logger = logging.getLogger("flask-limiter")
    limiter_logger.setLevel(logging.INFO)
    if not any(isinstance(f, _LimiterStorageNews) for f in limiter_logger.filters):
        limiter_logger.addFilter(_LimiterStorageNews())


def init_app(app: Flask) -> None:
    configure_logging(app)

    def assign_request_id():
        g.request_id = incoming_or_new_request_id(request.headers.get(REQUEST_ID_HEADER))
        g.request_started = time.perf_counter()

    # First of all before_request functions (the rate limiter's included): a 429 or 401 carries the id too.
    app.before_request_funcs.setdefault(None, []).insert(0, assign_request_id)

    @app.after_request
    def echo_request_id_and_log(response):
        request_id = getattr(g, "request_id", None)
        if request_id is None:  # a response made before any before_request ran (routing of static files does not)
            request_id = g.request_id = incoming_or_new_request_id(request.headers.get(REQUEST_ID_HEADER))
        response.headers[REQUEST_ID_HEADER] = request_id
        started = getattr(g, "request_started", None)
        duration_ms = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
        access_logger.info("%s %s %s", request.method, request.path, response.status_code,
                           extra={"status": response.status_code, "duration_ms": duration_ms,
                                  "remote_addr": request.remote_addr})
        return response
