from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import UTCDateTime, string_enum, utcnow
from shop.extensions import db

PROVIDERS = ("stripe", "bank_transfer")
PAYMENT_KINDS = ("full", "deposit", "balance")  # the part of the order's payment plan it collects
PAYMENT_STATUSES = ("pending", "succeeded", "failed", "cancelled", "amount_mismatch")


class Payment(db.Model):
    """Money collected (or being collected) for one part of an order: a card PaymentIntent, or a bank transfer
    an operator recorded. An order holds any number of them."""

    __tablename__ = "payment"
    __table_args__ = (
        # One PaymentIntent per order part: card payments carry slot = kind; transfers carry none (NULLs never
        # collide), so an order takes as many transfers as the payer sends.
        UniqueConstraint("order_id", "slot"),
        UniqueConstraint("provider", "provider_ref"),  # an intent id, or a bank reference, is recorded once
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_within_payment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(string_enum(*PROVIDERS, name="payment_provider"))
    kind: Mapped[str] = mapped_column(string_enum(*PAYMENT_KINDS, name="payment_kind"), default="full")
    slot: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(string_enum(*PAYMENT_STATUSES, name="payment_status"), default="pending")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    provider_ref: Mapped[str | None] = mapped_column(String(255))  # PaymentIntent id, or the bank's reference
    client_secret: Mapped[str | None] = mapped_column(String(255))
    # Set while one request creates the provider object, so concurrent replays do not create a second one.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    received_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # Committed to refunds (reserved when a refund is approved, released if the provider refuses it).
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str] = mapped_column(Text, default="")
    flag_reason: Mapped[str] = mapped_column(Text, default="")  # why an operator must look (amount mismatch...)
    value_date: Mapped[dt.date | None] = mapped_column(Date)  # bank transfers: the day the bank credited it
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    succeeded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def refundable_fen(self) -> int:
        return self.amount_fen - self.refunded_fen if self.status == "succeeded" else 0


class ProcessedWebhookEvent(db.Model):
    """A provider event applied once: inserted in the same transaction as its effect, so a duplicate —
    even a concurrent one — fails on the unique key and changes nothing."""

    __tablename__ = "processed_webhook_event"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(40), default="")
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
