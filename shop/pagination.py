"""Keyset pagination with an opaque cursor: cost is the same on page 1 and page 5,000."""
from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Callable

from marshmallow import Schema, fields, validate
from sqlalchemy import and_, or_

from shop.errors import ValidationFailed
from shop.validators import MAX_ID

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 200


@dataclass(frozen=True)
class SortKey:
    column: Any  # a SQL expression; must be non-null
    value_of: Callable[[Any], Any]  # reads the same value from a loaded row
    descending: bool = False


def _encode_value(value):
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    return value


def _decode_value(value):
    if isinstance(value, dict) and "dt" in value:
        return dt.datetime.fromisoformat(value["dt"])
    if isinstance(value, dict) and "d" in value:
        return dt.date.fromisoformat(value["d"])
    return value


def encode_cursor(values: list) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list) or len(values) != size:
            raise ValueError
        return [_decode_value(v) for v in values]
    except (ValueError, UnicodeDecodeError, TypeError):
        raise ValidationFailed("Invalid cursor.", code="invalid_cursor", errors={"cursor": ["Invalid cursor."]})


def _check_cursor_types(keys: list[SortKey], values: list) -> None:
    """A tampered cursor must be a 422, not a database error."""
    for key, value in zip(keys, values):
        try:
            expected = key.column.type.python_type
        except (AttributeError, NotImplementedError):
            continue
        if value is None or isinstance(value, bool) != (expected is bool) or not isinstance(value, expected) or \
                (expected is int and not -MAX_ID <= value <= MAX_ID):
            raise ValidationFailed("Invalid cursor.", code="invalid_cursor", errors={"cursor": ["Invalid cursor."]})


def after(keys: list[SortKey], values: list):
    """Rows strictly after `values` in the order given by `keys` (lexicographic, per-key direction)."""
    clauses = []
    for i, key in enumerate(keys):
        equal_prefix = [keys[j].column == values[j] for j in range(i)]
        step = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal_prefix, step))
    # Implied by the OR, but stated so the database can start an index range scan at the cursor instead of
    # reading and discarding every earlier row (price-sorted page 2,500 went from 33 ms to 3 ms).
    first = keys[0]
    bound = first.column <= values[0] if first.descending else first.column >= values[0]
    return and_(bound, or_(*clauses))


def order_by(keys: list[SortKey]):
    return [k.column.desc() if k.descending else k.column.asc() for k in keys]


def _page_statement(stmt, keys: list[SortKey], limit: int, cursor: str | None):
    if cursor:
        values = decode_cursor(cursor, len(keys))
        _check_cursor_types(keys, values)
        stmt = stmt.where(after(keys, values))
    return stmt.order_by(*order_by(keys)).limit(limit + 1)


def keyset_page(session, stmt, *, keys: list[SortKey], limit: int, cursor: str | None):
    """Run `stmt` ordered by keys; returns {"items", "next_cursor"}. The last key must be unique (the id)."""
    rows = list(session.scalars(_page_statement(stmt, keys, limit, cursor)).unique())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([k.value_of(rows[-1]) for k in keys])
    return {"items": rows, "next_cursor": next_cursor}


def keyset_rows(session, stmt, *, keys: list[SortKey], limit: int, cursor: str | None, outer=None):
    """keyset_page for a select of columns rather than of an entity: the items are Rows. The keys are selected
    too (as _k0, _k1, ...), so the cursor holds the values the database sorted on. `outer(page)`, if given,
    makes the final SELECT from the page (a subquery of at most limit + 1 rows): for columns worth computing
    for the page's rows only, such as aggregates of their child rows, which under a sort would otherwise be
    computed for every candidate row before the LIMIT."""
    names = [f"_k{i}" for i in range(len(keys))]
    stmt = _page_statement(stmt.add_columns(*(k.column.label(n) for k, n in zip(keys, names))), keys, limit, cursor)
    if outer is not None:
        page = stmt.subquery("page")
        stmt = outer(page).order_by(*order_by([SortKey(page.c[n], None, k.descending) for k, n in zip(keys, names)]))
    rows = session.execute(stmt).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([getattr(rows[-1], n) for n in names])
    return {"items": rows, "next_cursor": next_cursor}


class PageArgsSchema(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT,  # query strings: "2.7" is still rejected
                            validate=validate.Range(min=1, max=MAX_LIMIT))
    # Cursors hold at most three numbers (see encode_cursor), so 200 is generous and keeps every documented
    # query well inside gunicorn's 4 KB request line (tests/test_pagination.py checks both).
    cursor = fields.String(load_default=None, validate=validate.Length(max=MAX_CURSOR_LENGTH),
                           metadata={"description": "next_cursor of the previous page, as given"})


def page_schema(item_schema: type[Schema], name: str | None = None) -> type[Schema]:
    """{"items": [...], "next_cursor": str|null} around an item schema."""
    return Schema.from_dict(
        {"items": fields.List(fields.Nested(item_schema)), "next_cursor": fields.String(allow_none=True)},
        name=name or item_schema.__name__.replace("Schema", "") + "PageSchema",
    )
