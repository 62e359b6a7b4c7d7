"""Money in. Every amount is integer fen; a provider is reached only through the gateway, and never while a
transaction is open.

- ensure_intent: one PaymentIntent per part of the order's payment plan, even under concurrent replays.
- handle_webhook / reconcile_payment: a provider's news about one payment, matched to that payment and
  compared with its own amount, applied once (webhook: a unique event row in the same transaction).
- record_bank_transfer: an operator records a transfer that arrived; an order takes several.
Money that arrives counts on the order through `orders.record_payment`, which moves the order as its plan says.
"""
from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from shop.audit import actions as audit_actions
from shop.audit import services as audit
from shop.database import utcnow
from shop.errors import Conflict, NotFound, PaymentProviderError, ShopError, ValidationFailed
from shop.extensions import db
from shop.orders import events, plans
from shop.orders import services as orders
from shop.payments.gateway import Intent, InvalidWebhook, MalformedEvent, ProviderUnavailable, get_gateway
from shop.payments.models import Payment, ProcessedWebhookEvent
from shop.refunds import services as refunds
from shop.transaction import Transaction, end_read, transaction
from shop.payments import error_codes

CLAIM_TIMEOUT = dt.timedelta(seconds=60)
PAID_OUTCOMES = {"paid": "paid", "deposit_paid": "deposit_paid", "partly_paid": "partly_paid"}

AUDITED_ORDER_FIELDS = ("number", "status", "paid_fen", "due_fen")  # what a recorded transfer moves


def order_payments(order_id: int) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id)))


def card_payment(order_id: int, kind: str = "full") -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.order_id == order_id, Payment.slot == kind))


def list_payments(*, user, order_id: int) -> list[Payment]:
    orders.get_order(user=user, order_id=order_id)  # the buyer's own order, or an operator
    return order_payments(order_id)


def _due_card_payment(order_id: int) -> Payment:
    """The card payment for the part of the plan now due (created once), or the last one when nothing is due."""
    try:
        with transaction():
            order = orders.load_order(order_id)
            due = plans.due_part(order)
            if due is None:
                latest = db.session.scalar(select(Payment).where(Payment.order_id == order_id,
                                                                 Payment.provider == "stripe")
                                           .order_by(Payment.id.desc()))
                if latest is None:
                    raise Conflict(f"An order that is {order.status} cannot be paid.", code=error_codes.ORDER_NOT_PAYABLE)
                return latest
            if "stripe" not in due.part.providers:
                raise Conflict("This order is paid by bank transfer.", code=error_codes.NOT_CARD_PAYABLE)
            payment = card_payment(order_id, due.part.kind)
            if payment is None:
                payment = Payment(order_id=order_id, provider="stripe", kind=due.part.kind, slot=due.part.kind,
                                  amount_fen=due.due_fen, currency=order.currency)
                db.session.add(payment)
        return payment
    except IntegrityError:  # a concurrent request created it first
        return card_payment(order_id, due.part.kind)


def _claim(payment_id: int, *, stale_before: dt.datetime | None = None) -> bool:
    """Take the right to create the payment's intent: nobody holds it, or its holder's claim is older than
    `stale_before` (default CLAIM_TIMEOUT ago: the holder died or gave up)."""
    now = utcnow()
    stale_before = stale_before or now - CLAIM_TIMEOUT
    with transaction():
        return db.session.execute(update(Payment).where(
            Payment.id == payment_id, Payment.provider_ref.is_(None),
            or_(Payment.claimed_at.is_(None), Payment.claimed_at < stale_before))
            .values(claimed_at=now)).rowcount == 1


def _unclaim(payment_id: int) -> None:
    with transaction():
        db.session.execute(update(Payment).where(Payment.id == payment_id).values(claimed_at=None))


def ensure_intent(*, order_id: int, wait_seconds: float = 10.0) -> Payment:
    """The PaymentIntent of the part now due, created once. Concurrent callers wait for the one that creates it."""
    payment = _due_card_payment(order_id)
    deadline = time.monotonic() + wait_seconds
    while payment.provider_ref is None:
        if _claim(payment.id):
            return _create_intent(payment.id)
        if time.monotonic() > deadline:
            raise Conflict("The payment is being set up; retry shortly.", code=error_codes.PAYMENT_IN_PROGRESS)
        time.sleep(0.05)
        end_read()
        db.session.refresh(payment)
    return payment


