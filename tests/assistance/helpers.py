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


# --- statistics ---------------------------------------------------------------------------------------------

STATS = "/api/v1/assistance/stats"


def query(path: str, **params) -> str:
    """path?params, with from/to spelled as the API spells them."""
    from urllib.parse import urlencode

    names = {"start": "from", "end": "to"}
    return path + "?" + urlencode({names.get(k, k): v for k, v in params.items() if v is not None})


def stats(client, **params) -> dict:
    response = client.get(query(STATS, **params))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def by_key(body: dict) -> dict[str, dict]:
    return {item["key"]: item for item in body["items"]}


def local_month(moment) -> str:
    from shop.database import SHOP_TIMEZONE

    return moment.astimezone(SHOP_TIMEZONE).strftime("%Y-%m")


def generated_sums(lines, key_of, *, start=None, end=None, where=lambda line: True) -> dict[str, list[int]]:
    """key → [fen, units] summed over the generator's own record of what it wrote (benchmarks.assistance_data),
    events within [start, end) when given: the figures the statistics must give, computed without SQL."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        if not where(line):
            continue
        for at, fen, units in line.events:
            if (start is None or at >= start) and (end is None or at < end):
                key = key_of(line, at)
                if key is not None:
                    sums[key][0] += fen
                    sums[key][1] += units
    return dict(sums)


def base_world(app) -> dict:
    """A generated year of one line (benchmarks.assistance_data): its suppliers, products, 30 shoppers and 6
    institutions, for tests that write entries of their own (`add_entries`) on another year."""
    from benchmarks.assistance_data import generate
    from shop.accounts.models import User
    from shop.procurement.models import Organization

    generate(app, lines=1, year=2025, seed=3)

    def read():
        line = db.session.scalars(select(OrderLine)).first()
        organizations = db.session.execute(select(Organization.id, User.id).join(
            User, User.home_region_code == Organization.home_region_code).order_by(Organization.id)).all()
        shoppers = list(db.session.scalars(select(User.id).order_by(User.id)))
        return {"order_id": line.order_id, "line_id": line.id, "product_id": line.product_id,
                "supplier_id": line.supplier_id, "shoppers": shoppers, "organizations": sorted(
                    {org for org, _ in organizations})}
    return _read(read)


def add_entries(world: dict, *rows: dict) -> None:
    """Attribution entries as the statistics read them, on the world's line (the SQL never looks at the line):
    each row names what it changes from a shopper's retail payment of 100 fen, 1 unit, in 云阳, at noon on
    2024-06-15 (Asia/Shanghai)."""
    import datetime as dt

    from sqlalchemy import insert

    from shop.database import SHOP_TIMEZONE

    defaults = dict(source="payment", order_id=world["order_id"], order_line_id=world["line_id"], amount_fen=100,
                    quantity=1, district_code="500235", supplier_id=world["supplier_id"],
                    product_id=world["product_id"], category_id=None, channel="retail", buyer_kind="shopper",
                    buyer_id=world["shoppers"][0], organization_id=None, buyer_region_code=None,
                    inside_chongqing=None, pair_id=None, supporter_code=None,
                    created_at=dt.datetime(2024, 6, 15, 12, tzinfo=SHOP_TIMEZONE))
    with db.engine.begin() as conn:
        conn.execute(insert(AttributionEntry), [{**defaults, **row} for row in rows])
