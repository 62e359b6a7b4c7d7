from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.database import UTCDateTime, string_enum, utcnow
from shop.extensions import db

# harvest_shortfall: the deposit (or prepayment) of pre-sale units the harvest could not fill; no penalty.
REFUND_KINDS = ("cancellation", "no_reason_return", "quality_claim", "harvest_shortfall", "pledge_reduced", "other")
# The order was cut to what it keeps (a short harvest, a pledge reduced): money the provider refuses to send back
# cannot be released onto it again, so the refused part waits for an operator's bank transfer
# (shop.refunds.services.execute_refund).
OWED_BY_TRANSFER_IF_REFUSED = ("harvest_shortfall", "pledge_reduced")
REFUND_STATUSES = ("requested", "rejected", "approved", "processing", "awaiting_transfer", "succeeded", "failed")
# requested: a buyer asked, the supplier decides. approved: the amount is reserved on the order, its lines and
# its payments. processing: one worker is moving the money. awaiting_transfer: the card parts went back, an
# operator still has to send (and record) the bank-transfer parts. failed: the provider refused everything.
REFUND_TRANSITIONS = {
    "requested": {"approved", "rejected"},
    "approved": {"processing"},
    "processing": {"succeeded", "awaiting_transfer", "failed"},
    "awaiting_transfer": {"succeeded"},
    "rejected": set(),
    "succeeded": set(),
    "failed": set(),
}
PART_STATUSES = ("pending", "awaiting_transfer", "succeeded", "failed")


class Refund(db.Model):
    """A refund of an order: what was asked for, who decided, how it is split over the order's lines and
    shipping (RefundLine), and which payments it goes back through (RefundPart)."""

    __tablename__ = "refund"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),
                      CheckConstraint("released_fen >= 0 AND released_fen <= amount_fen", name="released_within"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    fulfillment_id: Mapped[int | None] = mapped_column(ForeignKey("fulfillment.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("supplier.id"), index=True)  # who decides a request
    kind: Mapped[str] = mapped_column(string_enum(*REFUND_KINDS, name="refund_kind"))
    status: Mapped[str] = mapped_column(string_enum(*REFUND_STATUSES, name="refund_status"), default="requested")
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # asked for, then approved
    # Approved but refused by the provider, and so counted as refundable again: this refund gave back
    # amount_fen - released_fen, and that is what its lines add up to.
    released_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    photo_urls: Mapped[list] = mapped_column(JSON, default=list)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    failure_message: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    lines: Mapped[list["RefundLine"]] = relationship(lazy="raise", order_by="RefundLine.id",
                                                     cascade="all, delete-orphan")
    parts: Mapped[list["RefundPart"]] = relationship(lazy="raise", order_by="RefundPart.id",
                                                     cascade="all, delete-orphan")

    def can_move_to(self, status: str) -> bool:
        return status in REFUND_TRANSITIONS[self.status]

    @property
    def refunded_fen(self) -> int:
        """What this refund gives back (or, while requested, asks for)."""
        return self.amount_fen - self.released_fen


class RefundLine(db.Model):
    """The refund's amount on one order line, or on one fulfilment's shipping (order_line_id NULL)."""

    __tablename__ = "refund_line"
    __table_args__ = (CheckConstraint("amount_fen >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refund.id", ondelete="CASCADE"), index=True)
    fulfillment_id: Mapped[int] = mapped_column(ForeignKey("fulfillment.id"))
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_line.id"), index=True)
    quantity: Mapped[int | None] = mapped_column(Integer)  # returned units, where the buyer named them
    amount_fen: Mapped[int] = mapped_column(BigInteger)

    @property
    def kind(self) -> str:
        return "shipping" if self.order_line_id is None else "line"


class RefundPart(db.Model):
    """The part of a refund drawn from one payment, going back through that payment's provider."""

    __tablename__ = "refund_part"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refund.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(string_enum(*PART_STATUSES, name="refund_part_status"), default="pending")
    provider_ref: Mapped[str | None] = mapped_column(String(255))  # the provider's refund id, or bank reference
    value_date: Mapped[dt.date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    failure_message: Mapped[str] = mapped_column(Text, default="")
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
