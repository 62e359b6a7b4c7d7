"""Money in and out. Every amount is integer fen; the provider is reached only through the gateway.

- ensure_intent: one PaymentIntent per order payment, even under concurrent replays (a claim column).
- handle_webhook: each provider event applied once (unique row in the same transaction as its effect).
- reconcile_order: the same effect from polling the provider, for webhooks that were lost.
- refunds: the refundable balance is reserved with a conditional UPDATE before the provider is called,
  so refunds never exceed what was paid (localstripe does not check this; Stripe would, too late).
"""
from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from shop.database import utcnow
from shop.errors import Conflict, NotFound, PaymentProviderError
from shop.extensions import db
from shop.orders import notify
from shop.orders import services as orders
from shop.orders.models import Order, OrderLine, Refund
from shop.orders.state import record
from shop.payments.gateway import Intent, InvalidWebhook, get_gateway
from shop.payments.models import Payment, ProcessedWebhookEvent

CLAIM_TIMEOUT = dt.timedelta(seconds=60)


def _end_transaction() -> None:
    """Called before every provider request: no transaction (and on SQLite no write lock) is held while we
    wait on the network. Loaded objects expire and reload afterwards, seeing what others did meanwhile."""
    db.session.commit()


def order_payment(order_id: int, kind: str = "full") -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.order_id == order_id, Payment.kind == kind,
                                                   Payment.provider == "stripe"))


def _claim(payment_id: int) -> bool:
    now = utcnow()
    result = db.session.execute(update(Payment).where(
        Payment.id == payment_id, Payment.provider_ref.is_(None),
        or_(Payment.claimed_at.is_(None), Payment.claimed_at < now - CLAIM_TIMEOUT)).values(claimed_at=now))
    db.session.commit()
    return result.rowcount == 1


def ensure_intent(*, order_id: int, wait_seconds: float = 10.0) -> Payment:
    """The order's PaymentIntent, created once. Concurrent callers wait for the one that creates it."""
    payment = order_payment(order_id)
    if payment is None:
        raise NotFound("This order has no payment.")
    deadline = time.monotonic() + wait_seconds
    while payment.provider_ref is None:
        if _claim(payment.id):
            return _create_intent(payment)
        if time.monotonic() > deadline:
            raise Conflict("The payment is being set up; retry shortly.", code="payment_in_progress")
        time.sleep(0.05)
        db.session.refresh(payment)
    return payment


def open_payment(*, user, order_id: int) -> Payment:
    """The buyer's way back to paying: create (once) or return the order's PaymentIntent. Only the buyer
    gets the client secret (not even an operator)."""
    if orders.get_order(user=user, order_id=order_id).buyer_id != user.id:
        raise NotFound("No such order.")
    return ensure_intent(order_id=order_id)


def _create_intent(payment: Payment) -> Payment:
    order = db.session.get(Order, payment.order_id)
    if order.status != "pending_payment":
        db.session.execute(update(Payment).where(Payment.id == payment.id).values(claimed_at=None))
        db.session.commit()
        raise Conflict(f"An order that is {order.status} cannot be paid.", code="order_not_payable")
    request = dict(amount_fen=payment.amount_fen, currency=payment.currency,
                   idempotency_key=f"order:{order.id}:pi:{payment.kind}",  # a retry returns the same intent
                   metadata={"order_id": str(order.id), "order_number": order.number, "payment_id": str(payment.id)})
    provider = payment.provider
    _end_transaction()
    try:
        intent = get_gateway(provider).create_intent(**request)
    except PaymentProviderError:
        db.session.execute(update(Payment).where(Payment.id == payment.id).values(claimed_at=None))
        db.session.commit()
        raise
    payment.provider_ref = intent.ref
    payment.client_secret = intent.client_secret
    payment.claimed_at = None
    record(order.id, "payment_intent_created", provider=payment.provider, ref=intent.ref)
    db.session.commit()
    return payment


def _payment_for_intent(intent: Intent) -> Payment | None:
    payment = db.session.scalar(select(Payment).where(Payment.provider_ref == intent.ref))
    if payment is None and str(intent.metadata.get("payment_id", "")).isdigit():
        # The webhook can beat the commit that stores the intent id: fall back to our own metadata.
        payment = db.session.get(Payment, int(intent.metadata["payment_id"]))
        if payment is not None and payment.provider_ref not in (None, intent.ref):
            payment = None
    return payment


def _settle(payment: Payment, status: str, *, from_statuses: tuple[str, ...], **values) -> bool:
    """Move the payment with a conditional UPDATE: of two workers applying the same news at once (webhook,
    reconcile job, a second event id), the second waits for the first's commit, then matches no row."""
    result = db.session.execute(update(Payment).where(Payment.id == payment.id,
                                                      Payment.status.in_(from_statuses))
                                .values(status=status, **values))
    return result.rowcount == 1


