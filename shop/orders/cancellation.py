"""Cancelling an order before shipment: the order, its fulfilments and its stock in one unit of work, with
everything paid refunded line by line; the money goes back and open PaymentIntents close after commit."""
from __future__ import annotations

from shop.catalog import stock
from shop.database import utcnow
from shop.orders.models import Order
from shop.orders.services import cancel_fulfillments, get_order, stock_lines
from shop.orders.state import IllegalTransition, move_order
from shop.payments import services as payments
from shop.refunds import services as refunds
from shop.transaction import transaction
from shop.orders import error_codes


def cancel_order(*, user, order_id: int, reason: str = "") -> Order:
    with transaction() as tx:
        order = get_order(user=user, order_id=order_id)
        if order.channel == "presale":  # a pledge is withdrawn while its campaign is open, and only so
            raise IllegalTransition("Withdraw the pledge from its campaign instead.",
                                    code=error_codes.ORDER_NOT_CANCELLABLE)
        if not order.can_cancel():
            raise IllegalTransition(f"An order that is {order.status} can no longer be cancelled.",
                                    code=error_codes.ORDER_NOT_CANCELLABLE)
        held = order.holds_stock()  # a requisition awaiting approval has reserved nothing yet
        move_order(order, "cancelled", actor_id=user.id, values={"cancelled_at": utcnow()}, reason=reason)
        cancel_fulfillments(order)
        if held:
            stock.release(stock_lines(order), order_id=order.id, actor_id=user.id)
        if order.paid_fen > 0:
            refunds.open_cancellation_refund(tx, order_id=order.id, actor_id=user.id)
        tx.after_commit(lambda: payments.cancel_open_intents(order_id=order_id))  # a part still open, if any
    return get_order(user=user, order_id=order_id)
