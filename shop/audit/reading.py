"""Reading the audit log, for platform admins only:
    list_entries(*, actor, actor_id=None, action=None, target_type=None, target_id=None, created_from=None,
                 created_to=None, limit, cursor)    newest first
    get_entry(*, actor, entry_id) -> AuditEntry
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from shop.accounts.permissions import ensure_platform_admin
from shop.audit.models import AuditEntry
from shop.errors import NotFound
from shop.extensions import db
from shop.pagination import SortKey, keyset_page


def _query():
    return select(AuditEntry).options(joinedload(AuditEntry.actor))


def list_entries(*, actor, actor_id: int | None = None, action: str | None = None, target_type: str | None = None,
                 target_id: str | None = None, created_from: dt.datetime | None = None,
                 created_to: dt.datetime | None = None, limit: int, cursor: str | None):
    """Newest first (by id: the order the entries were written in). `created_to` is excluded."""
    ensure_platform_admin(actor)
    stmt = _query()
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    if target_type is not None:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if created_from is not None:
        stmt = stmt.where(AuditEntry.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(AuditEntry.created_at < created_to)
    return keyset_page(db.session, stmt, keys=[SortKey(AuditEntry.id, lambda e: e.id, descending=True)],
                       limit=limit, cursor=cursor)


def get_entry(*, actor, entry_id: int) -> AuditEntry:
    ensure_platform_admin(actor)
    entry = db.session.scalar(_query().where(AuditEntry.id == entry_id))
    if entry is None:
        raise NotFound("No such audit entry.")
    return entry
