"""What buyers and suppliers are told: messages written in the event's transaction, read through the API,
kept (not sent) when no SMTP server is configured, and handled exactly once by the outbox worker."""
from __future__ import annotations

from sqlalchemy import select

from shop.extensions import db
from shop.notifications.models import OutboxMessage
from shop.notifications.services import deliver_outbox
from tests.orders.factories import (SHIP, anonymous, api_as, confirm_at_provider, fulfillment_of,
                                    load_order, paid_order, place, ship_and_deliver, wait_for)
from tests.support import make_user, assert_problem

INBOX = "/api/v1/notifications"


def inbox(user) -> list[tuple[str, int | None]]:
    return sorted((m["template"], m["order_id"]) for m in api_as(user).get(INBOX).json["items"])


def test_payment_tells_the_buyer_and_every_supplier_owner(world, stripe_webhooks):
    """Paid through the real webhook path: localstripe signs and posts payment_intent.succeeded to the app."""
    order = place(api_as(world.buyer), world.address_id, [(world.sku_a, 1), (world.sku_b, 1)])
    assert inbox(world.buyer) == [] and inbox(world.owner_a) == []  # nothing before payment
    confirm_at_provider(order["id"])
    assert wait_for(lambda: load_order(order["id"]).status == "paid", what="the webhook to mark the order paid")

    assert inbox(world.buyer) == [("order_paid", order["id"])]
    assert inbox(world.owner_a) == [("fulfillment_due", order["id"])]
    assert inbox(world.owner_b) == [("fulfillment_due", order["id"])]
    assert inbox(make_user()) == []
    [message] = api_as(world.buyer).get(INBOX).json["items"]
    assert order["number"] in message["subject"]
    assert message["status"] == "pending"


def test_only_the_suppliers_of_the_order_are_told(world):
    order = paid_order(world, [(world.sku_b, 1)])
    assert inbox(world.owner_b) == [("fulfillment_due", order["id"])]
    assert inbox(world.owner_a) == []


def test_shipping_tells_the_buyer_the_carrier_and_tracking_number(world):
    order = paid_order(world, [(world.sku_a, 1), (world.sku_b, 1)])
    fa = fulfillment_of(order, world.supplier_a)
    assert api_as(world.owner_a).post(f"/api/v1/fulfillments/{fa}/ship", json=SHIP).status_code == 200
    messages = api_as(world.buyer).get(INBOX).json["items"]
    assert [m["template"] for m in messages] == ["fulfillment_shipped", "order_paid"]  # newest first
    shipped = messages[0]
    assert shipped["order_id"] == order["id"]
    assert SHIP["tracking_number"] in shipped["body"] and SHIP["carrier"] in shipped["body"]
    assert inbox(world.owner_a) == [("fulfillment_due", order["id"])]  # suppliers are not told their own shipping


def test_refund_requests_and_decisions_are_told(world):
    order = paid_order(world, [(world.sku_b, 2)])
    ship_and_deliver(world, order)
    line = order["lines"][0]["id"]
    buyer = api_as(world.buyer)
    [refund] = buyer.post(f"/api/v1/orders/{order['id']}/refunds", json={
        "kind": "no_reason_return", "items": [{"order_line_id": line, "quantity": 1}], "reason": "不想要了"}).json
    assert ("refund_requested", order["id"]) in inbox(world.owner_b)
    assert ("refund_requested", order["id"]) not in inbox(world.owner_a)
    api_as(world.owner_b).post(f"/api/v1/refunds/{refund['id']}/decision", json={"approve": True})
    assert ("refund_decided", order["id"]) in inbox(world.buyer)


def test_without_smtp_the_outbox_keeps_messages_once(world):
    order = paid_order(world, [(world.sku_a, 1), (world.sku_b, 1)])
    ship_and_deliver(world, order, deliver=False)
    pending = db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "pending")).all()
    assert len(pending) == 5  # order_paid, 2 × fulfillment_due, 2 × fulfillment_shipped

    assert deliver_outbox() == {"sent": 0, "kept": 5, "failed": 0}
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {m.status for m in rows} == {"kept"}
    assert all(m.sent_at is None and m.attempts == 0 for m in rows)
    snapshot = [(m.id, m.status, m.attempts, m.sent_at, m.last_error) for m in rows]

    assert deliver_outbox() == {"sent": 0, "kept": 0, "failed": 0}
    db.session.expire_all()
    assert [(m.id, m.status, m.attempts, m.sent_at, m.last_error) for m in db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.id))] == snapshot
    assert {m["status"] for m in api_as(world.buyer).get(INBOX).json["items"]} == {"kept"}


def test_the_inbox_is_paged_and_private(world):
    for _ in range(3):
        paid_order(world, [(world.sku_b, 1)])
    buyer = api_as(world.buyer)
    first = buyer.get(f"{INBOX}?limit=2").json
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = buyer.get(f"{INBOX}?limit=2&cursor={first['next_cursor']}").json
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    ids = [m["id"] for m in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3
    assert api_as(make_user()).get(INBOX).json["items"] == []


def test_the_inbox_needs_a_signed_in_user():
    assert_problem(anonymous().get(INBOX), 401)