RETRY_PATH = "/api/v1/orders/{order_id}/payment"  # POST: open_payment, the one way back to paying


def order_awaits_provider(order) -> ProviderUnavailable:
    """The answer to a checkout whose order was placed while the provider did not answer: the order stands, its
    stock held until it expires, and the client learns which order and where to pay it once the provider is back
    (or the expiry job cancels it and releases the stock)."""
    retry = RETRY_PATH.format(order_id=order.id)
    held = f" until {order.expires_at.isoformat()}" if order.expires_at else ""
    return ProviderUnavailable(
        f"The payment provider did not answer. Order {order.number} is placed and its stock held{held}: pay it "
        f"with POST {retry} shortly (or repeat this request with the same Idempotency-Key).",
        extra={"order_id": order.id, "order_number": order.number,
               "expires_at": order.expires_at.isoformat() if order.expires_at else None,
               "retry": {"method": "POST", "href": retry}})


def open_payment(*, user, order_id: int) -> Payment:
    """The buyer's way back to paying: create (once) or return the PaymentIntent of the part now due. Only the
    buyer gets the client secret (not even an operator)."""
    if orders.get_order(user=user, order_id=order_id).buyer_id != user.id:
        raise NotFound("No such order.")
    return ensure_intent(order_id=order_id)


