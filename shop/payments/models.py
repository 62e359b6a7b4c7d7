from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import UTCDateTime, string_enum, utcnow
from shop.extensions import db

PROVIDERS = ("stripe", "bank_transfer")
PAYMENT_KINDS = ("full", "deposit", "balance")  # deposit/balance: pre-sale campaigns
PAYMENT_STATUSES = ("pending", "succeeded", "failed", "cancelled", "amount_mismatch")


class Payment(db.Model):
    """One attempt to collect an amount for an order through a provider."""

    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("order_id", "kind", "provider"),  # one PaymentIntent per order part
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(string_enum(*PROVIDERS, name="payment_provider"))
    kind: Mapped[str] = mapped_column(string_enum(*PAYMENT_KINDS, name="payment_kind"), default="full")
    status: Mapped[str] = mapped_column(string_enum(*PAYMENT_STATUSES, name="payment_status"), default="pending")
    amount_fen: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    provider_ref: Mapped[str | None] = mapped_column(String(255), unique=True)  # PaymentIntent id
    client_secret: Mapped[str | None] = mapped_column(String(255))
    # Set while one request creates the provider object, so concurrent replays do not create a second one.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    received_fen: Mapped[int] = mapped_column(Integer, default=0)
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    succeeded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


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
