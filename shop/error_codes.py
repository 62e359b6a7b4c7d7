"""Error codes as named constants: each domain lists the codes its clients switch on in its own
`error_codes.py`, and operations document the ones they can answer with `documents(...)`.

An ErrorCode is a str (so it goes wherever a code string goes: `Conflict(..., code=EMPTY_CART)`) that also
knows its HTTP status and what it means."""
from __future__ import annotations

from collections import defaultdict
from http import HTTPStatus

from flask_smorest import Blueprint


class ErrorCode(str):
    status: int
    description: str

    def __new__(cls, code: str, status: int, description: str) -> "ErrorCode":
        value = super().__new__(cls, code)
        value.status, value.description = status, description
        return value


# Any operation that reads a body or a query can answer this one.
VALIDATION_ERROR = ErrorCode("validation_error", 422, "a field breaks its schema; `errors` names each field")
# Any operation that reads or writes the database: it could not be reached (restarting, failed over, every pooled
# connection busy). The unit of work it was in rolled back; the answer carries Retry-After
# (shop.errors.handle_unexpected).
DATABASE_UNAVAILABLE = ErrorCode("database_unavailable", 503,
                                 "the database cannot be reached just now; retry after `Retry-After` seconds "
                                 "(an unsafe request with the same `Idempotency-Key`)")
# Operator-only operations of any domain.
ADMIN_ONLY = ErrorCode("admin_only", 403, "platform administrators only")


def codes_of(module) -> list[ErrorCode]:
    """Every ErrorCode a domain's error_codes module defines."""
    return [value for value in vars(module).values() if isinstance(value, ErrorCode)]


def documents(*codes: ErrorCode):
    """Document, per status, the problem codes an operation may answer with (and list them under
    `x-error-codes`, for clients that generate switch statements)."""
    by_status: dict[int, list[ErrorCode]] = defaultdict(list)
    for code in (VALIDATION_ERROR, *codes) if any(c.status == 422 for c in codes) else codes:
        by_status[code.status].append(code)
    responses = {
        str(status): {
            "description": HTTPStatus(status).phrase + ". `code` is one of: "
            + "; ".join(f"`{c}`: {c.description}" for c in listed),
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "x-error-codes": [str(c) for c in listed],
        }
        for status, listed in sorted(by_status.items())
    }
    return Blueprint.doc(responses=responses)
