"""Readiness checks: cheap enough for a load balancer to call every few seconds, bounded in time, and telling
which dependency failed without telling how to reach it (no host names or passwords in the answer)."""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import text

from shop.errors import ShopError
from shop.extensions import db
from shop.health import error_codes as codes

logger = logging.getLogger(__name__)
REDIS_TIMEOUT_SECONDS = 1.0


class NotReady(ShopError):
    status, code, title = 503, codes.NOT_READY, "Not ready"


def _database() -> None:
    # A connection of its own: the request's session may hold a transaction, and a broken pooled connection
    # must not be reported healthy (pre-ping replaces it, or the query fails here).
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                  socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
    try:
        if not client.ping():
            raise RuntimeError("PING did not answer PONG")
    finally:
        client.close()


# What the instance cannot serve without. Redis is not among them: without it the API still serves every read and
# write (rate limits count per process, the job queue waits), so pulling every instance out of the balancer when
# Redis fails would turn a degraded shop into a closed one. Its failure shows as "degraded" instead.
REQUIRED = ("database",)


def readiness() -> dict:
    """{"status": "ready" | "degraded", "checks": {"database": "ok", "redis": "ok" | "failed"}}, or NotReady when
    a required dependency (the database) fails."""
    checks = {"database": _database}
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        checks["redis"] = lambda: _redis(redis_url)
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # any failure means "this dependency is not usable now"; the log has the cause
            # One line, no traceback: a balancer polls every few seconds through an outage.
            logger.warning("readiness check %s failed: %s: %s", name, type(error).__name__, error)
            results[name] = "failed"
    failed = sorted(name for name, result in results.items() if result != "ok")
    if any(name in REQUIRED for name in failed):
        raise NotReady(f"Not ready: {', '.join(failed)} failed.", extra={"checks": results})
    return {"status": "degraded" if failed else "ready", "checks": results}
