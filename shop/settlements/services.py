"""The settlements verbs: live and closed figures, closing a month, recording a payout, commission rates.

Who sees what: platform admins every supplier's; a supplier's members their own supplier's (any role); anyone
else gets 404 for a settlement or a supplier, and an empty list. Operators close months, record payouts and
rates. The commission-rate change and the payout return the values before and after (`Change`), for the
operators' audit log.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import selectinload

from shop.accounts.permissions import ensure_platform_admin, visible_or_404
from shop.audit import actions as audit_actions
from shop.audit import services as audit
from shop.database import local_today, utcnow
from shop.errors import Conflict, NotFound, Unauthorized
from shop.extensions import db
from shop.pagination import SortKey, keyset_page
from shop.settlements import error_codes, statement
from shop.settlements.figures import (Figures, bounds, month_figures, month_of, month_start, next_month, rates_of,
                                      supplier_figures)
from shop.settlements.models import (SETTLEMENT_TRANSITIONS, CommissionRate, Settlement, SettlementCommission,
                                     SettlementPeriod)
from shop.settlements.schemas import MONTH
from shop.suppliers import services as suppliers
from shop.transaction import transaction

# A unit of work that began before midnight may still commit an entry dated in the month just ended: a month
# closes only this long after its end, when every such unit has long finished.
CLOSE_GRACE = dt.timedelta(minutes=10)
FIGURE_FIELDS = ("sales_fen", "refunds_fen", "shipping_fen", "shipping_refunds_fen", "commission_fen",
                 "compensation_fen", "payable_fen")


@dataclass
class Change:
    """What an operator's verb changed: the object, and its fields before and after (audit log)."""

    target: object
    before: dict
    after: dict


@dataclass
class LiveSettlement:
    """A supplier's month as the entries say now: `open`, or `closed`/`paid` with its frozen row."""

    supplier_id: int
    month: str
    status: str
    figures: Figures
    id: int | None = None

    def __getattr__(self, name):
        if name in FIGURE_FIELDS or name == "commissions":
            return getattr(self.figures, name)
        raise AttributeError(name)


def _viewer_required(viewer) -> None:
    if viewer is None:
        raise Unauthorized()


def _may_see(viewer, supplier_id: int) -> bool:
    return viewer.is_platform_admin or suppliers.is_member(user=viewer, supplier_id=supplier_id)


def _visible_supplier(viewer, supplier_id: int) -> None:
    _viewer_required(viewer)
    if not _may_see(viewer, supplier_id):
        raise NotFound("No such supplier.")  # someone else's supplier is indistinguishable from a missing one
    suppliers.get_supplier(supplier_id=supplier_id)  # 404 for an admin asking about no supplier


def closed_months() -> set[str]:
    return set(db.session.scalars(select(SettlementPeriod.month)))


def latest_closed_month() -> str | None:
    return db.session.scalar(select(func.max(SettlementPeriod.month)))


# --- reading --------------------------------------------------------------------------------------------------


def list_settlements(*, viewer, supplier_id: int | None = None, month: str | None = None,
                     status: str | None = None, limit: int, cursor: str | None):
    """Closed and paid settlements, newest month first."""
    _viewer_required(viewer)
    stmt = select(Settlement)
    if not viewer.is_platform_admin:
        stmt = stmt.where(Settlement.supplier_id.in_(suppliers.member_supplier_ids(user=viewer)))
    if supplier_id is not None:
        stmt = stmt.where(Settlement.supplier_id == supplier_id)
    if month is not None:
        stmt = stmt.where(Settlement.month == month)
    if status is not None:
        stmt = stmt.where(Settlement.status == status)
    keys = [SortKey(Settlement.month, lambda s: s.month, descending=True),
            SortKey(Settlement.id, lambda s: s.id, descending=True)]
    return keyset_page(db.session, stmt, keys=keys, limit=limit, cursor=cursor)


def _stored(settlement_id: int) -> Settlement | None:
    return db.session.scalar(select(Settlement).where(Settlement.id == settlement_id)
                             .options(selectinload(Settlement.commissions))
                             .execution_options(populate_existing=True))


def get_settlement(*, viewer, settlement_id: int) -> Settlement:
    _viewer_required(viewer)
    settlement = _stored(settlement_id)
    return visible_or_404(settlement, settlement is not None and _may_see(viewer, settlement.supplier_id),
                          "settlement")


