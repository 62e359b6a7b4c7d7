"""What buyers and suppliers are told, and when. Messages go to the outbox in the caller's transaction."""
from __future__ import annotations

from typing import TYPE_CHECKING


from shop.accounts.models import User
from shop.extensions import db
from shop.money import format_fen
from shop.notifications.services import enqueue
from shop.orders.models import Fulfillment, Order
from shop.suppliers import services as suppliers

if TYPE_CHECKING:
    from shop.refunds.models import Refund


def _buyer(order: Order) -> User:
    return db.session.get(User, order.buyer_id)


def order_paid(order: Order) -> None:
    buyer = _buyer(order)
    enqueue(email=buyer.email, user_id=buyer.id, template="order_paid", order_id=order.id,
            subject=f"订单 {order.number} 已支付 / Order paid",
            body=f"您的订单 {order.number} 已支付 {format_fen(order.total_fen)}，供货企业将尽快发货。")
    fulfillments_due(order, why="已支付")


def fulfillments_due(order: Order, *, why: str) -> None:
    """Each supplier of the order is told it may ship (paid, or accepted on terms)."""
    supplier_ids = {f.supplier_id for f in order.fulfillments}
    for supplier_id, owner in suppliers.owners(supplier_ids=supplier_ids):
        enqueue(email=owner.email, user_id=owner.id, template="fulfillment_due", order_id=order.id,
                subject=f"新订单 {order.number} 待发货 / New order to ship",
                body=f"订单 {order.number} {why}，请在供货端查看并发货。")


def fulfillment_shipped(order: Order, fulfillment: Fulfillment) -> None:
    buyer = _buyer(order)
    enqueue(email=buyer.email, user_id=buyer.id, template="fulfillment_shipped", order_id=order.id,
            subject=f"订单 {order.number} 已发货 / Shipped",
            body=f"承运商 {fulfillment.carrier}，运单号 {fulfillment.tracking_number}。")


def refund_requested(order: Order, refund: Refund) -> None:
    for _, owner in suppliers.owners(supplier_ids={refund.supplier_id} if refund.supplier_id else set()):
        enqueue(email=owner.email, user_id=owner.id, template="refund_requested", order_id=order.id,
                subject=f"订单 {order.number} 有退款申请 / Refund requested",
                body=f"退款申请 {format_fen(refund.amount_fen)}：{refund.reason}")


def refund_decided(order: Order, refund: Refund) -> None:
    buyer = _buyer(order)
    verdict = {"approved": "已同意", "succeeded": "已退款", "rejected": "已拒绝", "failed": "退款失败",
               "awaiting_transfer": "待银行转账退回"}.get(
        refund.status, refund.status)
    enqueue(email=buyer.email, user_id=buyer.id, template="refund_decided", order_id=order.id,
            subject=f"订单 {order.number} 退款{verdict} / Refund {refund.status}",
            body=f"退款 {format_fen(refund.refunded_fen)}：{verdict}。{refund.decision_note}")
