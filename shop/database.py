"""Column types and helpers shared by every domain's models."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, DateTime, event, func, literal_column
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


SHOP_TIMEZONE = ZoneInfo("Asia/Shanghai")  # the center's calendar: due dates, quota years, statement periods


def local_today(now: dt.datetime | None = None) -> dt.date:
    """The calendar day in Chongqing (UTC+8) at `now` (default: this instant)."""
    return (now or utcnow()).astimezone(SHOP_TIMEZONE).date()


def local_day_start(day: dt.date) -> dt.datetime:
    """The first instant of `day` in Chongqing, in UTC: local days and years become ranges of UTC timestamps."""
    return dt.datetime.combine(day, dt.time(), tzinfo=SHOP_TIMEZONE).astimezone(dt.timezone.utc)


def next_month_start(day: dt.date) -> dt.date:
    """The first day of the month after `day`'s."""
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def local_month_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """`day`'s calendar month in Chongqing as a range of UTC instants [start, end): statement and rollup months."""
    first = day.replace(day=1)
    return local_day_start(first), local_day_start(next_month_start(first))


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


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _begins_deferred() -> bool:
    """Only reads that cannot turn into writes begin deferred: a request with a safe method, outside any unit
    of work. Everything else (units of work, unsafe requests, jobs, the CLI) takes the write lock at BEGIN."""
    from flask import has_request_context, request

    from shop.transaction import wants_write_lock

    return has_request_context() and request.method in SAFE_METHODS and not wants_write_lock()


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """SQLite: foreign keys on, WAL, and BEGIN IMMEDIATE for anything that may write, so concurrent writers
    queue on the busy timeout instead of failing with 'database is locked' when a read upgrades to a write.
    Read-only requests begin deferred: with WAL they read beside a writer instead of queueing for its lock."""

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
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # asked for no transaction (e.g. a migration's PRAGMA foreign_keys, a no-op inside one)
        mode = "DEFERRED" if _begins_deferred() else "IMMEDIATE"
        connection.info["sqlite_begin"] = mode
        connection.exec_driver_sql(f"BEGIN {mode}")


def string_enum(*values: str, name: str):
    """An enum stored as VARCHAR with a CHECK constraint: portable, and new values need no type migration
    on PostgreSQL (only the constraint changes)."""
    from sqlalchemy import Enum

    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=32, validate_strings=True)


# Indexes that exist only on PostgreSQL (created by DDL events and migrations, not declared on the models):
# autogenerate must neither drop them there nor want them on SQLite.
POSTGRESQL_ONLY_INDEXES = {"ix_product_search_text_trgm", "ix_product_search_name_trgm", "ix_product_search_grams"}


# SQLite's FTS5 search index of products (catalog.models.SQLITE_SEARCH_INDEX_DDL): virtual tables, their shadow
# tables (product_search_data, _idx, _docsize, _config) and triggers, made by DDL events and a migration.
SQLITE_ONLY_TABLE_PREFIX = "product_search"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic filter shared by migrations/env.py and the migration test."""
    if type_ == "table" and reflected and compare_to is None and name.startswith(SQLITE_ONLY_TABLE_PREFIX):
        return False
    return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES)


class json_objects(FunctionElement):
    """Aggregate: a JSON array of one object per row, json_objects(id=GiRecord.id, ...) → [{"id": ...}, ...].
    json_agg(json_build_object(...)) on PostgreSQL, json_group_array(json_object(...)) on SQLite, so a page can
    read its rows' children in the same statement. In no particular order (sort in Python); no rows give NULL
    on PostgreSQL and [] on SQLite. SQLite's json_object gives booleans as 0/1, and JSON columns are passed
    through json() so that they nest as JSON, not as strings."""

    type = JSON()
    inherit_cache = True

    def __init__(self, **columns):
        pairs = []
        for key, column in columns.items():
            assert key.isidentifier(), key  # keys are spelled into the SQL as literals
            pairs += [literal_column(f"'{key}'"), column]
        super().__init__(*pairs)


@compiles(json_objects, "postgresql")
def _json_objects_postgresql(element, compiler, **kw):
    return f"json_agg(json_build_object({compiler.process(element.clauses, **kw)}))"


@compiles(json_objects, "sqlite")
def _json_objects_sqlite(element, compiler, **kw):
    values = [func.json(c) if isinstance(getattr(c, "type", None), JSON) else c for c in element.clauses]
    return f"json_group_array(json_object({', '.join(compiler.process(v, **kw) for v in values)}))"