def _apply_intent(payment: Payment, intent: Intent, *, source: str) -> tuple[str, list[int]]:
    """Bring our records in line with the provider's view of one intent. Runs in the caller's transaction.
    Returns (outcome, refund ids to execute after commit)."""
    unsettled = ("pending", "cancelled")
    if intent.status == "succeeded":
        order = orders.load_order(payment.order_id)
        if intent.amount_fen != payment.amount_fen or intent.currency != payment.currency or \
                payment.amount_fen != order.total_fen:
            if not _settle(payment, "amount_mismatch", from_statuses=unsettled):
                return "already_applied", []
            order.flagged = True
            order.flag_reason = (f"Provider reported {intent.amount_fen} {intent.currency} for a payment of "
                                 f"{payment.amount_fen} {payment.currency}: not marked paid, check by hand.")
            record(order.id, "payment_amount_mismatch", source=source, ref=intent.ref, amount_fen=intent.amount_fen,
                   currency=intent.currency)
            return "flagged_amount_mismatch", []
        if not _settle(payment, "succeeded", from_statuses=unsettled, received_fen=intent.amount_fen,
                       succeeded_at=utcnow(), provider_ref=func.coalesce(Payment.provider_ref, intent.ref)):
            return "already_applied", []
        order = orders.load_order(payment.order_id)  # fresh, now that this worker owns the payment's settlement
        if orders.mark_paid(order=order, amount_fen=intent.amount_fen, payment_id=payment.id):
            return "paid", []
        order = orders.load_order(payment.order_id)
        order.paid_fen += intent.amount_fen  # the money did arrive
        order.flagged = True
        if order.status != "cancelled":
            order.flag_reason = f"A payment succeeded for an order that is {order.status}: check by hand."
            record(order.id, "unexpected_payment", source=source, ref=intent.ref, amount_fen=intent.amount_fen)
            return "flagged_unexpected_payment", []
        # Money arrived for an order that expired or was cancelled: its stock is gone, so give it back.
        order.flag_reason = "Payment arrived after the order was cancelled; refunded automatically."
        record(order.id, "late_payment", source=source, ref=intent.ref, amount_fen=intent.amount_fen)
        refund = open_refund(order, amount_fen=intent.amount_fen, kind="other", actor_id=None,
                             reason="payment after cancellation")
        return "refunding_late_payment", [refund.id] if refund else []
    if intent.status == "cancelled":
        if _settle(payment, "cancelled", from_statuses=("pending",)):
            record(payment.order_id, "payment_cancelled", source=source, ref=intent.ref)
            return "cancelled", []
        return "ignored", []
    if intent.failure_code or intent.failure_message:
        # The buyer may retry with another card until the order expires: the payment stays pending.
        if _settle(payment, "pending", from_statuses=("pending",), failure_code=intent.failure_code,
                   failure_message=intent.failure_message):
            record(payment.order_id, "payment_failed", source=source, ref=intent.ref, code=intent.failure_code)
            return "failed", []
    return "ignored", []


def _already_processed(event_id: str) -> bool:
    return db.session.scalar(select(ProcessedWebhookEvent.id).where(
        ProcessedWebhookEvent.provider == "stripe", ProcessedWebhookEvent.event_id == event_id)) is not None


def handle_webhook(*, payload: bytes, headers) -> dict:
    try:
        event = get_gateway("stripe").parse_webhook(payload, headers)
    except InvalidWebhook as error:
        raise Conflict(f"Invalid webhook: {error}", code="invalid_signature", status=400)
    outcome, refund_ids = "ignored", []
    try:
        processed = ProcessedWebhookEvent(provider="stripe", event_id=event.id, event_type=event.type)
        db.session.add(processed)
        db.session.flush()  # a duplicate fails here (or waits for the first one's commit, then fails)
        if event.intent is not None and event.type.startswith("payment_intent."):
            payment = _payment_for_intent(event.intent)
            if payment is None:
                outcome = "unknown_payment"
            else:
                outcome, refund_ids = _apply_intent(payment, event.intent, source=f"webhook:{event.id}")
        processed.outcome = outcome
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not _already_processed(event.id):
            raise  # a real constraint failure: answer 500 so that the provider retries the event
        return {"event_id": event.id, "outcome": "duplicate"}
    except Exception:
        db.session.rollback()
        raise
    for refund_id in refund_ids:
        execute_refund(refund_id=refund_id)
    return {"event_id": event.id, "outcome": outcome}


def reconcile_order(*, order_id: int) -> str:
    """Ask the provider about the order's payment and apply what it says (the lost-webhook path)."""
    payment = order_payment(order_id)
    if payment is None or payment.provider_ref is None or payment.status != "pending":
        return "nothing_to_do"
    provider, ref = payment.provider, payment.provider_ref
    _end_transaction()
    intent = get_gateway(provider).retrieve_intent(ref)
    try:
        outcome, refund_ids = _apply_intent(payment, intent, source="reconcile")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    for refund_id in refund_ids:
        execute_refund(refund_id=refund_id)
    return outcome