def view_month(*, viewer, supplier_id: int, month: str):
    """A supplier's month: the frozen settlement once the month is closed, else computed live (`open`)."""
    if MONTH.regex.fullmatch(month) is None:
        raise NotFound("No such month (YYYY-MM).")
    _visible_supplier(viewer, supplier_id)
    if month in closed_months():
        stored = db.session.scalar(select(Settlement).where(Settlement.supplier_id == supplier_id,
                                                            Settlement.month == month)
                                   .options(selectinload(Settlement.commissions)))
        if stored is not None:
            return stored
        return LiveSettlement(supplier_id, month, "closed", Figures(supplier_id, month))  # no activity
    return LiveSettlement(supplier_id, month, "open", supplier_figures(month, supplier_id))


def statement_workbook(*, viewer, settlement_id: int | None = None, supplier_id: int | None = None,
                       month: str | None = None) -> tuple[bytes, str]:
    """A closed settlement's statement (by id), or a supplier's month as it stands (by supplier and month):
    (.xlsx bytes, file name)."""
    if settlement_id is not None:
        settlement = get_settlement(viewer=viewer, settlement_id=settlement_id)
    else:
        settlement = view_month(viewer=viewer, supplier_id=supplier_id, month=month)
    entries = statement.entries_of(settlement.supplier_id, settlement.month)
    name = suppliers.supplier_names(supplier_ids=[settlement.supplier_id]).get(settlement.supplier_id, "")
    return statement.statement_xlsx(settlement, entries, name), statement.filename(settlement)


# --- closing --------------------------------------------------------------------------------------------------


@dataclass
class Closed:
    month: str
    settlements: int
    payable_fen: int
    commission_fen: int


def close_month(*, actor=None, month: str, now: dt.datetime | None = None) -> Closed:
    """Freeze the month's figures: one closed settlement per supplier with any entry in it. Once only."""
    if actor is not None:
        ensure_platform_admin(actor)
    now = now or utcnow()
    if bounds(month)[1] + CLOSE_GRACE > now:
        raise Conflict(f"{month} has not ended yet (Asia/Shanghai); it can be closed from "
                       f"{(bounds(month)[1] + CLOSE_GRACE).isoformat()}.", code=error_codes.MONTH_NOT_OVER)
    with transaction(conflict=error_codes.MONTH_ALREADY_CLOSED,
                     conflict_detail=f"{month} was closed already.") as tx:
        if db.session.scalar(select(SettlementPeriod.id).where(SettlementPeriod.month == month)) is not None:
            raise Conflict(f"{month} was closed already.", code=error_codes.MONTH_ALREADY_CLOSED)
        db.session.add(SettlementPeriod(month=month, closed_by_id=actor.id if actor else None, closed_at=now))
        db.session.flush()  # two closes at once: the second fails here on the unique month
        figures = month_figures(month)
        for supplier_id in sorted(figures):
            _freeze(figures[supplier_id], now)
        closed = Closed(month, len(figures), sum(f.payable_fen for f in figures.values()),
                        sum(f.commission_fen for f in figures.values()))
        if actor is not None:  # the shell command has no operator to name (as create-admin and reattribute)
            audit.record(tx, actor=actor, action=audit_actions.SETTLEMENT_MONTH_CLOSED, target_type="settlement_month",
                         target_id=month, after={"settlements": closed.settlements, "payable_fen": closed.payable_fen,
                                                 "commission_fen": closed.commission_fen})
    return closed


def _freeze(figures: Figures, now: dt.datetime) -> None:
    settlement = Settlement(supplier_id=figures.supplier_id, month=figures.month, status="closed", closed_at=now,
                            last_entry_id=figures.last_entry_id,
                            **{name: getattr(figures, name) for name in FIGURE_FIELDS})
    db.session.add(settlement)
    db.session.flush()
    parts = [dict(settlement_id=settlement.id, rate_id=part.rate_id, bps=part.bps, base_fen=part.base_fen,
                  commission_fen=part.commission_fen) for part in figures.commissions]
    if parts:
        db.session.execute(insert(SettlementCommission), parts)


def last_month(now: dt.datetime | None = None) -> str:
    first = month_start(month_of(local_today(now)))
    return month_of(first - dt.timedelta(days=1))


