"""The buyer's orders: strictly one's own, keyset pages, cancellation (stock back, intent closed, or a full
refund), receipt confirmation, and the history of every change with who made it."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import stripe
from sqlalchemy import select, update

from shop.catalog.models import Product, Sku, StockMovement
from shop.checkout.services import place_order
from shop.extensions import db
from shop.orders import jobs
from shop.notifications.models import OutboxMessage
from shop.orders.models import Fulfillment, Order, OrderEvent
from shop.refunds.models import Refund
from shop.payments.models import Payment
from shop.payments.services import reconcile_order
from tests.orders.factories import (PRICE_B, SHIP, STOCK_A, STOCK_B, anonymous, api_as, assert_fen_ints,
                                    checkout, confirm_at_provider, count, fulfillment_of,
                                    load_order, make_address, paid_order, pay, place, provider_refunds, refund_part_refs,
                                    ship_and_deliver, state, stock_of, stripe_api, wait_for)
from tests.support import make_user, assert_problem

ORDERS = "/api/v1/orders"


def events_of(order_id: int) -> list[tuple]:
    db.session.expire_all()
    return [(e.type, e.actor_id) for e in db.session.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))]


# --- visibility -------------------------------------------------------------------------------------------------


def test_a_buyer_lists_and_reads_only_their_own_orders(world, buyer):
    mine = place(buyer, world.address_id, [(world.sku_a, 1)])
    other = make_user()
    theirs = place(api_as(other), make_address(other).id, [(world.sku_b, 1)])
    listed = buyer.get(ORDERS).json
    assert [o["id"] for o in listed["items"]] == [mine["id"]]
    assert listed["next_cursor"] is None
    assert assert_fen_ints(listed) >= 8
    assert buyer.get(f"{ORDERS}/{mine['id']}").status_code == 200
    assert [o["id"] for o in api_as(other).get(ORDERS).json["items"]] == [theirs["id"]]


def test_another_users_order_is_404_everywhere(world, buyer):
    order = paid_order(world, [(world.sku_a, 1), (world.sku_b, 1)])
    ship_and_deliver(world, order)
    line = order["lines"][0]["id"]
    intruder = api_as(make_user())
    before = state()
    oid = order["id"]
    assert_problem(intruder.get(f"{ORDERS}/{oid}"), 404)
    assert_problem(intruder.post(f"{ORDERS}/{oid}/cancel", json={}), 404)
    assert_problem(intruder.get(f"{ORDERS}/{oid}/events"), 404)
    assert_problem(intruder.get(f"{ORDERS}/{oid}/refunds"), 404)
    assert_problem(intruder.post(f"{ORDERS}/{oid}/refunds", json={
        "kind": "quality_claim", "items": [{"order_line_id": line, "quantity": 1}], "reason": "坏果",
        "photo_urls": ["https://img.example.test/1.jpg"]}), 404)
    assert_problem(intruder.post(f"{ORDERS}/{oid}/confirm-receipt"), 404)
    assert_problem(intruder.post(f"{ORDERS}/{oid}/payment"), 404)
    assert intruder.get(ORDERS).json["items"] == []
    # A supplier of the order is not its buyer either.
    supplier = api_as(world.owner_a)
    assert_problem(supplier.get(f"{ORDERS}/{oid}"), 404)
    assert_problem(supplier.post(f"{ORDERS}/{oid}/cancel", json={}), 404)
    assert state() == before


def test_orders_are_paged_newest_first_with_an_opaque_cursor(world, buyer):
    ids = [place_order(user=world.buyer, address_id=world.address_id,
                       items=[{"sku_id": world.sku_a, "quantity": 1}]).id for _ in range(5)]
    other = make_user()
    place_order(user=other, address_id=make_address(other).id, items=[{"sku_id": world.sku_a, "quantity": 1}])
    seen, cursor, pages = [], None, 0
    while True:
        response = buyer.get(f"{ORDERS}?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200
        page = response.json
        assert len(page["items"]) <= 2
        seen += [o["id"] for o in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    assert pages == 3
    first = buyer.get(f"{ORDERS}?limit=5").json
    assert [o["id"] for o in first["items"]] == sorted(ids, reverse=True) and first["next_cursor"] is None
    assert_problem(buyer.get(f"{ORDERS}?cursor=not-a-cursor"), 422, "invalid_cursor")
    assert_problem(buyer.get(f"{ORDERS}?limit=0"), 422)
    assert_problem(buyer.get(f"{ORDERS}?limit=101"), 422)
    assert_problem(buyer.get(f"{ORDERS}?status=lost"), 422)


def test_orders_filter_by_status(world, buyer):
    unpaid = place(buyer, world.address_id, [(world.sku_a, 1)])
    paid = paid_order(world, [(world.sku_b, 1)], buyer)
    assert [o["id"] for o in buyer.get(f"{ORDERS}?status=paid").json["items"]] == [paid["id"]]
    assert [o["id"] for o in buyer.get(f"{ORDERS}?status=pending_payment").json["items"]] == [unpaid["id"]]


# --- cancellation -----------------------------------------------------------------------------------------------


def test_cancelling_an_unpaid_order_releases_stock_and_closes_the_intent(world, buyer):
    db.session.execute(update(Sku).where(Sku.id == world.sku_b).values(stock=2))
    db.session.commit()
    result = checkout(buyer, world.address_id, [(world.sku_b, 2), (world.sku_a, 3)]).json
    order, ref = result["order"], result["payment"]["provider_ref"]
    assert stock_of(world.sku_b) == 0
    other = make_user()
    other_client, other_address = api_as(other), make_address(other).id
    assert_problem(checkout(other_client, other_address, [(world.sku_b, 1)]), 409, "insufficient_stock")

    response = buyer.post(f"{ORDERS}/{order['id']}/cancel", json={"reason": "买错了"})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled"
    assert response.json["cancelled_at"] is not None
    assert all(f["status"] == "cancelled" for f in response.json["fulfillments"])
    assert response.json["refunded_fen"] == 0 and response.json["paid_fen"] == 0
    # Stock is back at once, with movements naming the order.
    assert stock_of(world.sku_b) == 2 and stock_of(world.sku_a) == STOCK_A
    released = {(m.sku_id, m.delta) for m in db.session.scalars(select(StockMovement).where(
        StockMovement.order_id == order["id"], StockMovement.reason == "order_released"))}
    assert released == {(world.sku_b, 2), (world.sku_a, 3)}
    # The PaymentIntent can no longer be paid.
    assert stripe_api().v1.payment_intents.retrieve(ref).status == "canceled"
    assert db.session.scalar(select(Payment.status).where(Payment.order_id == order["id"])) == "cancelled"
    assert count(Refund) == 0
    cancelled = [e for e in events_of(order["id"]) if e[0] == "cancelled"]
    assert cancelled == [("cancelled", world.buyer.id)]
    # Another shopper can buy the released units now.
    assert place(other_client, other_address, [(world.sku_b, 2)])["status"] == "pending_payment"
    assert stock_of(world.sku_b) == 0
    # Cancelling twice is refused and changes nothing.
    before = state()
    assert_problem(buyer.post(f"{ORDERS}/{order['id']}/cancel", json={}), 409, "order_not_cancellable")
    assert state() == before


def test_cancelling_a_paid_order_refunds_it_in_full(world, buyer):
    order = place(buyer, world.address_id, [(world.sku_a, 2), (world.sku_b, 1)])
    ref = pay(order["id"])
    paid = load_order(order["id"])
    assert paid.status == "paid" and paid.paid_fen == order["total_fen"]
    assert stock_of(world.sku_a) == STOCK_A - 2

    response = buyer.post(f"{ORDERS}/{order['id']}/cancel", json={"reason": "不想要了"})
    assert response.status_code == 200, response.json
    body = response.json
    assert assert_fen_ints(body) >= 10
    assert body["status"] == "cancelled"
    assert body["paid_fen"] == order["total_fen"]
    assert body["refunded_fen"] == body["paid_fen"]
    assert body["refund_status"] == "full"
    [refund] = db.session.scalars(select(Refund).where(Refund.order_id == order["id"]))
    assert refund.kind == "cancellation"
    assert refund.status == "succeeded"
    assert refund.amount_fen == order["total_fen"]
    [part_ref] = refund_part_refs(refund.id)
    at_provider = provider_refunds(ref)
    assert [(r.id, r.amount) for r in at_provider] == [(part_ref, order["total_fen"])]
    assert stock_of(world.sku_a) == STOCK_A and stock_of(world.sku_b) == STOCK_B
    assert db.session.scalar(select(Payment.refunded_fen).where(Payment.order_id == order["id"])) == \
        order["total_fen"]
    refunds = buyer.get(f"{ORDERS}/{order['id']}/refunds").json
    assert [(r["kind"], r["status"], r["amount_fen"]) for r in refunds] == [
        ("cancellation", "succeeded", order["total_fen"])]
    types = [t for t, _ in events_of(order["id"])]
    assert types.index("paid") < types.index("cancelled") < types.index("refund_succeeded")


def test_a_paid_order_found_through_the_webhook_can_be_cancelled(world, buyer, stripe_webhooks):
    order = place(buyer, world.address_id, [(world.sku_b, 2)])
    ref = confirm_at_provider(order["id"])
    assert wait_for(lambda: load_order(order["id"]).status == "paid", what="the webhook to mark the order paid")
    assert load_order(order["id"]).paid_fen == 2 * PRICE_B
    body = buyer.post(f"{ORDERS}/{order['id']}/cancel", json={}).json
    assert body["status"] == "cancelled" and body["refunded_fen"] == body["paid_fen"] == 2 * PRICE_B
    assert sum(r.amount for r in provider_refunds(ref)) == 2 * PRICE_B
    assert stock_of(world.sku_b) == STOCK_B


def test_an_order_cannot_be_cancelled_once_a_fulfilment_shipped(world, buyer):
    order = paid_order(world, [(world.sku_a, 1), (world.sku_b, 1)], buyer)
    supplier = api_as(world.owner_a)
    assert supplier.post(f"/api/v1/fulfillments/{fulfillment_of(order, world.supplier_a)}/ship",
                         json=SHIP).status_code == 200
    assert load_order(order["id"]).status == "fulfilling"
    before = state()
    assert_problem(buyer.post(f"{ORDERS}/{order['id']}/cancel", json={}), 409, "order_not_cancellable")
    assert state() == before
    assert count(Refund) == 0
    assert stock_of(world.sku_a) == STOCK_A - 1


def test_an_unpaid_order_past_its_reservation_expires(world, buyer):
    result = checkout(buyer, world.address_id, [(world.sku_a, 4)]).json
    order_id, ref = result["order"]["id"], result["payment"]["provider_ref"]
    assert jobs.expire_unpaid_orders()["expired"] == 0  # not yet
    assert stock_of(world.sku_a) == STOCK_A - 4
    db.session.execute(update(Order).where(Order.id == order_id)
                       .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)))
    db.session.commit()
    counts = jobs.expire_unpaid_orders()
    assert counts["expired"] == 1 and counts["paid_meanwhile"] == 0 and counts["skipped"] == 0
    assert load_order(order_id).status == "cancelled"
    assert stock_of(world.sku_a) == STOCK_A
    assert stripe_api().v1.payment_intents.retrieve(ref).status == "canceled"
    assert jobs.expire_unpaid_orders()["expired"] == 0  # idempotent
    assert stock_of(world.sku_a) == STOCK_A


# --- receipt and history ----------------------------------------------------------------------------------------


def test_receipt_can_be_confirmed_only_once_delivered(world, buyer):
    order = place(buyer, world.address_id, [(world.sku_a, 1), (world.sku_b, 1)])
    oid = order["id"]
    confirm = f"{ORDERS}/{oid}/confirm-receipt"
    assert_problem(buyer.post(confirm), 409)  # pending_payment
    pay(oid)
    assert_problem(buyer.post(confirm), 409)  # paid
    ship_and_deliver(world, order, deliver=False)
    assert load_order(oid).status == "shipped"
    before = state()
    assert_problem(buyer.post(confirm), 409)  # shipped
    assert state() == before
    for owner, supplier_id in ((world.owner_a, world.supplier_a), (world.owner_b, world.supplier_b)):
        api_as(owner).post(f"/api/v1/fulfillments/{fulfillment_of(order, supplier_id)}/deliver")
    assert load_order(oid).status == "delivered"
    response = buyer.post(confirm)
    assert response.status_code == 200
    assert response.json["status"] == "completed" and response.json["completed_at"] is not None
    assert_problem(buyer.post(confirm), 409)  # completed
    assert events_of(oid)[-1] == ("completed", world.buyer.id)


def test_events_record_every_change_with_its_actor(world, buyer):
    order = place(buyer, world.address_id, [(world.sku_a, 1), (world.sku_b, 1)])
    oid = order["id"]
    pay(oid)
    fa, fb = fulfillment_of(order, world.supplier_a), fulfillment_of(order, world.supplier_b)
    owner_a, owner_b = api_as(world.owner_a), api_as(world.owner_b)
    owner_a.post(f"/api/v1/fulfillments/{fa}/ship", json=SHIP)
    owner_b.post(f"/api/v1/fulfillments/{fb}/ship", json={"carrier": "EMS", "tracking_number": "EMS-0000001"})
    owner_a.post(f"/api/v1/fulfillments/{fa}/deliver")
    owner_b.post(f"/api/v1/fulfillments/{fb}/deliver")
    buyer.post(f"{ORDERS}/{oid}/confirm-receipt")

    events = buyer.get(f"{ORDERS}/{oid}/events").json
    pairs = [(e["type"], e["actor_id"]) for e in events]
    buyer_id, a_id, b_id = world.buyer.id, world.owner_a.id, world.owner_b.id
    assert pairs == [
        ("placed", buyer_id),
        ("payment_intent_created", None),
        ("payment_received", None),
        ("paid", None),
        ("fulfillment_shipped", a_id),
        ("fulfilling", a_id),
        ("fulfillment_shipped", b_id),
        ("shipped", b_id),
        ("fulfillment_delivered", a_id),
        ("fulfillment_delivered", b_id),
        ("delivered", b_id),
        ("completed", buyer_id),
    ]
    by_type = {e["type"]: e for e in events}
    assert by_type["paid"]["data"]["from"] == "pending_payment"
    assert by_type["paid"]["data"]["amount_fen"] == order["total_fen"]
    assert by_type["placed"]["data"]["total_fen"] == order["total_fen"]
    assert by_type["fulfilling"]["data"]["from"] == "paid"
    assert by_type["shipped"]["data"]["from"] == "fulfilling"
    assert by_type["delivered"]["data"]["from"] == "shipped"
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)


def test_paying_twice_is_applied_once(world, buyer):
    order = place(buyer, world.address_id, [(world.sku_b, 1)])
    pay(order["id"])
    assert reconcile_order(order_id=order["id"]) == "nothing_to_do"
    paid = load_order(order["id"])
    assert paid.paid_fen == PRICE_B and paid.status == "paid"
    assert [t for t, _ in events_of(order["id"])].count("paid") == 1
    assert db.session.scalar(select(Payment.received_fen).where(Payment.order_id == order["id"])) == PRICE_B
    assert db.session.scalar(select(Fulfillment.status).where(Fulfillment.order_id == order["id"])) == "pending"


# --- payment notifications from the provider ----------------------------------------------------------------------


def signed(app, intent: dict, *, event_id: str, type_: str = "payment_intent.succeeded", secret: str | None = None):
    payload = json.dumps({"id": event_id, "object": "event", "type": type_, "data": {"object": intent}})
    header = stripe.WebhookSignature.generate_signature_header(payload, secret or app.config["STRIPE_WEBHOOK_SECRET"])
    return payload, header


def post_webhook(payload: str, header: str | None):
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    return anonymous().raw.post("/api/v1/payments/stripe/webhook", data=payload, headers=headers)


def intent_body(result: dict, **overrides) -> dict:
    payment = result["payment"]
    body = {"id": payment["provider_ref"], "object": "payment_intent", "amount": payment["amount_fen"],
            "currency": "cny", "status": "succeeded", "client_secret": payment["client_secret"],
            "metadata": {"order_id": str(result["order"]["id"]), "payment_id": str(payment["id"])}}
    body.update(overrides)
    return body


def test_a_signed_webhook_marks_the_order_paid_exactly_once(app, world, buyer):
    result = checkout(buyer, world.address_id, [(world.sku_a, 2), (world.sku_b, 1)]).json
    oid, total = result["order"]["id"], result["order"]["total_fen"]
    payload, header = signed(app, intent_body(result), event_id="evt_paid_1")
    response = post_webhook(payload, header)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json == {"event_id": "evt_paid_1", "outcome": "paid"}
    assert post_webhook(payload, header).json["outcome"] == "duplicate"  # the provider retries
    payload2, header2 = signed(app, intent_body(result), event_id="evt_paid_2")  # another event, same intent
    assert post_webhook(payload2, header2).json["outcome"] == "already_applied"

    order = load_order(oid)
    assert (order.status, order.paid_fen, order.flagged) == ("paid", total, False)
    assert order.paid_at is not None
    assert [t for t, _ in events_of(oid)].count("paid") == 1
    assert db.session.scalar(select(Payment.status).where(Payment.order_id == oid)) == "succeeded"
    assert count(OutboxMessage, OutboxMessage.order_id == oid, OutboxMessage.template == "order_paid") == 1
    sales = dict(db.session.execute(select(Product.id, Product.sales_count)).all())
    assert sales[world.product_a] == 2 and sales[world.product_b] == 1


@pytest.mark.parametrize("how", ["wrong_secret", "no_header", "tampered"])
def test_a_forged_webhook_changes_nothing(app, world, buyer, how):
    result = checkout(buyer, world.address_id, [(world.sku_a, 1)]).json
    payload, header = signed(app, intent_body(result), event_id="evt_forged",
                             secret="whsec_attacker" if how == "wrong_secret" else None)
    if how == "no_header":
        header = None
    if how == "tampered":
        payload = payload.replace('"amount": ', '"amount": 1')
    before = state()
    assert_problem(post_webhook(payload, header), 400, "invalid_signature")
    assert state() == before
    assert load_order(result["order"]["id"]).status == "pending_payment"


@pytest.mark.parametrize("overrides", [{"amount": 1}, {"currency": "usd"}])
def test_a_payment_of_the_wrong_amount_is_flagged_not_accepted(app, world, buyer, overrides):
    result = checkout(buyer, world.address_id, [(world.sku_a, 1)]).json
    oid = result["order"]["id"]
    payload, header = signed(app, intent_body(result, **overrides), event_id="evt_short")
    assert post_webhook(payload, header).json["outcome"] == "flagged_amount_mismatch"
    order = load_order(oid)
    assert order.status == "pending_payment" and order.paid_fen == 0
    assert order.flagged is True
    assert db.session.scalar(select(Payment.status).where(Payment.order_id == oid)) == "amount_mismatch"
    assert count(OutboxMessage, OutboxMessage.template == "order_paid") == 0


def test_a_declined_card_leaves_the_order_payable(app, world, buyer):
    result = checkout(buyer, world.address_id, [(world.sku_b, 1)]).json
    oid = result["order"]["id"]
    failed = intent_body(result, status="requires_payment_method",
                         last_payment_error={"code": "card_declined", "message": "Your card was declined."})
    payload, header = signed(app, failed, event_id="evt_failed", type_="payment_intent.payment_failed")
    assert post_webhook(payload, header).json["outcome"] == "failed"
    order = load_order(oid)
    assert order.status == "pending_payment" and order.paid_fen == 0
    payment = db.session.scalar(select(Payment).where(Payment.order_id == oid))
    assert (payment.status, payment.failure_code) == ("pending", "card_declined")
    assert stock_of(world.sku_b) == STOCK_B - 1  # still held until the reservation ends
    pay(oid)  # another card works
    assert load_order(oid).status == "paid"
