"""Column types and helpers shared by every domain's models."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite (which stores them naive) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """SQLite: foreign keys on, WAL, and BEGIN IMMEDIATE so concurrent writers queue on the busy timeout
    instead of failing with 'database is locked' when a read transaction upgrades to a write."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def string_enum(*values: str, name: str):
    """An enum stored as VARCHAR with a CHECK constraint: portable, and new values need no type migration
    on PostgreSQL (only the constraint changes)."""
    from sqlalchemy import Enum

    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=32, validate_strings=True)


# Indexes that exist only on PostgreSQL (created by DDL events and migrations, not declared on the models):
# autogenerate must neither drop them there nor want them on SQLite.
POSTGRESQL_ONLY_INDEXES = {"ix_product_search_text_trgm", "ix_product_search_name_trgm", "ix_product_search_grams"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic filter shared by migrations/env.py and the migration test."""
    return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES)