# --- payout ---------------------------------------------------------------------------------------------------


def _payout_fields(settlement: Settlement) -> dict:
    return {"status": settlement.status, "payout_reference": settlement.payout_reference,
            "paid_at": settlement.paid_at.isoformat() if settlement.paid_at else None,
            "paid_by_id": settlement.paid_by_id}


def mark_paid(*, actor, settlement_id: int, payout_reference: str) -> Change:
    """`closed → paid` once, with the bank's reference. The same reference again changes nothing (a replay);
    another one is refused."""
    ensure_platform_admin(actor)
    with transaction() as tx:
        settlement = _stored(settlement_id)
        if settlement is None:
            raise NotFound("No such settlement.")
        before = _payout_fields(settlement)
        if settlement.status == "paid":
            if settlement.payout_reference == payout_reference:
                return Change(settlement, before, before)
            raise Conflict("This settlement was paid already, with another payout reference.",
                           code=error_codes.SETTLEMENT_PAID)
        if "paid" not in SETTLEMENT_TRANSITIONS[settlement.status]:
            raise Conflict(f"A settlement that is {settlement.status} cannot be paid.",
                           code=error_codes.ILLEGAL_SETTLEMENT_TRANSITION)
        if db.session.execute(update(Settlement).where(Settlement.id == settlement_id, Settlement.status == "closed")
                              .values(status="paid", payout_reference=payout_reference, paid_at=utcnow(),
                                      paid_by_id=actor.id).execution_options(synchronize_session=False)
                              ).rowcount != 1:
            raise Conflict("Another request paid this settlement meanwhile; reload it.",
                           code=error_codes.SETTLEMENT_PAID)
        settlement = _stored(settlement_id)
        change = Change(settlement, before, _payout_fields(settlement))
        audit.record(tx, actor=actor, action=audit_actions.SETTLEMENT_PAID, target_type="settlement",
                     target_id=settlement_id, before=change.before, after=change.after)
        return change


def pay_settlement(*, actor, settlement_id: int, payout_reference: str) -> Settlement:
    return mark_paid(actor=actor, settlement_id=settlement_id, payout_reference=payout_reference).target


# --- commission rates -----------------------------------------------------------------------------------------


def list_rates(*, viewer, supplier_id: int) -> list[CommissionRate]:
    """The supplier's rate history, oldest effective first."""
    _visible_supplier(viewer, supplier_id)
    return list(db.session.scalars(select(CommissionRate).where(CommissionRate.supplier_id == supplier_id)
                                   .order_by(CommissionRate.effective_from, CommissionRate.id)))


def _rate_fields(supplier_id: int, day: dt.date) -> dict:
    """The rate in force from `day` on, as the audit log records it."""
    rate_id, bps = rates_of([supplier_id])[supplier_id].at(day)
    return {"supplier_id": supplier_id, "effective_from": day.isoformat(), "bps": bps, "rate_id": rate_id}


def change_rate(*, actor, supplier_id: int, bps: int, effective_from: dt.date) -> Change:
    """A new rate from `effective_from` on (history kept). Not on or before the end of a closed month: closed
    figures never change."""
    ensure_platform_admin(actor)
    suppliers.get_supplier(supplier_id=supplier_id)
    with transaction() as tx:
        latest = latest_closed_month()
        if latest is not None and effective_from < month_start(next_month(latest)):
            raise Conflict(f"{latest} is closed: a rate can take effect from the day after it at the earliest.",
                           code=error_codes.RATE_IN_CLOSED_MONTH)
        before = _rate_fields(supplier_id, effective_from)
        rate = CommissionRate(supplier_id=supplier_id, bps=bps, effective_from=effective_from,
                              recorded_by_id=actor.id)
        db.session.add(rate)
        db.session.flush()
        change = Change(rate, before, _rate_fields(supplier_id, effective_from))
        audit.record(tx, actor=actor, action=audit_actions.COMMISSION_RATE_SET, target_type="supplier",
                     target_id=supplier_id, before=change.before, after=change.after, keep=("effective_from",))
        return change


def add_rate(*, actor, supplier_id: int, bps: int, effective_from: dt.date) -> CommissionRate:
    return change_rate(actor=actor, supplier_id=supplier_id, bps=bps, effective_from=effective_from).target
