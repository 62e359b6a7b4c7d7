from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import UTCDateTime, string_enum, utcnow
from shop.extensions import db

# What moved a supplier's money: the order ledger's three moves, and a pre-sale compensation paid out.
ENTRY_SOURCES = ("payment", "refund", "refund_released", "compensation")
ENTRY_KINDS = ("line", "shipping", "compensation")  # commission is taken on `line` entries only
SETTLEMENT_STATUSES = ("open", "closed", "paid")
# A month is `open` (figures computed live, nothing stored) until an operator closes it: the figures are then
# frozen as rows (`closed`); the payout is recorded once (`paid`).
SETTLEMENT_TRANSITIONS = {"open": {"closed"}, "closed": {"paid"}, "paid": set()}


class SettlementEntry(db.Model):
    """One signed move of one supplier's money, dated when it moved. Append-only: nothing updates or deletes a
    row; a refund given back is a new row. A month's figures are sums over the entries dated in it."""

    __tablename__ = "settlement_entry"
    __table_args__ = (Index("ix_settlement_entry_supplier_id_created_at", "supplier_id", "created_at"),
                      Index("ix_settlement_entry_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"))
    source: Mapped[str] = mapped_column(string_enum(*ENTRY_SOURCES, name="settlement_entry_source"))
    kind: Mapped[str] = mapped_column(string_enum(*ENTRY_KINDS, name="settlement_entry_kind"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # signed: + received or given back, - refunded or paid out
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"), index=True)
    order_number: Mapped[str | None] = mapped_column(String(32))  # snapshots for the statement
    fulfillment_id: Mapped[int | None] = mapped_column(ForeignKey("fulfillment.id"))
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_line.id"))
    description: Mapped[str] = mapped_column(String(200), default="")
    compensation_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_compensation.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)  # the move's time


class CommissionRate(db.Model):
    """The platform's commission on a supplier's sales, in basis points, from a day (Asia/Shanghai) on. History:
    a change is a new row, never an update; the rate of a day is the row with the latest effective_from on or
    before it (the latest recorded of that day when several)."""

    __tablename__ = "commission_rate"
    __table_args__ = (CheckConstraint("bps >= 0 AND bps <= 10000", name="bps_within"),
                      Index("ix_commission_rate_supplier_id_effective_from", "supplier_id", "effective_from"))

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"))
    bps: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SettlementPeriod(db.Model):
    """A closed month ("YYYY-MM"): unique, so two operators closing it at once make one close."""

    __tablename__ = "settlement_period"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Settlement(db.Model):
    """A supplier's closed month: its figures, frozen when the month closed (shop.settlements.figures says how
    they add up), and its payout."""

    __tablename__ = "settlement"
    __table_args__ = (
        UniqueConstraint("supplier_id", "month"),
        Index("ix_settlement_month_id", "month", "id"),
        CheckConstraint("payable_fen = sales_fen - refunds_fen + shipping_fen - shipping_refunds_fen "
                        "- commission_fen - compensation_fen", name="payable_adds_up"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(string_enum(*SETTLEMENT_STATUSES, name="settlement_status"),
                                        default="closed")
    sales_fen: Mapped[int] = mapped_column(BigInteger)
    refunds_fen: Mapped[int] = mapped_column(BigInteger)
    shipping_fen: Mapped[int] = mapped_column(BigInteger)
    shipping_refunds_fen: Mapped[int] = mapped_column(BigInteger)
    commission_fen: Mapped[int] = mapped_column(BigInteger)
    compensation_fen: Mapped[int] = mapped_column(BigInteger)
    payable_fen: Mapped[int] = mapped_column(BigInteger)
    last_entry_id: Mapped[int | None] = mapped_column(Integer)  # the newest entry the figures include
    closed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    payout_reference: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    commissions: Mapped[list["SettlementCommission"]] = relationship(lazy="raise",
                                                                     order_by="SettlementCommission.id")

    def can_move_to(self, status: str) -> bool:
        return status in SETTLEMENT_TRANSITIONS[self.status]


class SettlementCommission(db.Model):
    """The commission of one rate period of a closed settlement: base (net line sales at that rate) × bps."""

    __tablename__ = "settlement_commission"

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlement.id", ondelete="CASCADE"), index=True)
    rate_id: Mapped[int | None] = mapped_column(ForeignKey("commission_rate.id"))  # None: the default rate
    bps: Mapped[int] = mapped_column(Integer)
    base_fen: Mapped[int] = mapped_column(BigInteger)
    commission_fen: Mapped[int] = mapped_column(BigInteger)
