"""Audit verbs. Domains call `record` inside the unit of work of the action they audit, so the entry commits or
rolls back with it: an action refused (409, 422 …) leaves no entry, and no action is done without its entry.

Called by other domains (stable; keyword-only after the unit of work):
    record(tx, *, actor, action, target_type, target_id, before=None, after=None, keep=()) -> AuditEntry
        action: a shop.audit.actions constant. before/after: dicts of the target's fields (None: there was
        nothing before, or nothing is left after); fields equal in both are left out except those in `keep`
        (what identifies the target to a reader); secrets are never stored; values are made JSON-safe.
    snapshot(obj, fields) -> dict                   the named attributes of a model, to pass as before/after
Admins read the log through shop.audit.reading (kept apart so that recording needs nothing of accounts, whose
services record actions themselves).
"""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal

from flask import g, has_request_context, request

from shop.audit.actions import ACTIONS
from shop.audit.models import AuditEntry
from shop.extensions import db
from shop.transaction import Transaction

# Keys never written to the log, whatever a caller passes (matched in any case, as part of the key).
SECRET_MARKERS = ("password", "token", "secret", "client_secret", "api_key")


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in SECRET_MARKERS)


def json_safe(value):
    """`value` as JSON the log can hold on SQLite and PostgreSQL: dates as ISO strings, sets sorted, secrets
    dropped. Anything else that is not JSON is a programming error (TypeError), not silently str()-ed."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        raise TypeError("money and quantities are integers; a float has no place in the audit log")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime given to the audit log")
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items() if not _is_secret(str(key))}
    if isinstance(value, (set, frozenset)):
        return sorted(json_safe(item) for item in value)
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    raise TypeError(f"{type(value).__name__} is not JSON-safe for the audit log")


def snapshot(obj, fields: Iterable[str]) -> dict:
    return {field: getattr(obj, field) for field in fields}


def _changed(before: dict | None, after: dict | None, keep: Iterable[str]) -> tuple[dict | None, dict | None]:
    """Only what changed, plus the identifying `keep` fields: a field equal before and after tells nothing."""
    if before is None or after is None:
        return before, after
    keep = set(keep)
    same = {key for key in before.keys() & after.keys() if before[key] == after[key] and key not in keep}
    return ({k: v for k, v in before.items() if k not in same}, {k: v for k, v in after.items() if k not in same})


def _request_origin() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None  # a command or a job
    return getattr(g, "request_id", None), request.remote_addr  # ProxyFix has made remote_addr the client's


def record(tx: Transaction, *, actor, action: str, target_type: str, target_id, before: dict | None = None,
           after: dict | None = None, keep: Iterable[str] = ()) -> AuditEntry:
    if tx is None:
        raise RuntimeError("an audit entry is written in the unit of work of the action it records")
    known = ACTIONS.get(action)
    if known is None:
        raise ValueError(f"{action!r} is not in shop.audit.actions")
    if target_type != known.target_type:
        raise ValueError(f"{action} acts on a {known.target_type}, not a {target_type}")
    before, after = _changed(json_safe(before), json_safe(after), keep)
    request_id, ip = _request_origin()
    entry = AuditEntry(actor_id=actor.id, action=str(action), target_type=target_type, target_id=str(target_id),
                       before=before, after=after, request_id=request_id, ip=ip)
    db.session.add(entry)
    return entry
