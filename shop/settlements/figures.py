"""How a supplier's month adds up, from its settlement entries (shop.settlements.ledger).

Months are calendar months in Asia/Shanghai: "2026-11" is [2026-11-01 00:00 +08:00, 2026-12-01 00:00 +08:00).

    sales_fen            Σ line entries of payments (what buyers paid for the supplier's goods)
    refunds_fen          − Σ line entries of refunds and of refunds given back (net refunds of goods)
    shipping_fen         Σ shipping entries of payments (shipping is passed through: no commission)
    shipping_refunds_fen − Σ shipping entries of refunds and of refunds given back
    commission_fen       Σ over rate periods of round(base × bps / 10 000), base = Σ of that period's line entries
    compensation_fen     − Σ compensation entries (pre-sale compensations paid out for the supplier)
    payable_fen          sales − refunds + shipping − shipping_refunds − commission − compensation

Commission rule. Each line entry takes the rate in force on its day (Asia/Shanghai): the supplier's
CommissionRate with the latest effective_from on or before that day (the latest recorded among rows of the
same day), else the configured DEFAULT_COMMISSION_BPS. Entries are grouped by the rate that applies (the rate
row, or the default); each group's base is its net (refunds reduce the base of the month they happen in, so a
base, and a commission, can be negative) and is rounded once: half away from zero to the fen
(`commission_of`), so a refund of the whole of a month's sales takes back exactly the commission it took.
Exact and reproducible: integers only, and the same entries and rates give the same figures.

Why it reconciles. Every fen a payment brings is spread over lines and shipping (one entry each), every refund
likewise, and each compensation paid is one entry, so for any period and any set of suppliers
Σ entries = payments received − refunds − compensations paid, and payable + commission = Σ entries.
"""
from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from shop.database import SHOP_TIMEZONE, local_month_bounds, next_month_start
from shop.extensions import db
from shop.settlements.models import CommissionRate, SettlementEntry

BPS = 10_000


def month_start(month: str) -> dt.date:
    year, number = (int(part) for part in month.split("-"))
    return dt.date(year, number, 1)


def next_month(month: str) -> str:
    return month_of(next_month_start(month_start(month)))


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """The month as a range of UTC instants [start, end)."""
    return local_month_bounds(month_start(month))


def local_day(instant: dt.datetime) -> dt.date:
    return instant.astimezone(SHOP_TIMEZONE).date()


def commission_of(base_fen: int, bps: int) -> int:
    """base × bps / 10 000, rounded half away from zero: commission_of(-x, r) == -commission_of(x, r)."""
    quotient, remainder = divmod(abs(base_fen) * bps, BPS)
    rounded = quotient + (1 if 2 * remainder >= BPS else 0)
    return rounded if base_fen >= 0 else -rounded


class Rates:
    """A supplier's rate history, for the rate of a day."""

    def __init__(self, rows: list[CommissionRate], default_bps: int) -> None:
        self.rows = sorted(rows, key=lambda rate: (rate.effective_from, rate.id))
        self._days = [rate.effective_from for rate in self.rows]
        self.default_bps = default_bps

    def at(self, day: dt.date) -> tuple[int | None, int]:
        """(rate id, bps) in force on `day`; (None, default) before any recorded rate."""
        index = bisect.bisect_right(self._days, day) - 1
        return (None, self.default_bps) if index < 0 else (self.rows[index].id, self.rows[index].bps)


def default_bps() -> int:
    return int(current_app.config["DEFAULT_COMMISSION_BPS"])


def rates_of(supplier_ids) -> dict[int, Rates]:
    ids = sorted(set(supplier_ids))
    rows: dict[int, list] = defaultdict(list)
    if ids:
        for rate in db.session.scalars(select(CommissionRate).where(CommissionRate.supplier_id.in_(ids))):
            rows[rate.supplier_id].append(rate)
    fallback = default_bps()
    return {supplier_id: Rates(rows[supplier_id], fallback) for supplier_id in ids}


@dataclass
class CommissionPart:
    rate_id: int | None
    bps: int
    base_fen: int = 0

    @property
    def commission_fen(self) -> int:
        return commission_of(self.base_fen, self.bps)


@dataclass
class Figures:
    supplier_id: int
    month: str
    sales_fen: int = 0
    refunds_fen: int = 0
    shipping_fen: int = 0
    shipping_refunds_fen: int = 0
    compensation_fen: int = 0
    last_entry_id: int | None = None
    parts: dict = field(default_factory=dict)  # (rate id, bps) → CommissionPart

    @property
    def commissions(self) -> list[CommissionPart]:
        return sorted(self.parts.values(), key=lambda part: (part.rate_id is not None, part.rate_id or 0, part.bps))

    @property
    def commission_fen(self) -> int:
        return sum(part.commission_fen for part in self.parts.values())

    @property
    def payable_fen(self) -> int:
        return (self.sales_fen - self.refunds_fen + self.shipping_fen - self.shipping_refunds_fen
                - self.commission_fen - self.compensation_fen)

    def add(self, entry_id: int, kind: str, source: str, amount_fen: int, rate: tuple[int | None, int]) -> None:
        self.last_entry_id = max(self.last_entry_id or 0, entry_id)
        if kind == "compensation":
            self.compensation_fen -= amount_fen
            return
        paid = source == "payment"
        if kind == "shipping":
            if paid:
                self.shipping_fen += amount_fen
            else:
                self.shipping_refunds_fen -= amount_fen
            return
        if paid:
            self.sales_fen += amount_fen
        else:
            self.refunds_fen -= amount_fen
        part = self.parts.setdefault(rate, CommissionPart(*rate))
        part.base_fen += amount_fen


def entry_rows(month: str, supplier_id: int | None = None):
    """The month's entries as (id, supplier id, kind, source, amount, created_at), oldest first."""
    start, end = bounds(month)
    stmt = (select(SettlementEntry.id, SettlementEntry.supplier_id, SettlementEntry.kind, SettlementEntry.source,
                   SettlementEntry.amount_fen, SettlementEntry.created_at)
            .where(SettlementEntry.created_at >= start, SettlementEntry.created_at < end)
            .order_by(SettlementEntry.id))
    if supplier_id is not None:
        stmt = stmt.where(SettlementEntry.supplier_id == supplier_id)
    return db.session.execute(stmt).all()


def month_figures(month: str, supplier_id: int | None = None) -> dict[int, Figures]:
    """Figures per supplier with any entry in the month (one supplier's when given)."""
    rows = entry_rows(month, supplier_id)
    rates = rates_of({row.supplier_id for row in rows})
    figures: dict[int, Figures] = {}
    for row in rows:
        target = figures.setdefault(row.supplier_id, Figures(row.supplier_id, month))
        target.add(row.id, row.kind, row.source, row.amount_fen, rates[row.supplier_id].at(local_day(row.created_at)))
    return figures


def supplier_figures(month: str, supplier_id: int) -> Figures:
    return month_figures(month, supplier_id).get(supplier_id) or Figures(supplier_id, month)
