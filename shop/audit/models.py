from __future__ import annotations

import datetime as dt

from sqlalchemy import DDL, JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.accounts.models import User
from shop.database import UTCDateTime, utcnow
from shop.extensions import db


class AuditEntry(db.Model):
    """One operator action: who (actor), what (action, from shop.audit.actions), on which object (target type and
    id), when, and the changed fields before and after (JSON; None where there was nothing before, or nothing
    after). Append-only: no code path updates or deletes a row, and the database refuses to (triggers, see the
    migration; on PostgreSQL also for tables made by create_all)."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_target", "target_type", "target_id", "id"),
        Index("ix_audit_entry_actor_id_id", "actor_id", "id"),
        Index("ix_audit_entry_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(40))  # ids, and a province code for quota minimums
    before: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))  # SQL NULL, not JSON null
    after: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    actor: Mapped[User] = relationship(lazy="raise")


# The same trigger as the migration's, for databases made by create_all (the test suite's): on PostgreSQL only,
# since TRUNCATE (how the suite empties tables there) fires no row trigger, while SQLite's cleanup deletes rows.
_PG_APPEND_ONLY = [
    DDL("CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'audit_entry is append-only: %% refused', TG_OP "  # DDL %-formats: %% is plpgsql's %
        "USING ERRCODE = 'insufficient_privilege'; "
        "END $$"),
    DDL("CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
        "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"),
]
for _ddl in _PG_APPEND_ONLY:
    event.listen(AuditEntry.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))
