"""Buyer-side order verbs and the moves other domains trigger (paid, expired, delivered). Cancelling, which
also gives money back, is shop.orders.cancellation."""
from __future__ import annotations

from sqlalchemy import Select, select, update
from sqlalchemy.orm import selectinload

from shop.catalog import stock
from shop.catalog.services import record_sales
from shop.database import utcnow
from shop.errors import NotFound
from shop.extensions import db
from shop.orders import events, ledger, notify, plans
from shop.orders.models import Fulfillment, Order, OrderEvent, OrderLine
from shop.orders.signals import fulfillments_cancelled
from shop.orders.state import move_order, try_move_order
from shop.pagination import SortKey, keyset_page
from shop.transaction import transaction


def order_query():
    return select(Order).options(selectinload(Order.lines), selectinload(Order.fulfillments))


def load_order(order_id: int) -> Order | None:
    """The order with its lines and fulfilments, re-read from the database (not the session's copy): for jobs,
    payment callbacks and replies after a commit, where another worker may have moved it."""
    return db.session.scalar(order_query().where(Order.id == order_id).execution_options(populate_existing=True))


def load_orders(order_ids) -> list[Order]:
    """Several orders as load_order reads one, in one query per relation."""
    if not order_ids:
        return []
    return list(db.session.scalars(order_query().where(Order.id.in_(list(order_ids))).order_by(Order.id)
                                   .execution_options(populate_existing=True)))


def get_order(*, user, order_id: int) -> Order:
    """The buyer's own order (platform admins see all); anyone else's answers 404."""
    order = db.session.scalar(order_query().where(Order.id == order_id))
    if order is None or (order.buyer_id != user.id and not user.is_platform_admin):
        raise NotFound("No such order.")
    return order


def list_orders(*, user, status: str | None = None, limit: int, cursor: str | None):
    stmt = order_query().where(Order.buyer_id == user.id)
    if status:
        stmt = stmt.where(Order.status == status)
    return keyset_page(db.session, stmt, keys=[SortKey(Order.id, lambda o: o.id, descending=True)], limit=limit,
                       cursor=cursor)


def list_events(*, user, order_id: int) -> list[OrderEvent]:
    get_order(user=user, order_id=order_id)
    return list(db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id)
                                   .order_by(OrderEvent.id)))


def events_of(order_ids: list[int], types) -> dict[int, list[OrderEvent]]:
    """The events of these types of many orders, oldest first, in one query (for lists that show a history)."""
    found: dict[int, list[OrderEvent]] = {order_id: [] for order_id in order_ids}
    if order_ids:
        for event in db.session.scalars(select(OrderEvent).where(OrderEvent.order_id.in_(order_ids),
                                                                 OrderEvent.type.in_(types)).order_by(OrderEvent.id)):
            found[event.order_id].append(event)
    return found


def order_ids_in(statuses) -> Select:
    """A subquery of the ids of orders in these statuses, for other domains' filters."""
    return select(Order.id).where(Order.status.in_(statuses))


def flag(*, order_id: int, reason: str) -> None:
    """An operator must look at the order (in the caller's transaction)."""
    db.session.execute(update(Order).where(Order.id == order_id).values(flagged=True, flag_reason=reason))


def stock_lines(order: Order) -> list[tuple[int, int]]:
    """What the order holds of Sku.stock. A pre-sale order holds none: its units are its campaign's capacity,
    given back by shop.presale when the order's fulfilments are cancelled."""
    if order.channel == "presale":
        return []
    return [(line.sku_id, line.quantity) for line in order.lines]


def cancel_fulfillments(order: Order) -> None:
    db.session.execute(update(Fulfillment).where(Fulfillment.order_id == order.id, Fulfillment.status == "pending")
                       .values(status="cancelled"))
    fulfillments_cancelled.send(order.id)  # e.g. their fapiao requests lapse: nothing is sold, nothing invoiced