def _create_intent(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    order = orders.load_order(payment.order_id)
    if not plans.is_payable(order):
        _unclaim(payment.id)
        raise Conflict(f"An order that is {order.status} cannot be paid.", code=error_codes.ORDER_NOT_PAYABLE)
    return _open_at_provider(payment, order)


def open_claimed_card_payment(order) -> Payment | None:
    """In the caller's unit of work, which has just placed `order`: the card payment of the part now due, already
    claimed by the caller (no other request creates its intent meanwhile), or None when no card part is due.
    After the commit the caller creates the intent with create_claimed_intent; if it dies first, the claim
    lapses and recover_unrecorded_intent (reconcile) or ensure_intent (the buyer's retry) takes over."""
    due = plans.due_part(order)
    if due is None or "stripe" not in due.part.providers:
        return None
    payment = Payment(order_id=order.id, provider="stripe", kind=due.part.kind, slot=due.part.kind,
                      amount_fen=due.due_fen, currency=order.currency, claimed_at=utcnow())
    db.session.add(payment)
    return payment


def create_claimed_intent(order, payment: Payment) -> Payment:
    """The PaymentIntent of a payment open_claimed_card_payment claimed for `order`, both as the caller's unit
    committed them (kept loaded: nothing is read again). The order was payable when the claim was taken, in the
    unit that placed it. Raises PaymentProviderError with the claim released (the order stands; retry later)."""
    return _open_at_provider(payment, order, keep_loaded=True)


def _open_at_provider(payment: Payment, order, *, keep_loaded: bool = False) -> Payment:
    """Create the claimed payment's intent and record it. The idempotency key is the payment's own, so asking
    again (a retry, or recover_unrecorded_intent after a process died between the provider's answer and the
    commit) returns the same intent instead of opening a second one."""
    payment_id, provider = payment.id, payment.provider
    request = dict(amount_fen=payment.amount_fen, currency=payment.currency,
                   idempotency_key=f"order:{order.id}:pi:{payment.kind}",  # a retry returns the same intent
                   metadata={"order_id": str(order.id), "order_number": order.number, "payment_id": str(payment.id),
                             "kind": payment.kind})
    end_read()
    try:
        intent = get_gateway(provider).create_intent(**request)
    except PaymentProviderError:
        _unclaim(payment_id)
        raise
    with transaction(expire_on_commit=not keep_loaded):
        payment = db.session.get(Payment, payment_id)  # kept loaded: no SELECT
        payment.provider_ref, payment.client_secret, payment.claimed_at = intent.ref, intent.client_secret, None
        events.payment_intent_created(payment.order_id, payment_id=payment.id, provider=provider, ref=intent.ref)
    return payment


def unrecorded_intents(*, older_than: dt.timedelta, limit: int = 200) -> list[int]:
    """Card payments with no intent recorded, left alone for `older_than`: their creator died (a worker killed
    after the provider answered, or before it asked) or the buyer never came back to pay."""
    cutoff = utcnow() - older_than
    return list(db.session.scalars(select(Payment.id).where(
        Payment.provider == "stripe", Payment.status == "pending", Payment.provider_ref.is_(None),
        Payment.created_at < cutoff, or_(Payment.claimed_at.is_(None), Payment.claimed_at < cutoff))
        .order_by(Payment.id).limit(limit)))


def recover_unrecorded_intent(*, payment_id: int, older_than: dt.timedelta) -> str:
    """Repair a payment whose intent may exist at the provider without being recorded here (the reconcile
    job's). A claim means a process asked the provider: ask again with the same idempotency key, which returns
    that intent, and record it; if the order can no longer be paid, close it at once. A payment with no claim is
    taken as never having reached the provider: an order still payable gets its intent (what its checkout would
    have done), one past paying has the payment cancelled without asking anyone. (Not always so: a provider
    timeout releases the claim, and the provider may have made the intent anyway; that intent stays open at
    the provider, its client secret never given out. Known gap, in the issue's note.)"""
    payment = db.session.get(Payment, payment_id)
    order = orders.load_order(payment.order_id)
    payable = plans.is_payable(order)
    if not payable and payment.claimed_at is None:
        with transaction():
            moved = db.session.execute(update(Payment).where(
                Payment.id == payment_id, Payment.status == "pending", Payment.provider_ref.is_(None),
                Payment.claimed_at.is_(None)).values(status="cancelled")).rowcount
        return "cancelled_unopened" if moved else "nothing_to_do"
    if not _claim(payment_id, stale_before=utcnow() - older_than):
        return "nothing_to_do"  # recorded, or claimed afresh by a live request meanwhile
    _open_at_provider(db.session.get(Payment, payment_id), order)
    if payable:
        return "intent_recovered"
    cancel_open_intents(order_id=order.id)
    return "intent_recovered_closed"


def _payment_for_intent(intent: Intent) -> Payment | None:
    payment = db.session.scalar(select(Payment).where(Payment.provider == "stripe", Payment.provider_ref == intent.ref))
    if payment is None and str(intent.metadata.get("payment_id", "")).isdigit():
        # The webhook can beat the commit that stores the intent id: fall back to our own metadata.
        payment = db.session.get(Payment, int(intent.metadata["payment_id"]))
        if payment is not None and (payment.provider != "stripe" or payment.provider_ref not in (None, intent.ref)):
            payment = None
    return payment


def _settle(payment: Payment, status: str, *, from_statuses: tuple[str, ...], **values) -> bool:
    """Move the payment with a conditional UPDATE: of two workers applying the same news at once (webhook,
    reconcile job, a second event id), the second waits for the first's commit, then matches no row."""
    return db.session.execute(update(Payment).where(Payment.id == payment.id, Payment.status.in_(from_statuses))
                              .values(status=status, **values)).rowcount == 1


def _flag(order_id: int, payment_id: int, reason: str) -> None:
    orders.flag(order_id=order_id, reason=reason)
    db.session.execute(update(Payment).where(Payment.id == payment_id).values(flag_reason=reason))


def _apply_intent(tx: Transaction, payment: Payment, intent: Intent, *, source: str) -> str:
    """Bring our records in line with the provider's view of one intent, in the caller's unit of work."""
    unsettled = ("pending", "cancelled")
    if intent.status == "succeeded":
        if intent.amount_fen != payment.amount_fen or intent.currency != payment.currency:
            if not _settle(payment, "amount_mismatch", from_statuses=unsettled):
                return "already_applied"
            _flag(payment.order_id, payment.id, f"Provider reported {intent.amount_fen} {intent.currency} for a "
                  f"payment of {payment.amount_fen} {payment.currency}: not marked paid, check by hand.")
            events.payment_amount_mismatch(payment.order_id, payment_id=payment.id, source=source, ref=intent.ref,
                                           amount_fen=intent.amount_fen, currency=intent.currency)
            return "flagged_amount_mismatch"
        if not _settle(payment, "succeeded", from_statuses=unsettled, received_fen=intent.amount_fen,
                       succeeded_at=utcnow(), provider_ref=func.coalesce(Payment.provider_ref, intent.ref)):
            return "already_applied"
        return _money_arrived(tx, payment, intent.amount_fen, source=source)
    if intent.status == "cancelled":
        if _settle(payment, "cancelled", from_statuses=("pending",)):
            events.payment_cancelled(payment.order_id, payment_id=payment.id, source=source, ref=intent.ref)
            return "cancelled"
        return "ignored"
    if intent.failure_code or intent.failure_message:
        # The buyer may retry with another card until the order expires: the payment stays pending.
        if _settle(payment, "pending", from_statuses=("pending",), failure_code=intent.failure_code,
                   failure_message=intent.failure_message):
            events.payment_failed(payment.order_id, payment_id=payment.id, source=source, ref=intent.ref,
                                  code=intent.failure_code)
            return "failed"
    return "ignored"


def _money_arrived(tx: Transaction, payment: Payment, amount_fen: int, *, source: str) -> str:
    result = orders.record_payment(order_id=payment.order_id, amount_fen=amount_fen, payment_id=payment.id,
                                   source=source)
    if result in PAID_OUTCOMES:
        return PAID_OUTCOMES[result]
    order = orders.load_order(payment.order_id)
    if result == "not_payable" and order.status == "cancelled":
        # Money arrived for an order that expired or was cancelled: its stock is gone, so give it back.
        _flag(order.id, payment.id, "Payment arrived after the order was cancelled; refunded automatically.")
        events.late_payment(order.id, payment_id=payment.id, source=source, amount_fen=amount_fen)
        refunds.refund_payment(tx, order_id=order.id, payment_id=payment.id, amount_fen=amount_fen,
                               reason="payment after cancellation")
        return "refunding_late_payment"
    reason = ("More than the order's total arrived" if result == "overpayment"
              else f"A payment succeeded for an order that is {order.status}")
    _flag(order.id, payment.id, f"{reason}: check by hand.")
    events.unexpected_payment(order.id, payment_id=payment.id, source=source, amount_fen=amount_fen, reason=result)
    return "flagged_unexpected_payment"


def _already_processed(event_id: str) -> bool:
    return db.session.scalar(select(ProcessedWebhookEvent.id).where(
        ProcessedWebhookEvent.provider == "stripe", ProcessedWebhookEvent.event_id == event_id)) is not None


def handle_webhook(*, payload: bytes, headers) -> dict:
    try:
        event = get_gateway("stripe").parse_webhook(payload, headers)
    except MalformedEvent as error:
        raise ShopError(f"Unexpected event: {error}", code=error_codes.INVALID_EVENT) from None
    except InvalidWebhook as error:
        raise ShopError(f"Invalid webhook: {error}", code=error_codes.INVALID_SIGNATURE) from None
    try:
        with transaction() as tx:
            processed = ProcessedWebhookEvent(provider="stripe", event_id=event.id, event_type=event.type)
            db.session.add(processed)
            db.session.flush()  # a duplicate fails here (or waits for the first one's commit, then fails)
            outcome = "ignored"
            if event.intent is not None and event.type.startswith("payment_intent."):
                payment = _payment_for_intent(event.intent)
                outcome = "unknown_payment" if payment is None else \
                    _apply_intent(tx, payment, event.intent, source=f"webhook:{event.id}")
            processed.outcome = outcome
    except IntegrityError:
        if not _already_processed(event.id):
            raise  # a real constraint failure: answer 500 so that the provider retries the event
        return {"event_id": event.id, "outcome": "duplicate"}
    return {"event_id": event.id, "outcome": outcome}


def reconcile_payment(*, payment_id: int) -> str:
    """Ask the provider about one open card payment and apply what it says (the lost-webhook path)."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.provider != "stripe" or payment.provider_ref is None or payment.status != "pending":
        return "nothing_to_do"
    provider, ref = payment.provider, payment.provider_ref
    end_read()
    intent = get_gateway(provider).retrieve_intent(ref)
    with transaction() as tx:
        return _apply_intent(tx, db.session.get(Payment, payment_id), intent, source="reconcile")


def _open_card_payment_ids(order_id: int) -> list[int]:
    return list(db.session.scalars(select(Payment.id).where(
        Payment.order_id == order_id, Payment.provider == "stripe", Payment.status == "pending",
        Payment.provider_ref.is_not(None)).order_by(Payment.id)))


def reconcile_order(*, order_id: int) -> str:
    """Reconcile every open card payment of the order; the outcome of the last that changed anything."""
    outcome = "nothing_to_do"
    for payment_id in _open_card_payment_ids(order_id):
        result = reconcile_payment(payment_id=payment_id)
        if result not in ("nothing_to_do", "ignored"):
            outcome = result
    return outcome


def closed_at_provider(order_ids) -> bool:
    """Before a unit of work that cancels these orders (a job's): close their open PaymentIntents, so that none
    can be paid meanwhile (a payment that landed is applied instead). False when the provider could not be asked:
    the caller skips and its next run retries."""
    try:
        for order_id in order_ids:
            cancel_open_intents(order_id=order_id)
    except PaymentProviderError:
        return False
    return True


def cancel_open_intents(*, order_id: int) -> None:
    """After an order is cancelled: close its open PaymentIntents so that they can no longer be paid."""
    for payment_id in _open_card_payment_ids(order_id):
        ref = db.session.get(Payment, payment_id).provider_ref
        end_read()
        try:
            intent = get_gateway("stripe").cancel_intent(ref)
        except PaymentProviderError:
            # Perhaps it succeeded meanwhile: the reconcile path will see it and refund the late payment.
            reconcile_payment(payment_id=payment_id)
            continue
        if intent.status == "cancelled":
            with transaction():
                db.session.execute(update(Payment).where(Payment.id == payment_id, Payment.status == "pending")
                                   .values(status="cancelled"))


def pending_payments_to_reconcile(*, older_than: dt.timedelta, limit: int = 200) -> list[int]:
    """Open card payments of orders still waiting for money, of every kind (full, deposit, balance)."""
    cutoff = utcnow() - older_than
    return list(db.session.scalars(select(Payment.id).where(
        Payment.order_id.in_(orders.order_ids_in(plans.PAYABLE_STATUSES)), Payment.provider == "stripe",
        Payment.status == "pending", Payment.provider_ref.is_not(None), Payment.created_at < cutoff)
        .order_by(Payment.id).limit(limit)))


def record_bank_transfer(*, user, order_id: int, amount_fen: int, value_date: dt.date, reference: str) -> Payment:
    """An operator records a bank transfer that the center's account received for an order (对公转账)."""
    if not user.is_platform_admin:
        raise NotFound("No such order.")
    with transaction(conflict=error_codes.DUPLICATE_BANK_REFERENCE,
                     conflict_detail="This bank reference is recorded already.") as tx:
        order = orders.get_order(user=user, order_id=order_id)
        before = audit.snapshot(order, AUDITED_ORDER_FIELDS)
        due = plans.due_part(order)
        if due is None:
            raise Conflict(f"An order that is {order.status} takes no payment.", code=error_codes.ORDER_NOT_PAYABLE)
        if "bank_transfer" not in due.part.providers:
            raise Conflict("This order is paid by card.", code=error_codes.NOT_TRANSFER_PAYABLE)
        if amount_fen > order.due_fen:
            raise _overpayment(order.due_fen)
        payment = Payment(order_id=order.id, provider="bank_transfer", kind=due.part.kind, status="succeeded",
                          amount_fen=amount_fen, received_fen=amount_fen, currency=order.currency,
                          provider_ref=reference, value_date=value_date, recorded_by_id=user.id,
                          succeeded_at=utcnow())
        db.session.add(payment)
        db.session.flush()
        if orders.record_payment(order_id=order.id, amount_fen=amount_fen, payment_id=payment.id,
                                 source="bank_transfer") == "overpayment":
            raise _overpayment(orders.load_order(order.id).due_fen)  # a concurrent transfer got in first
        events.bank_transfer_recorded(order.id, actor_id=user.id, payment_id=payment.id, amount_fen=amount_fen,
                                      reference=reference)
        audit.record(tx, actor=user, action=audit_actions.BANK_TRANSFER_RECORDED, target_type="order",
                     target_id=order.id, before=before, keep=("number",),
                     after={**audit.snapshot(orders.load_order(order.id), AUDITED_ORDER_FIELDS),
                            "payment_id": payment.id, "amount_fen": amount_fen, "reference": reference,
                            "value_date": value_date})
    return payment


def _overpayment(due_fen: int) -> ValidationFailed:
    return ValidationFailed("That is more than the order still owes.", code=error_codes.OVERPAYMENT,
                            errors={"amount_fen": [f"At most {due_fen}."]})