def cancel_open_intents(*, order_id: int) -> None:
    """After an unpaid order is cancelled: close its PaymentIntent so it can no longer be paid."""
    payment = order_payment(order_id)
    if payment is None or payment.provider_ref is None or payment.status != "pending":
        return
    provider, ref = payment.provider, payment.provider_ref
    _end_transaction()
    try:
        intent = get_gateway(provider).cancel_intent(ref)
    except PaymentProviderError:
        # Perhaps it succeeded meanwhile: the reconcile path will see it and refund the late payment.
        reconcile_order(order_id=order_id)
        return
    if intent.status == "cancelled":
        db.session.execute(update(Payment).where(Payment.id == payment.id, Payment.status == "pending")
                           .values(status="cancelled"))
        db.session.commit()


def reserve_refund(order: Order, amount_fen: int) -> bool:
    """Count `amount_fen` as refunded if it fits in what was paid minus what was already refunded."""
    result = db.session.execute(update(Order).where(
        Order.id == order.id, Order.refunded_fen + amount_fen <= Order.paid_fen)
        .values(refunded_fen=Order.refunded_fen + amount_fen))
    return result.rowcount == 1


def open_refund(order: Order, *, amount_fen: int, kind: str, actor_id: int | None, reason: str = "",
                 lines: list | None = None, fulfillment=None) -> Refund | None:
    if amount_fen <= 0 or not reserve_refund(order, amount_fen):
        return None
    refund = Refund(order_id=order.id, kind=kind, status="approved", amount_fen=amount_fen, reason=reason,
                    lines=lines or [], requested_by_id=actor_id, decided_by_id=actor_id, decided_at=utcnow(),
                    fulfillment_id=fulfillment.id if fulfillment else None,
                    supplier_id=fulfillment.supplier_id if fulfillment else None)
    db.session.add(refund)
    db.session.flush()
    record(order.id, "refund_approved", actor_id=actor_id, refund_id=refund.id, amount_fen=amount_fen, kind=kind)
    return refund


def open_cancellation_refund(*, order: Order, actor_id: int | None) -> Refund | None:
    """Everything still refundable on a cancelled order, in the cancelling transaction."""
    amount = order.paid_fen - order.refunded_fen
    refund = open_refund(order, amount_fen=amount, kind="cancellation", actor_id=actor_id,
                          reason="order cancelled before shipment")
    if refund is not None:
        db.session.execute(update(OrderLine).where(OrderLine.order_id == order.id)
                           .values(refunded_fen=OrderLine.line_total_fen))
    return refund


def execute_refund(*, refund_id: int) -> Refund:
    """Move the money for an approved refund. Claimed first, so two workers never refund twice."""
    claimed = db.session.execute(update(Refund).where(Refund.id == refund_id, Refund.status == "approved")
                                 .values(status="processing")).rowcount
    db.session.commit()
    refund = db.session.get(Refund, refund_id)
    if not claimed:
        return refund
    order = db.session.get(Order, refund.order_id)
    payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id, Payment.status == "succeeded")
                                .order_by(Payment.id))
    try:
        if payment is None or payment.provider_ref is None:
            raise PaymentProviderError("No captured payment to refund.")
        request = dict(intent_ref=payment.provider_ref, amount_fen=refund.amount_fen,
                       idempotency_key=f"refund:{refund.id}",
                       metadata={"order_id": str(order.id), "refund_id": str(refund.id)})
        provider = payment.provider
        _end_transaction()
        result = get_gateway(provider).refund(**request)
    except PaymentProviderError as error:
        _undo_refund(order, refund)
        refund.status, refund.failure_message = "failed", error.detail
        record(order.id, "refund_failed", refund_id=refund.id, message=error.detail)
        notify.refund_decided(order, refund)
        db.session.commit()
        return refund
    refund.provider_ref, refund.completed_at = result.ref, utcnow()
    refund.status = "succeeded" if result.status in ("succeeded", "pending") else "failed"
    if refund.status == "failed":
        _undo_refund(order, refund)
    else:
        db.session.execute(update(Payment).where(Payment.id == payment.id)
                           .values(refunded_fen=Payment.refunded_fen + refund.amount_fen))
    record(order.id, f"refund_{refund.status}", refund_id=refund.id, amount_fen=refund.amount_fen, ref=result.ref)
    notify.refund_decided(order, refund)
    db.session.commit()
    return refund


def _undo_refund(order: Order, refund: Refund) -> None:
    """The provider refused: the amount is refundable again."""
    db.session.execute(update(Order).where(Order.id == order.id)
                       .values(refunded_fen=Order.refunded_fen - refund.amount_fen))
    for item in refund.lines or []:
        db.session.execute(update(OrderLine).where(OrderLine.id == item["order_line_id"])
                           .values(refunded_fen=OrderLine.refunded_fen - item["amount_fen"]))
    if refund.kind == "cancellation":
        db.session.execute(update(OrderLine).where(OrderLine.order_id == order.id).values(refunded_fen=0))


def pending_orders_to_reconcile(*, older_than: dt.timedelta, limit: int = 200) -> list[int]:
    cutoff = utcnow() - older_than
    return list(db.session.scalars(select(Order.id).join(Payment, Payment.order_id == Order.id).where(
        and_(Order.status == "pending_payment", Payment.status == "pending", Payment.provider_ref.is_not(None),
             Order.placed_at < cutoff)).order_by(Order.id).limit(limit)))
