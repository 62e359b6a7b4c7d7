"""Order and fulfilment state moves: checked against the state machine, applied with a conditional UPDATE
(so two workers cannot both make the same move), and recorded as order events."""
from __future__ import annotations

from sqlalchemy import update

from shop.errors import Conflict
from shop.extensions import db
from shop.orders.models import Fulfillment, Order, OrderEvent
from shop.orders import error_codes


class IllegalTransition(Conflict):
    code = "illegal_transition"
    title = "Not allowed in the current state"


def record(order_id: int, type_: str, *, actor_id: int | None = None, **data) -> None:
    db.session.add(OrderEvent(order_id=order_id, type=type_, actor_id=actor_id, data=data))


def move_order(order: Order, to: str, *, actor_id: int | None = None, event: str | None = None,
               values: dict | None = None, **event_data) -> None:
    """Move the order to `to` or raise IllegalTransition (also when another request moved it first)."""
    if not order.can_move_to(to):
        raise IllegalTransition(f"An order that is {order.status} cannot become {to}.",
                                code=error_codes.ILLEGAL_ORDER_TRANSITION)
    if not try_move_order(order, to, actor_id=actor_id, event=event, values=values, **event_data):
        raise IllegalTransition("The order changed meanwhile; reload it.", code=error_codes.ORDER_STATE_CHANGED)


def try_move_order(order: Order, to: str, *, actor_id: int | None = None, event: str | None = None,
                   values: dict | None = None, **event_data) -> bool:
    """The same move for jobs and webhooks: False when the order is no longer in a state that allows it."""
    if not order.can_move_to(to):
        return False
    current = order.status
    result = db.session.execute(update(Order).where(Order.id == order.id, Order.status == current)
                                .values(status=to, **(values or {})))
    if result.rowcount != 1:
        db.session.expire(order)
        return False
    record(order.id, event or to, actor_id=actor_id, **{"from": current, **event_data})
    return True


def move_fulfillment(fulfillment: Fulfillment, to: str, *, values: dict | None = None) -> None:
    if not fulfillment.can_move_to(to):
        raise IllegalTransition(f"A fulfilment that is {fulfillment.status} cannot become {to}.",
                                code=error_codes.ILLEGAL_FULFILLMENT_TRANSITION)
    result = db.session.execute(update(Fulfillment).where(Fulfillment.id == fulfillment.id,
                                                          Fulfillment.status == fulfillment.status)
                                .values(status=to, **(values or {})))
    if result.rowcount != 1:
        raise IllegalTransition("The fulfilment changed meanwhile; reload it.", code=error_codes.FULFILLMENT_STATE_CHANGED)
