"""The statistics' period is of Asia/Shanghai calendar days (an entry at 23:59:59 local on 31 January is
January's, one at 00:00 on 1 February February's), defaults to the current year, and every argument is
validated: a bad one is a 422 problem naming it."""
from __future__ import annotations

import datetime as dt

import pytest

from shop.database import SHOP_TIMEZONE, local_today, utcnow
from tests.assistance.helpers import STATS, add_entries, base_world, by_key, query, stats
from tests.support import assert_problem


def _at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHOP_TIMEZONE)


@pytest.fixture
def world(app):
    return base_world(app)


def test_periods_are_asia_shanghai_days(world, admin):
    add_entries(world, dict(amount_fen=1, created_at=_at(2024, 1, 31, 23, 59, 59)),
                dict(amount_fen=20, created_at=_at(2024, 2, 1, 0, 0, 0)),
                dict(amount_fen=300, created_at=_at(2024, 12, 31, 23, 59, 59)),
                dict(amount_fen=4000, created_at=_at(2025, 1, 1, 0, 0, 0)),
                dict(amount_fen=50000, created_at=_at(2023, 12, 31, 23, 59, 59)))
    months = stats(admin, group_by="month", start="2024-01-01", end="2024-12-31", raw="true")
    assert {k: v["amount_fen"] for k, v in by_key(months).items() if v["amount_fen"]} == \
        {"2024-01": 1, "2024-02": 20, "2024-12": 300}
    assert months["total"]["amount_fen"] == 321 and len(months["items"]) == 12
    assert (months["from"], months["to"]) == ("2024-01-01", "2024-12-31")
    one_day = stats(admin, group_by="market", start="2024-02-01", end="2024-02-01", raw="true")
    assert one_day["total"]["amount_fen"] == 20
    across = stats(admin, group_by="month", start="2023-12-31", end="2025-01-01", raw="true")
    assert [item["key"] for item in across["items"]][0::13] == ["2023-12", "2025-01"]
    assert across["total"]["amount_fen"] == 54321
    # `to` alone: from 1 January of its year
    assert stats(admin, group_by="market", end="2024-01-31", raw="true")["total"]["amount_fen"] == 1


def test_the_default_period_is_the_current_year(world, admin):
    today = local_today()
    add_entries(world, dict(amount_fen=7, created_at=utcnow()), dict(amount_fen=100, created_at=_at(2024, 6, 1)))
    body = stats(admin, group_by="buyer_kind", raw="true")
    assert (body["from"], body["to"]) == (f"{today.year}-01-01", f"{today.year}-12-31")
    assert body["total"]["amount_fen"] == 7
    assert by_key(body)["shopper"]["amount_fen"] == 7 and by_key(body)["institution"]["amount_fen"] == 0
    assert stats(admin, group_by="market", start=f"{today.year}-01-01", raw="true")["to"] == f"{today.year}-12-31"


BAD = [
    ({}, "group_by", "validation_error"),
    ({"group_by": "county"}, "group_by", "validation_error"),
    ({"group_by": "month", "from": "2024-13-01"}, "from", "validation_error"),
    ({"group_by": "month", "from": "yesterday"}, "from", "validation_error"),
    ({"group_by": "month", "to": "2024-02-30"}, "to", "validation_error"),
    ({"group_by": "month", "from": "2024-03-01", "to": "2024-02-29"}, "to", "invalid_period"),
    ({"group_by": "month", "from": "2014-01-01", "to": "2024-12-31"}, "to", "invalid_period"),
    ({"group_by": "district", "district": "50023"}, "district", "validation_error"),
    ({"group_by": "district", "district": "50023x"}, "district", "validation_error"),
    ({"group_by": "district", "district": "999999"}, "district", "invalid_region"),
    ({"group_by": "district", "supporter": "3200001"}, "supporter", "validation_error"),
    ({"group_by": "district", "supporter": "990000"}, "supporter", "invalid_region"),
    ({"group_by": "district", "channel": "online"}, "channel", "validation_error"),
    ({"group_by": "district", "buyer_kind": "company"}, "buyer_kind", "validation_error"),
    ({"group_by": "district", "category": "2.5"}, "category", "validation_error"),
    ({"group_by": "district", "category": "0"}, "category", "validation_error"),
    ({"group_by": "district", "category": "tea"}, "category", "validation_error"),
    ({"group_by": "district", "category": "99999"}, "category", "unknown_category"),
    ({"group_by": "district", "raw": "yes"}, "raw", "validation_error"),
    ({"group_by": "district", "raw": "1"}, "raw", "validation_error"),
    ({"group_by": "district", "limit": "5"}, "limit", "validation_error"),  # unknown arguments are refused
    # The ends of the calendar: a day's arithmetic there overflowed into a 500.
    ({"group_by": "district", "from": "9999-12-31"}, "from", "validation_error"),
    ({"group_by": "month", "from": "9999-12-01", "to": "9999-12-31"}, "from", "validation_error"),
    ({"group_by": "district", "from": "0001-01-01", "to": "0001-01-31"}, "from", "validation_error"),
    ({"group_by": "district", "to": "0001-01-01"}, "to", "validation_error"),
]


@pytest.mark.parametrize("params,field,code", BAD)
def test_bad_arguments_are_refused(client, params, field, code):
    body = assert_problem(client.get(query(STATS, **params)), 422, code)
    assert field in body["errors"], body
