"""What a refund asks of the payments: which of an order's payments it draws from, keeping each payment's
refunded amount within what it collected, and sending a card part back through the provider.

Draw order (documented in the API): card payments before bank transfers, newest first within each. Card
refunds go back by themselves; a transfer part needs an operator to send the money, so it is used only for
what the cards cannot cover. Newest first gives a balance back before a deposit.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select, update

from shop.errors import PaymentProviderError
from shop.extensions import db
from shop.payments.gateway import ProviderRefund, get_gateway
from shop.payments.models import Payment
from shop.transaction import end_read


@dataclass(frozen=True)
class Draw:
    payment_id: int
    provider: str
    amount_fen: int


def _draw_order():
    return (case((Payment.provider == "stripe", 0), else_=1), Payment.id.desc())


def reserve_draws(order_id: int, amount_fen: int, *, payment_id: int | None = None) -> list[Draw] | None:
    """Take `amount_fen` from the order's succeeded payments (only `payment_id`, where given), in draw order,
    each within what it collected minus what it already gave back. In the caller's transaction, after the order
    row was locked by the refund's reservation; None (and the caller rolls back) if they cannot cover it."""
    stmt = select(Payment).where(Payment.order_id == order_id, Payment.status == "succeeded") \
        .order_by(*_draw_order()).execution_options(populate_existing=True)
    if payment_id is not None:
        stmt = stmt.where(Payment.id == payment_id)
    draws, left = [], amount_fen
    for payment in db.session.scalars(stmt):
        take = min(left, payment.amount_fen - payment.refunded_fen)
        if take <= 0:
            continue
        if db.session.execute(update(Payment).where(Payment.id == payment.id,
                                                    Payment.refunded_fen + take <= Payment.amount_fen)
                              .values(refunded_fen=Payment.refunded_fen + take)).rowcount != 1:
            return None
        draws.append(Draw(payment.id, payment.provider, take))
        left -= take
        if left == 0:
            return draws
    return None


def release_draw(payment_id: int, amount_fen: int) -> None:
    """A refund part that did not happen: the payment can give that much back again."""
    db.session.execute(update(Payment).where(Payment.id == payment_id)
                       .values(refunded_fen=Payment.refunded_fen - amount_fen))


def refund_card(*, payment_id: int, amount_fen: int, idempotency_key: str, metadata: dict) -> ProviderRefund:
    """Send a card part back. Call with no transaction open: it waits on the network."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.provider != "stripe" or payment.provider_ref is None:
        raise PaymentProviderError("No captured card payment to refund.")
    provider, ref = payment.provider, payment.provider_ref
    end_read()
    return get_gateway(provider).refund(intent_ref=ref, amount_fen=amount_fen, idempotency_key=idempotency_key,
                                        metadata=metadata)
