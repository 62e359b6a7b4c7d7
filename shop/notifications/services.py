"""Messages are added to the outbox inside the transaction of the event they tell about (never lost, never
sent for a rolled-back change); `deliver_outbox` sends them by SMTP when configured, else keeps them."""
from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select, update

from shop.database import utcnow
from shop.extensions import db
from shop.notifications.models import OutboxMessage
from shop.pagination import SortKey, keyset_page
from shop.transaction import end_read, transaction


def enqueue(*, email: str, user_id: int | None, template: str, subject: str, body: str,
            order_id: int | None = None) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction (does not commit): it exists, and will be
    sent, only if the change it tells about commits."""
    message = OutboxMessage(recipient_email=email, recipient_user_id=user_id, template=template, subject=subject,
                            body=body, order_id=order_id)
    db.session.add(message)
    return message


def list_messages(*, user, limit: int, cursor: str | None):
    stmt = select(OutboxMessage).where(OutboxMessage.recipient_user_id == user.id)
    return keyset_page(db.session, stmt, keys=[SortKey(OutboxMessage.id, lambda m: m.id, descending=True)],
                       limit=limit, cursor=cursor)


def deliver_outbox(*, batch_size: int = 100, budget_seconds: float = 45.0) -> dict:
    """Send pending messages. Each message is claimed with a conditional UPDATE, so several workers can run
    this at once without sending anything twice. One unit of work per claim and per failure recorded; the SMTP
    conversation happens outside any transaction. A run goes through the whole backlog in id order, a batch at a
    time, each message once (one that fails waits for the next run), and stops after `budget_seconds` so that
    it ends within its one-minute period: a backlog (a day of SMTP trouble) no longer delays new messages by
    one batch a minute."""
    counts = {"sent": 0, "kept": 0, "failed": 0}
    host = current_app.config.get("SMTP_HOST")
    deadline, after = time.monotonic() + budget_seconds, 0
    while time.monotonic() < deadline:
        ids = list(db.session.scalars(select(OutboxMessage.id)
                                      .where(OutboxMessage.status == "pending", OutboxMessage.id > after)
                                      .order_by(OutboxMessage.id).limit(batch_size)))
        end_read()
        for message_id in ids:
            if time.monotonic() >= deadline:
                break
            _deliver(message_id, host, counts)
        if len(ids) < batch_size:
            break
        after = ids[-1]
    return counts


def _deliver(message_id: int, host: str | None, counts: dict) -> None:
    pending = (OutboxMessage.id == message_id, OutboxMessage.status == "pending")
    if not host:
        with transaction():
            counts["kept"] += db.session.execute(update(OutboxMessage).where(*pending).values(status="kept")).rowcount
        return
    with transaction():
        claimed = db.session.execute(update(OutboxMessage).where(*pending)
                                     .values(status="sent", attempts=OutboxMessage.attempts + 1,
                                             sent_at=utcnow())).rowcount
        email = _email(db.session.get(OutboxMessage, message_id)) if claimed else None
    if not claimed:
        return
    try:
        _send_smtp(email)
        counts["sent"] += 1
    except (OSError, smtplib.SMTPException) as error:
        with transaction():
            message = db.session.get(OutboxMessage, message_id)
            message.status = "failed" if message.attempts >= 5 else "pending"
            message.last_error = str(error)[:500]
        counts["failed"] += 1


def _email(message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = message.recipient_email
    email["Subject"] = message.subject
    email.set_content(message.body)
    return email


def _send_smtp(email: EmailMessage) -> None:
    cfg = current_app.config
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=10) as smtp:
        smtp.send_message(email)
