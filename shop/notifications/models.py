from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop.database import UTCDateTime, string_enum, utcnow
from shop.extensions import db

OUTBOX_STATUSES = ("pending", "sent", "failed", "kept")  # kept: no SMTP configured, readable in the API


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    recipient_email: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(40))  # order_paid, fulfillment_shipped, refund_decided, ...
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(string_enum(*OUTBOX_STATUSES, name="outbox_status"), default="pending",
                                        index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
