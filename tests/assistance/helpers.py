"""Reading the attribution ledger from the test thread (each read ends its transaction: on SQLite a transaction
left open would block the app's own requests), and the invariant every test checks after its money moved."""
from __future__ import annotations

from collections import defaultdict

from flask import current_app
from sqlalchemy import func, select

from shop.assistance.models import AttributionEntry
from shop.extensions import db
from shop.orders.models import OrderLine
from shop.regions.models import SupportPair


def _read(fn):
    db.session.expire_all()
    try:
        return fn()
    finally:
        db.session.commit()


def entries(order_id: int | None = None) -> list[AttributionEntry]:
    stmt = select(AttributionEntry).order_by(AttributionEntry.id)
    if order_id is not None:
        stmt = stmt.where(AttributionEntry.order_id == order_id)
    return _read(lambda: list(db.session.scalars(stmt)))


def snapshot() -> list[tuple]:
    """Every entry as it is stored: what a pair edit must leave as it was."""
    columns = [c for c in AttributionEntry.__table__.columns]
    return _read(lambda: [tuple(row) for row in db.session.execute(select(*columns).order_by(AttributionEntry.id))])


def net(**where) -> tuple[int, int]:
    """(Σ amount_fen, Σ quantity) of the entries matching column == value (pair_id=None: on no pair)."""
    conditions = [getattr(AttributionEntry, k).is_(None) if v is None else getattr(AttributionEntry, k) == v
                  for k, v in where.items()]
    row = _read(lambda: db.session.execute(select(func.coalesce(func.sum(AttributionEntry.amount_fen), 0),
                                                  func.coalesce(func.sum(AttributionEntry.quantity), 0))
                                           .where(*conditions)).one())
    return int(row[0]), int(row[1])


def pair_id(supporter: str, recipient: str, kind: str = "three_gorges_counterpart") -> int:
    return _read(lambda: db.session.scalar(select(SupportPair.id).where(
        SupportPair.supporter_code == supporter, SupportPair.recipient_code == recipient, SupportPair.kind == kind)))


def assert_attribution_exact() -> None:
    """Per district and per line, the entries add up to the lines' paid - refunded, to the fen; a line's entries
    all sit on one pair (its net is never split), no line holds negative money on a pair, and units stay within
    the line: all of them when it holds its whole total, none when it holds nothing."""
    def read():
        lines = db.session.execute(select(OrderLine.id, OrderLine.origin_district_code,
                                          OrderLine.paid_fen - OrderLine.refunded_fen, OrderLine.line_total_fen,
                                          OrderLine.quantity)).all()
        units = dict(db.session.execute(select(AttributionEntry.order_line_id, func.sum(AttributionEntry.quantity))
                                        .group_by(AttributionEntry.order_line_id)).all())
        by_line = dict(db.session.execute(select(AttributionEntry.order_line_id, func.sum(AttributionEntry.amount_fen))
                                          .group_by(AttributionEntry.order_line_id)).all())
        by_district = dict(db.session.execute(select(AttributionEntry.district_code,
                                                     func.sum(AttributionEntry.amount_fen))
                                              .group_by(AttributionEntry.district_code)).all())
        by_pair = db.session.execute(select(AttributionEntry.order_line_id, AttributionEntry.pair_id,
                                            func.sum(AttributionEntry.amount_fen))
                                     .group_by(AttributionEntry.order_line_id, AttributionEntry.pair_id)).all()
        return lines, units, by_line, by_district, by_pair

    lines, units, by_line, by_district, by_pair = _read(read)
    expected_district: dict[str, int] = defaultdict(int)
    for line_id, district, held, total, quantity in lines:
        assert int(by_line.get(line_id, 0)) == held, (line_id, by_line.get(line_id), held)
        counted = int(units.get(line_id, 0))
        assert 0 <= counted <= quantity, (line_id, counted, quantity)
        if held in (0, total):  # a line holding nothing counts no units; one holding its whole total, all of them
            assert counted == (quantity if held else 0), (line_id, counted, held, total, quantity)
        expected_district[district] += held
    assert {d: int(v) for d, v in by_district.items()} == {d: v for d, v in expected_district.items()
                                                            if v or d in by_district}
    on_pairs: dict[int, list] = defaultdict(list)
    for line_id, pair, fen in by_pair:
        assert fen >= 0, (line_id, pair, fen)
        if fen:
            on_pairs[line_id].append(pair)
    assert all(len(pairs) == 1 for pairs in on_pairs.values()), on_pairs


def reattribute(*args: str) -> str:
    """`flask shop reattribute` as an operator runs it; returns what it printed."""
    result = current_app.test_cli_runner().invoke(args=["shop", "reattribute", *args])
    assert result.exit_code == 0, (result.output, repr(result.exception))
    db.session.remove()
    return result.output
