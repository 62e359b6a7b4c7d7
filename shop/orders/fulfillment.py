"""The supplier side of an order: each supplier sees and ships only its own fulfilment."""
from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload, selectinload

from shop.database import utcnow
from shop.errors import NotFound
from shop.extensions import db
from shop.orders import events, notify
from shop.orders.models import Fulfillment, Order
from shop.orders.services import sync_status_with_fulfillments
from shop.orders.state import IllegalTransition, move_fulfillment, record
from shop.pagination import SortKey, keyset_page
from shop.transaction import transaction
from shop.suppliers.services import member_supplier_ids, require_role
from shop.orders import error_codes

SHIPPABLE_ORDER_STATUSES = ("paid", "approved", "fulfilling")  # approved: procurement on terms
NOT_YET_SUPPLIERS_BUSINESS = ("pending_payment", "deposit_paid", "awaiting_approval", "rejected")


def visible_to_suppliers():
    """Unpaid orders, and unpaid ones that were abandoned, are not the supplier's business (nor is the
    buyer's address): their stock was only held. Public: the fapiao requests of such orders are hidden too."""
    return and_(Order.status.notin_(NOT_YET_SUPPLIERS_BUSINESS),
                ~and_(Order.status == "cancelled", Order.paid_at.is_(None)))


def _visible_query():
    return _query().join(Order, Order.id == Fulfillment.order_id).where(visible_to_suppliers())


def _query():
    return select(Fulfillment).options(selectinload(Fulfillment.lines), joinedload(Fulfillment.order))


def list_fulfillments(*, user, supplier_id: int | None = None, status: str | None = None, limit: int,
                      cursor: str | None):
    supplier_ids = member_supplier_ids(user=user)
    if supplier_id is not None:
        supplier_ids = [s for s in supplier_ids if s == supplier_id]
    stmt = _visible_query().where(Fulfillment.supplier_id.in_(supplier_ids))
    if status:
        stmt = stmt.where(Fulfillment.status == status)
    return keyset_page(db.session, stmt, keys=[SortKey(Fulfillment.id, lambda f: f.id, descending=True)],
                       limit=limit, cursor=cursor)


def get_fulfillment(*, user, fulfillment_id: int, action: str = "view") -> Fulfillment:
    """The fulfilment when the user's role in its supplier allows `action` (suppliers.roles); a non-member
    gets 404, like for a missing one."""
    fulfillment = db.session.scalar(_visible_query().where(Fulfillment.id == fulfillment_id))
    if fulfillment is None:
        raise NotFound("No such fulfilment.")
    try:
        require_role(user=user, supplier_id=fulfillment.supplier_id, action=action)
    except NotFound:
        raise NotFound("No such fulfilment.")
    return fulfillment


def ship(*, user, fulfillment_id: int, carrier: str, tracking_number: str) -> Fulfillment:
    with transaction():
        fulfillment = get_fulfillment(user=user, fulfillment_id=fulfillment_id, action="ship_fulfillment")
        order = fulfillment.order
        if order.status not in SHIPPABLE_ORDER_STATUSES:
            raise IllegalTransition(f"An order that is {order.status} cannot be shipped.", code=error_codes.ORDER_NOT_SHIPPABLE)
        if order.shipping_hold:
            raise IllegalTransition(f"This order may not ship yet: {order.shipping_hold}.",
                                    code=error_codes.ORDER_NOT_SHIPPABLE)
        move_fulfillment(fulfillment, "shipped", values={"carrier": carrier, "tracking_number": tracking_number,
                                                         "shipped_at": utcnow()})
        record(order.id, events.FULFILLMENT_SHIPPED, actor_id=user.id, fulfillment_id=fulfillment.id,
               carrier=carrier, tracking_number=tracking_number)
        sync_status_with_fulfillments(order, actor_id=user.id)
        notify.fulfillment_shipped(order, fulfillment)
    return get_fulfillment(user=user, fulfillment_id=fulfillment_id)


def deliver(*, user, fulfillment_id: int) -> Fulfillment:
    with transaction():
        fulfillment = get_fulfillment(user=user, fulfillment_id=fulfillment_id, action="ship_fulfillment")
        order = fulfillment.order
        move_fulfillment(fulfillment, "delivered", values={"delivered_at": utcnow()})
        record(order.id, events.FULFILLMENT_DELIVERED, actor_id=user.id, fulfillment_id=fulfillment.id)
        sync_status_with_fulfillments(order, actor_id=user.id)
    return get_fulfillment(user=user, fulfillment_id=fulfillment_id)
