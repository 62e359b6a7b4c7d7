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

from sqlalchemy import and_, delete, func, insert, literal, or_, select, text

from shop.assistance.models import AttributionEntry as Entry, AttributionMonth, AttributionRollup as Rollup
from shop.database import SHOP_TIMEZONE, local_day_start, local_month_bounds, next_month_start, utcnow
from shop.extensions import db
from shop.transaction import transaction

DIMENSIONS = ("district_code", "product_id", "category_id", "channel", "buyer_kind", "inside_chongqing", "pair_id",
              "supporter_code")
BUYER = func.coalesce(-Entry.organization_id, Entry.buyer_id)  # negative organisation ids never meet user ids
SETTLE = dt.timedelta(hours=1)  # a month is rolled up once it ended this long ago (no transaction lasts that long)


def _count(month: dt.date) -> int:
    start, end = local_month_bounds(month)
    return int(db.session.scalar(select(func.count()).select_from(Entry)
                                 .where(Entry.created_at >= start, Entry.created_at < end)))


def _settled(month_end: dt.datetime) -> bool:
    """No other transaction that began before `month_end` is open (read first in the refresh's transaction).
    SQLite: the refresh holds the write lock, so no writer is open at all. PostgreSQL: pg_stat_activity; a session
    whose state this role may not see counts as open."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    open_before = db.session.scalar(text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND (state IS NULL OR state <> 'idle') AND (xact_start IS NULL OR xact_start < :end)"), {"end": month_end})
    return open_before == 0


def refresh(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Roll up every finished month whose entries are not rolled up as they are, and seal those no late entry can
    reach any more; returns month → entries of the months rolled up."""
    now = now or utcnow()
    first = db.session.scalar(select(func.min(Entry.created_at)))
    db.session.commit()
    if first is None:
        return {}
    done = {}
    local = first.astimezone(SHOP_TIMEZONE)
    month = dt.date(local.year, local.month, 1)
    while local_month_bounds(month)[1] + SETTLE <= now:
        key = month.strftime("%Y-%m")
        with transaction():
            settled = _settled(local_month_bounds(month)[1])  # before counting: then the count is final when settled
            recorded = db.session.get(AttributionMonth, key)
            if recorded is not None and recorded.sealed:
                month = next_month_start(month)
                continue
            entries = _count(month)
            if recorded is None or recorded.entries != entries:
                recorded = _roll_up(month, key, entries, recorded)
                done[key] = entries
            recorded.sealed = settled
        month = next_month_start(month)
    return done


def _roll_up(month: dt.date, key: str, entries: int, recorded) -> None:
    start, end = local_month_bounds(month)
    db.session.execute(delete(Rollup).where(Rollup.month == key))
    columns = [getattr(Entry, name) for name in DIMENSIONS]
    summed = (select(literal(key), *columns, func.sum(Entry.amount_fen), func.sum(Entry.quantity),
                     func.count(func.distinct(BUYER)))
              .where(Entry.created_at >= start, Entry.created_at < end).group_by(*columns))
    db.session.execute(insert(Rollup).from_select(["month", *DIMENSIONS, "amount_fen", "quantity", "buyers"], summed))
    if recorded is None:
        recorded = AttributionMonth(month=key, entries=entries, sealed=False)
        db.session.add(recorded)
    else:
        recorded.entries, recorded.built_at = entries, utcnow()
    return recorded


def valid_months(start: dt.date, end: dt.date) -> list[dt.date]:
    """The whole months of [start, end] whose rollup is exact now (their entries still number what was summed)."""
    months, month = [], dt.date(start.year, start.month, 1)
    if month < start:
        month = next_month_start(month)
    while next_month_start(month) - dt.timedelta(days=1) <= end:
        months.append(month)
        month = next_month_start(month)
    if not months:
        return []
    rows = db.session.execute(select(AttributionMonth.month, AttributionMonth.entries, AttributionMonth.sealed)
                              .where(AttributionMonth.month.in_([m.strftime("%Y-%m") for m in months]))).all()
    sealed = {month for month, _, is_sealed in rows if is_sealed}
    recorded = {month: entries for month, entries, is_sealed in rows if not is_sealed}
    trusted = [m for m in months if m.strftime("%Y-%m") in sealed]
    candidates = [m for m in months if m.strftime("%Y-%m") in recorded]
    if not candidates:
        return trusted
    return sorted(trusted + _still_exact(candidates, recorded))


def _still_exact(candidates: list[dt.date], recorded: dict[str, int]) -> list[dt.date]:
    """The months not sealed whose entries still number what was summed."""
    # A month only ever gains entries, so when the candidates' range holds as many entries as were summed, every
    # month in it still holds exactly its own: one index range count.
    first, last = local_month_bounds(candidates[0])[0], local_month_bounds(candidates[-1])[1]
    expected = sum(recorded[m.strftime("%Y-%m")] for m in candidates)
    total = db.session.scalar(select(func.count()).select_from(Entry)
                              .where(Entry.created_at >= first, Entry.created_at < last))
    if total == expected + _uncounted(candidates, first, last):
        return candidates
    return [m for m in candidates if _count(m) == recorded[m.strftime("%Y-%m")]]  # which month changed


def _uncounted(candidates: list[dt.date], first: dt.datetime, last: dt.datetime) -> int:
    """Entries in [first, last) outside the candidate months (months of the range not rolled up)."""
    gaps = [local_month_bounds(m) for m in month_starts(candidates[0], candidates[-1]) if m not in candidates]
    if not gaps:
        return 0
    return int(db.session.scalar(select(func.count()).select_from(Entry).where(
        or_(*[and_(Entry.created_at >= a, Entry.created_at < b) for a, b in gaps]))))


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every month from `start`'s to `end`'s, in order."""
    months, month = [], dt.date(start.year, start.month, 1)
    while month <= end:
        months.append(month)
        month = next_month_start(month)
    return months


def raw_ranges(start: dt.date, end: dt.date, months: list[dt.date]) -> list[tuple[dt.datetime, dt.datetime]]:
    """The parts of the period the valid months do not cover, as UTC [from, to) ranges."""
    pieces, cursor = [], local_day_start(start)
    stop = local_day_start(end + dt.timedelta(days=1))
    for month in months:
        month_start, month_end = local_month_bounds(month)
        if cursor < month_start:
            pieces.append((cursor, month_start))
        cursor = month_end
    if cursor < stop:
        pieces.append((cursor, stop))
    return pieces
