"""The outbox delivered by SMTP, against a real SMTP server on loopback (aiosmtpd)."""
from __future__ import annotations

import email
import socket

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from shop.extensions import db
from shop.notifications.models import OutboxMessage
from shop.notifications.services import deliver_outbox, enqueue
from tests.support import make_user


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(app, monkeypatch):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", controller.port)
    yield inbox
    controller.stop()


def _message(user):
    return enqueue(email=user.email, user_id=user.id, template="order_paid", subject="订单已支付 / Order paid",
                   body="您的订单已支付。")


def test_pending_messages_are_sent_once(smtp_server):
    user = make_user()
    _message(user)
    db.session.commit()

    assert deliver_outbox() == {"sent": 1, "kept": 0, "failed": 0}
    assert deliver_outbox() == {"sent": 0, "kept": 0, "failed": 0}  # nothing is sent twice

    assert len(smtp_server.messages) == 1
    recipients, message = smtp_server.messages[0]
    assert recipients == [user.email]
    assert str(email.header.make_header(email.header.decode_header(message["Subject"]))) == "订单已支付 / Order paid"
    stored = db.session.scalar(select(OutboxMessage))
    assert (stored.status, stored.attempts) == ("sent", 1) and stored.sent_at is not None


def test_an_unreachable_server_leaves_the_message_pending_with_the_error(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", _free_port())  # nothing listens there
    _message(make_user())
    db.session.commit()

    assert deliver_outbox() == {"sent": 0, "kept": 0, "failed": 1}
    stored = db.session.scalar(select(OutboxMessage))
    assert stored.status == "pending" and stored.attempts == 1 and stored.last_error


def test_one_run_drains_a_backlog_larger_than_a_batch_once(smtp_server):
    user = make_user()
    for _ in range(7):
        _message(user)
    db.session.commit()

    assert deliver_outbox(batch_size=3) == {"sent": 7, "kept": 0, "failed": 0}
    assert len(smtp_server.messages) == 7
    assert deliver_outbox(batch_size=3) == {"sent": 0, "kept": 0, "failed": 0}


def test_a_failing_message_is_tried_once_per_run_however_large_the_backlog(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", _free_port())  # nothing listens there
    user = make_user()
    for _ in range(5):
        _message(user)
    db.session.commit()

    assert deliver_outbox(batch_size=2) == {"sent": 0, "kept": 0, "failed": 5}
    assert {(m.status, m.attempts) for m in db.session.scalars(select(OutboxMessage))} == {("pending", 1)}


def test_a_run_stops_at_its_time_budget_and_the_next_one_goes_on(app):
    user = make_user()
    for _ in range(3):
        _message(user)
    db.session.commit()

    assert deliver_outbox(budget_seconds=0) == {"sent": 0, "kept": 0, "failed": 0}
    assert deliver_outbox() == {"sent": 0, "kept": 3, "failed": 0}
