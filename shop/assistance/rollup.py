"""Monthly pre-aggregation of the attribution entries, exact without triggers.

`refresh()` (the job `flask shop refresh-assistance-rollup`, any time, idempotent) sums each finished month's
entries into `attribution_rollup` rows, per combination of the grouped and filtered columns, with the number of
distinct buyers of the combination, and records in `attribution_month` how many entries the month had. It counts
first and sums after: an entry committed in between is in the sums but not in the count, so the month merely
fails the check below; it never has an entry counted and not summed (entries are only ever added).

A statistic (`aggregate`) checks each whole month of its period: when the month's entries still number what was
recorded, the rollup is their exact sum (entries are append-only: the same count is the same set) and is read;
otherwise — a late entry, a month not rolled up yet, the partial months at the period's ends — the entries
themselves are. Buyer counts: a group's rows give a lower bound (max over rows); groups whose bound is under the
minimum are counted exactly from the entries, and so are the unions suppression asks about.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select

from shop.assistance.models import AttributionEntry as Entry, AttributionMonth, AttributionRollup as Rollup
from shop.database import SHOP_TIMEZONE, local_day_start, utcnow
from shop.extensions import db
from shop.transaction import transaction

DIMENSIONS = ("district_code", "product_id", "category_id", "channel", "buyer_kind", "inside_chongqing", "pair_id",
              "supporter_code")
BUYER = func.coalesce(-Entry.organization_id, Entry.buyer_id)  # negative organisation ids never meet user ids
SETTLE = dt.timedelta(hours=1)  # a month is rolled up once it ended this long ago (no transaction lasts that long)


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return local_day_start(month), local_day_start(next_month(month))


def _count(month: dt.date) -> int:
    start, end = bounds(month)
    return int(db.session.scalar(select(func.count()).select_from(Entry)
                                 .where(Entry.created_at >= start, Entry.created_at < end)))


def refresh(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Roll up every finished month whose entries are not rolled up as they are; returns month → entries."""
    now = now or utcnow()
    first = db.session.scalar(select(func.min(Entry.created_at)))
    db.session.commit()
    if first is None:
        return {}
    done = {}
    local = first.astimezone(SHOP_TIMEZONE)
    month = dt.date(local.year, local.month, 1)
    while bounds(month)[1] + SETTLE <= now:
        key = month.strftime("%Y-%m")
        with transaction():
            recorded = db.session.get(AttributionMonth, key)
            entries = _count(month)
            if recorded is None or recorded.entries != entries:
                _roll_up(month, key, entries, recorded)
                done[key] = entries
        month = next_month(month)
    return done


def _roll_up(month: dt.date, key: str, entries: int, recorded) -> None:
    start, end = bounds(month)
    db.session.execute(delete(Rollup).where(Rollup.month == key))
    columns = [getattr(Entry, name) for name in DIMENSIONS]
    summed = (select(literal(key), *columns, func.sum(Entry.amount_fen), func.sum(Entry.quantity),
                     func.count(func.distinct(BUYER)))
              .where(Entry.created_at >= start, Entry.created_at < end).group_by(*columns))
    db.session.execute(insert(Rollup).from_select(["month", *DIMENSIONS, "amount_fen", "quantity", "buyers"], summed))
    if recorded is None:
        db.session.add(AttributionMonth(month=key, entries=entries))
    else:
        recorded.entries, recorded.built_at = entries, utcnow()


def valid_months(start: dt.date, end: dt.date) -> list[dt.date]:
    """The whole months of [start, end] whose rollup is exact now (their entries still number what was summed)."""
    months, month = [], dt.date(start.year, start.month, 1)
    if month < start:
        month = next_month(month)
    while next_month(month) - dt.timedelta(days=1) <= end:
        months.append(month)
        month = next_month(month)
    if not months:
        return []
    recorded = dict(db.session.execute(select(AttributionMonth.month, AttributionMonth.entries).where(
        AttributionMonth.month.in_([m.strftime("%Y-%m") for m in months]))).all())
    candidates = [m for m in months if m.strftime("%Y-%m") in recorded]
    if not candidates:
        return []
    # One index range read for all of them: the count per month.
    labels = case(*[(Entry.created_at < bounds(m)[1], literal(m.strftime("%Y-%m"))) for m in candidates[:-1]],
                  else_=literal(candidates[-1].strftime("%Y-%m"))) if len(candidates) > 1 \
        else literal(candidates[0].strftime("%Y-%m"))
    ranges = or_(*[and_(Entry.created_at >= bounds(m)[0], Entry.created_at < bounds(m)[1]) for m in candidates])
    inner = select(labels.label("m")).where(ranges).subquery()
    counts = dict(db.session.execute(select(inner.c.m, func.count()).group_by(inner.c.m)).all())
    return [m for m in candidates if counts.get(m.strftime("%Y-%m"), 0) == recorded[m.strftime("%Y-%m")]]


def raw_ranges(start: dt.date, end: dt.date, months: list[dt.date]) -> list[tuple[dt.datetime, dt.datetime]]:
    """The parts of the period the valid months do not cover, as UTC [from, to) ranges."""
    pieces, cursor = [], local_day_start(start)
    stop = local_day_start(end + dt.timedelta(days=1))
    for month in months:
        month_start, month_end = bounds(month)
        if cursor < month_start:
            pieces.append((cursor, month_start))
        cursor = month_end
    if cursor < stop:
        pieces.append((cursor, stop))
    return pieces
