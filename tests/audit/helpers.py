"""Shared helpers of the audit tests: where the log stood before an action, and what the action added."""
from __future__ import annotations

from sqlalchemy import func, select

from shop.audit.models import AuditEntry
from shop.extensions import db


def mark() -> int:
    """The newest entry's id now (0 when the log is empty): what an action writes comes after it."""
    try:
        return db.session.scalar(select(func.coalesce(func.max(AuditEntry.id), 0)))
    finally:
        db.session.commit()


def entries_since(since: int) -> list[AuditEntry]:
    """The entries written after `since`, oldest first, read fresh in a transaction ended at once."""
    db.session.expire_all()
    try:
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.id > since).order_by(AuditEntry.id)))
    finally:
        db.session.commit()


def assert_one_entry(since: int, *, actor, action: str, target: tuple[str, object], before, after) -> AuditEntry:
    """Exactly one entry was written after `since`, naming this actor, action, target and values."""
    written = entries_since(since)
    assert [(e.actor_id, e.action, e.target_type, e.target_id) for e in written] == \
        [(actor.id, action, target[0], str(target[1]))], [(e.action, e.target_type, e.target_id) for e in written]
    [entry] = written
    assert (entry.before, entry.after) == (before, after)
    return entry
