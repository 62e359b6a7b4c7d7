"""Background jobs. Each is idempotent and safe on several workers at once: every state move is a
conditional UPDATE, so a second worker finds nothing left to do."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from shop.database import utcnow
from shop.errors import PaymentProviderError
from shop.extensions import db
from shop.orders import services as orders
from shop.orders.models import Order
from shop.payments import services as payments
from shop.payments.gateway import ProviderUnavailable
from shop.transaction import end_read, transaction


def expire_unpaid_orders(*, now: dt.datetime | None = None, limit: int = 500) -> dict:
    """Cancel orders unpaid past their reservation: close the PaymentIntent first (so it can no longer be
    paid), then release the stock. A payment whose webhook was lost is found and applied instead."""
    now = now or utcnow()
    ids = list(db.session.scalars(select(Order.id).where(Order.status == "pending_payment", Order.expires_at < now)
                                  .order_by(Order.id).limit(limit)))
    end_read()
    counts = {"expired": 0, "paid_meanwhile": 0, "expired_elsewhere": 0, "skipped": 0}
    for order_id in ids:
        if not payments.closed_at_provider([order_id]):
            counts["skipped"] += 1  # provider unreachable: try again on the next run
            continue
        with transaction():
            order = orders.load_order(order_id)
            if order.status != "pending_payment":
                outcome = "expired_elsewhere" if order.status == "cancelled" else "paid_meanwhile"
            else:
                outcome = "expired" if orders.expire_order(order=order) else "skipped"
        counts[outcome] += 1
    return counts


def reconcile_pending_payments(*, older_than: dt.timedelta = dt.timedelta(minutes=5)) -> dict:
    """Payments left unrecorded first (a process killed mid-checkout: their intent is recorded, or closed),
    then every open intent is asked about (the lost-webhook path). `older_than` must exceed the time a live
    request takes to open an intent (payments.CLAIM_TIMEOUT). The first time the provider does not answer, the
    run stops asking: during an outage every payment would wait out its timeout (and retries), holding a worker
    that the expiry job needs; the rest are asked on the next run."""
    counts: dict[str, int] = {}

    def ask(payment_ids, call) -> bool:
        for payment_id in payment_ids:
            try:
                outcome = call(payment_id)
            except ProviderUnavailable:
                counts["provider_error"] = counts.get("provider_error", 0) + 1
                return False
            except PaymentProviderError:
                outcome = "provider_error"
            counts[outcome] = counts.get(outcome, 0) + 1
        return True

    if ask(payments.unrecorded_intents(older_than=older_than),
           lambda payment_id: payments.recover_unrecorded_intent(payment_id=payment_id, older_than=older_than)):
        ask(payments.pending_payments_to_reconcile(older_than=older_than),
            lambda payment_id: payments.reconcile_payment(payment_id=payment_id))
    return counts


def auto_confirm_receipts(*, now: dt.datetime | None = None, days: int) -> dict:
    """Delivered orders the buyer did not confirm are completed after `days` days."""
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    ids = list(db.session.scalars(select(Order.id).where(Order.status == "delivered", Order.delivered_at < cutoff)
                                  .order_by(Order.id)))
    end_read()
    completed = 0
    for order_id in ids:
        with transaction():
            completed += orders.auto_complete(order=orders.load_order(order_id))
    return {"completed": completed}
