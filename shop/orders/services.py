"""Buyer-side order verbs and the moves other domains trigger (paid, cancelled, delivered)."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from shop.catalog import stock
from shop.catalog.services import record_sales
from shop.database import utcnow
from shop.errors import NotFound
from shop.extensions import db
from shop.orders import notify
from shop.orders.models import Fulfillment, Order, OrderEvent, OrderLine
from shop.orders.state import IllegalTransition, move_order, try_move_order
from shop.pagination import SortKey, keyset_page


def _order_query():
    return select(Order).options(selectinload(Order.lines), selectinload(Order.fulfillments))


def load_order(order_id: int) -> Order | None:
    """The order with its lines and fulfilments, re-read from the database (not the session's copy): for jobs,
    payment callbacks and replies after a commit, where another worker may have moved it."""
    return db.session.scalar(_order_query().where(Order.id == order_id).execution_options(populate_existing=True))


def get_order(*, user, order_id: int) -> Order:
    """The buyer's own order (platform admins see all); anyone else's answers 404."""
    order = db.session.scalar(_order_query().where(Order.id == order_id))
    if order is None or (order.buyer_id != user.id and not user.is_platform_admin):
        raise NotFound("No such order.")
    return order


def list_orders(*, user, status: str | None = None, limit: int, cursor: str | None):
    stmt = _order_query().where(Order.buyer_id == user.id)
    if status:
        stmt = stmt.where(Order.status == status)
    return keyset_page(db.session, stmt, keys=[SortKey(Order.id, lambda o: o.id, descending=True)], limit=limit,
                       cursor=cursor)


def list_events(*, user, order_id: int) -> list[OrderEvent]:
    get_order(user=user, order_id=order_id)
    return list(db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id)
                                   .order_by(OrderEvent.id)))


def _stock_lines(order: Order) -> list[tuple[int, int]]:
    return [(line.sku_id, line.quantity) for line in order.lines]


def cancel_order(*, user, order_id: int, reason: str = "") -> Order:
    """Cancel before shipment: stock comes back at once; a paid order is refunded in full (after commit)."""
    from shop.payments import services as payments  # payments calls back into orders: import at use

    order = get_order(user=user, order_id=order_id)
    if not order.can_cancel():
        raise IllegalTransition(f"An order that is {order.status} can no longer be cancelled.",
                                code="order_not_cancellable")
    was_paid = order.paid_fen > 0
    try:
        move_order(order, "cancelled", actor_id=user.id, values={"cancelled_at": utcnow()}, reason=reason)
        _cancel_fulfillments(order)
        stock.release(_stock_lines(order), order_id=order.id, actor_id=user.id)
        refund = payments.open_cancellation_refund(order=order, actor_id=user.id) if was_paid else None
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    # Side effects after commit: money back, or the unpaid PaymentIntent closed.
    if refund is not None:
        payments.execute_refund(refund_id=refund.id)
    else:
        payments.cancel_open_intents(order_id=order.id)
    return get_order(user=user, order_id=order_id)


def _cancel_fulfillments(order: Order) -> None:
    db.session.execute(update(Fulfillment).where(Fulfillment.order_id == order.id, Fulfillment.status == "pending")
                       .values(status="cancelled"))


def expire_order(*, order: Order) -> bool:
    """Jobs: cancel an unpaid order whose reservation ran out; False if it was paid or moved meanwhile."""
    if not try_move_order(order, "cancelled", event="expired", values={"cancelled_at": utcnow()}):
        return False
    _cancel_fulfillments(order)
    stock.release(_stock_lines(order), order_id=order.id, reason="order_released", note="unpaid order expired")
    return True


def mark_paid(*, order: Order, amount_fen: int, payment_id: int) -> bool:
    """pending_payment → paid, in the caller's transaction; False when already paid or no longer payable."""
    if not try_move_order(order, "paid", values={"paid_at": utcnow(), "paid_fen": amount_fen},
                          payment_id=payment_id, amount_fen=amount_fen):
        return False
    sold: dict[int, int] = {}
    for line in order.lines:
        sold[line.product_id] = sold.get(line.product_id, 0) + line.quantity
    record_sales(quantities=sold)  # best-selling sort
    notify.order_paid(order)
    return True


def confirm_receipt(*, user, order_id: int) -> Order:
    order = get_order(user=user, order_id=order_id)
    if order.buyer_id != user.id:
        raise NotFound("No such order.")
    move_order(order, "completed", actor_id=user.id, values={"completed_at": utcnow()})
    db.session.commit()
    return get_order(user=user, order_id=order_id)


def auto_complete(*, order: Order) -> bool:
    return try_move_order(order, "completed", event="auto_completed", values={"completed_at": utcnow()})


def sync_status_with_fulfillments(order: Order, *, actor_id: int | None) -> None:
    """The order's status follows its fulfilments: some shipped → fulfilling, all shipped → shipped,
    all delivered → delivered."""
    db.session.flush()
    statuses = {f.status for f in db.session.scalars(select(Fulfillment).where(Fulfillment.order_id == order.id)
                                                       .execution_options(populate_existing=True))} - {"cancelled"}
    if statuses == {"delivered"}:
        target = "delivered"
    elif statuses <= {"shipped", "delivered"}:
        target = "shipped"
    elif statuses & {"shipped", "delivered"}:
        target = "fulfilling"
    else:
        return
    # Walk through intermediate states so each appears in the history (paid → shipped → delivered).
    path = {"paid": ["fulfilling", "shipped", "delivered"], "fulfilling": ["shipped", "delivered"],
            "shipped": ["delivered"]}.get(order.status, [])
    for step in path[: path.index(target) + 1] if target in path else []:
        if step == "fulfilling" and target != "fulfilling":
            continue
        values = {"delivered_at": utcnow()} if step == "delivered" else None
        move_order(order, step, actor_id=actor_id, values=values)


def line_by_id(order: Order, line_id: int) -> OrderLine | None:
    return next((line for line in order.lines if line.id == line_id), None)