def reduce_line(order: Order, *, order_line_id: int, quantity: int, deposit_fen: int, reason: str,
                actor_id: int | None) -> None:
    """Cut one line to `quantity` units (in the caller's unit of work): the line, its fulfilment's subtotal and
    the order's subtotal and total shrink by the units' price, and the deposit becomes `deposit_fen`. What the
    order holds of those units must have been refunded first (the net limits refuse it otherwise)."""
    line = next(line for line in order.lines if line.id == order_line_id)
    if not 0 < quantity <= line.quantity:
        raise ValueError(f"order line {order_line_id}: cannot cut {line.quantity} units to {quantity}")
    cut_fen = line.unit_price_fen * (line.quantity - quantity)
    db.session.execute(update(OrderLine).where(OrderLine.id == line.id)
                       .values(quantity=quantity, line_total_fen=OrderLine.unit_price_fen * quantity))
    db.session.execute(update(Fulfillment).where(Fulfillment.id == line.fulfillment_id)
                       .values(subtotal_fen=Fulfillment.subtotal_fen - cut_fen))
    db.session.execute(update(Order).where(Order.id == order.id)
                       .values(subtotal_fen=Order.subtotal_fen - cut_fen, total_fen=Order.total_fen - cut_fen,
                               deposit_fen=deposit_fen))
    events.quantity_reduced(order.id, order_line_id=line.id, from_quantity=line.quantity, to_quantity=quantity,
                            reason=reason, actor_id=actor_id)


def release_shipping_hold(order_id: int) -> None:
    """Its fulfilments may ship (in the caller's unit of work)."""
    db.session.execute(update(Order).where(Order.id == order_id).values(shipping_hold=None))


def expire_order(*, order: Order) -> bool:
    """Jobs: cancel an unpaid order whose reservation ran out (in the caller's transaction); False if it was
    paid or moved meanwhile."""
    if order.status != "pending_payment" or order.paid_fen:
        return False
    if not try_move_order(order, "cancelled", event="expired", values={"cancelled_at": utcnow()}):
        return False
    cancel_fulfillments(order)
    stock.release(stock_lines(order), order_id=order.id, reason="order_released", note="unpaid order expired")
    return True


def record_payment(*, order_id: int, amount_fen: int, payment_id: int, source: str) -> str:
    """Money arrived for the order (in the caller's transaction): count it on the order and its lines, and move
    the order as its payment plan says. Returns what happened:
    - paid / deposit_paid: the plan reached that status (on terms: the invoice is paid in full);
    - partly_paid: counted, the plan wants more before the order moves;
    - not_payable: counted, but the order is cancelled (or otherwise past paying): the caller gives it back;
    - overpayment: nothing counted, the order cannot take that much."""
    if ledger.record_payment(order_id, amount_fen) is None:
        return "overpayment"
    order = load_order(order_id)  # current: the ledger's UPDATE holds the order row until commit
    events.payment_received(order.id, payment_id=payment_id, amount_fen=amount_fen, source=source)
    if not plans.is_payable(order):
        return "not_payable"
    if order.payment_plan == "on_terms":  # the invoice is settled; the order goes on where it is
        if order.paid_fen < order.total_fen:
            return "partly_paid"
        db.session.execute(update(Order).where(Order.id == order.id).values(paid_at=utcnow()))
        events.invoice_settled(order.id, payment_id=payment_id, amount_fen=order.paid_fen)
        return "paid"
    target = plans.status_after(order, order.net_paid_fen)
    if target is None or target == order.status:
        return "partly_paid"
    values = {"paid_at": utcnow()} if target == "paid" else {}
    if not try_move_order(order, target, values=values, payment_id=payment_id, amount_fen=order.paid_fen):
        return "not_payable"
    if target == "paid":
        sold: dict[int, int] = {}
        for line in order.lines:
            sold[line.product_id] = sold.get(line.product_id, 0) + line.quantity
        record_sales(quantities=sold)  # best-selling sort
        notify.order_paid(order)
    return target


def confirm_receipt(*, user, order_id: int) -> Order:
    with transaction():
        order = get_order(user=user, order_id=order_id)
        if order.buyer_id != user.id:
            raise NotFound("No such order.")
        move_order(order, "completed", actor_id=user.id, values={"completed_at": utcnow()})
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
    path = {"paid": ["fulfilling", "shipped", "delivered"], "approved": ["fulfilling", "shipped", "delivered"],
            "fulfilling": ["shipped", "delivered"],
            "shipped": ["delivered"]}.get(order.status, [])
    for step in path[: path.index(target) + 1] if target in path else []:
        if step == "fulfilling" and target != "fulfilling":
            continue
        values = {"delivered_at": utcnow()} if step == "delivered" else None
        move_order(order, step, actor_id=actor_id, values=values)


def line_by_id(order: Order, line_id: int) -> OrderLine | None:
    return next((line for line in order.lines if line.id == line_id), None)


