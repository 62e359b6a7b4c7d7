"""The monthly rollup (shop.assistance.rollup) changes no figure: every grouping, public or raw, answers the same
before and after it, and the same as the generator's own sums; a month summed while a transaction from before its
end was still open is not sealed, and when it gained an entry since (that transaction committed late) it is read
from the entries until the next refresh; partial months at the period's ends are read from the entries; refresh is
idempotent."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text

from benchmarks.assistance_data import generate
from shop.assistance import rollup
from shop.assistance.models import AttributionMonth
from shop.assistance.rollup import refresh, valid_months
from shop.database import local_day_start, utcnow
from shop.extensions import db
from tests.assistance.helpers import add_entries, by_key, generated_sums, local_month, stats
from tests.assistance.test_statistics import KEYS

YEAR = 2025
WHOLE = {"start": f"{YEAR}-01-01", "end": f"{YEAR}-12-31"}


def _all(client, **params) -> dict:
    return {group_by: stats(client, group_by=group_by, **WHOLE, **params) for group_by in KEYS}


def _valid() -> list[str]:
    months = [m.strftime("%Y-%m") for m in valid_months(dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))]
    db.session.commit()
    return months


def test_the_rollup_changes_no_figure(app, admin, client):
    kept = generate(app, lines=1500, year=YEAR, seed=5, keep=True).kept
    raw_before, public_before = _all(admin, raw="true"), _all(client)
    assert _valid() == []

    done = refresh()
    assert sorted(m for m in done if m.startswith(str(YEAR))) == [f"{YEAR}-{m:02d}" for m in range(1, 13)]
    assert not any(n for m, n in done.items() if not m.startswith(str(YEAR)))  # later months: finished, empty
    assert sum(done.values()) == sum(len(line.events) for line in kept)
    assert refresh() == {}  # idempotent
    assert len(_valid()) == 12
    assert _all(admin, raw="true") == raw_before
    assert _all(client) == public_before
    months = by_key(raw_before["month"])
    expected = generated_sums(kept, KEYS["month"])
    assert {k: [v["amount_fen"], v["quantity"]] for k, v in months.items()} == expected

    # a partial period: the rolled-up months inside it and the entries of its ends
    start, end = dt.date(YEAR, 3, 15), dt.date(YEAR, 8, 20)
    part = stats(admin, group_by="district", start=start.isoformat(), end=end.isoformat(), raw="true")
    sums = generated_sums(kept, KEYS["district"], start=local_day_start(start),
                          end=local_day_start(end + dt.timedelta(days=1)))
    assert {k: [v["amount_fen"], v["quantity"]] for k, v in by_key(part).items() if v["amount_fen"]} == \
        {k: v for k, v in sums.items() if v[0]}


def test_a_late_entry_is_counted_until_the_next_refresh_rolls_it_up(app, admin, monkeypatch):
    kept = generate(app, lines=300, year=YEAR, seed=8, keep=True).kept
    monkeypatch.setattr(rollup, "_settled", lambda month_end: False)  # a transaction was open across month ends
    refresh()
    monkeypatch.undo()
    line = kept[0]
    late = dict(order_id=line.order_id, order_line_id=line.id, product_id=line.product_id,
                supplier_id=line.supplier_id, district_code=line.district_code, amount_fen=12345, quantity=0,
                created_at=dt.datetime(YEAR, 3, 10, 12, tzinfo=dt.timezone.utc))
    add_entries({"order_id": line.order_id, "line_id": line.id, "supplier_id": line.supplier_id,
                 "product_id": line.product_id, "shoppers": [line.buyer_id]}, late)
    assert f"{YEAR}-03" not in _valid() and len(_valid()) == 11
    expected = generated_sums(kept, KEYS["month"])
    expected[local_month(late["created_at"])][0] += 12345
    body = stats(admin, group_by="month", raw="true", **WHOLE)
    assert {k: [v["amount_fen"], v["quantity"]] for k, v in by_key(body).items()} == expected
    assert list(refresh()) == [f"{YEAR}-03"]  # now settled: March summed again, every month sealed
    assert len(_valid()) == 12
    assert stats(admin, group_by="month", raw="true", **WHOLE) == body
    assert db.session.scalar(select(func.count()).select_from(AttributionMonth)
                             .where(AttributionMonth.sealed.is_(False))) == 0
    db.session.commit()


def test_a_month_is_sealed_only_when_no_transaction_from_before_its_end_is_open(app):
    later = utcnow() + dt.timedelta(days=1)  # every open transaction began before this
    assert rollup._settled(later)
    db.session.commit()
    if db.engine.dialect.name != "postgresql":
        return  # SQLite: the refresh holds the write lock, nothing else can be writing
    with db.engine.connect() as other:
        other.execute(text("SELECT 1"))  # a transaction left open
        assert not rollup._settled(later)
        db.session.commit()
        other.rollback()
    assert rollup._settled(later)
    db.session.commit()
