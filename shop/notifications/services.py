"""Messages are added to the outbox inside the transaction of the event they tell about (never lost, never
sent for a rolled-back change); `deliver_outbox` sends them by SMTP when configured, else keeps them."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select, update

from shop.database import utcnow
from shop.extensions import db
from shop.notifications.models import OutboxMessage
from shop.pagination import SortKey, keyset_page


def enqueue(*, email: str, user_id: int | None, template: str, subject: str, body: str,
            order_id: int | None = None) -> OutboxMessage:
    message = OutboxMessage(recipient_email=email, recipient_user_id=user_id, template=template, subject=subject,
                            body=body, order_id=order_id)
    db.session.add(message)
    return message


def list_messages(*, user, limit: int, cursor: str | None):
    stmt = select(OutboxMessage).where(OutboxMessage.recipient_user_id == user.id)
    return keyset_page(db.session, stmt, keys=[SortKey(OutboxMessage.id, lambda m: m.id, descending=True)],
                       limit=limit, cursor=cursor)


def deliver_outbox(*, batch_size: int = 100) -> dict:
    """Send pending messages. Each message is claimed with a conditional UPDATE, so several workers can run
    this at once without sending anything twice."""
    counts = {"sent": 0, "kept": 0, "failed": 0}
    host = current_app.config.get("SMTP_HOST")
    ids = list(db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "pending")
                                  .order_by(OutboxMessage.id).limit(batch_size)))
    db.session.commit()
    for message_id in ids:
        if not host:
            claimed = db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id,
                                                                     OutboxMessage.status == "pending")
                                         .values(status="kept")).rowcount
            db.session.commit()
            counts["kept"] += claimed
            continue
        claimed = db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id,
                                                                 OutboxMessage.status == "pending")
                                     .values(status="sent", attempts=OutboxMessage.attempts + 1,
                                             sent_at=utcnow())).rowcount
        db.session.commit()
        if not claimed:
            continue
        message = db.session.get(OutboxMessage, message_id)
        try:
            _send_smtp(message)
            counts["sent"] += 1
        except (OSError, smtplib.SMTPException) as error:
            message.status = "failed" if message.attempts >= 5 else "pending"
            message.last_error = str(error)[:500]
            counts["failed"] += 1
        db.session.commit()
    return counts


def _send_smtp(message: OutboxMessage) -> None:
    cfg = current_app.config
    email = EmailMessage()
    email["From"] = cfg["MAIL_FROM"]
    email["To"] = message.recipient_email
    email["Subject"] = message.subject
    email.set_content(message.body)
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=10) as smtp:
        smtp.send_message(email)
