"""Opening fapiao requests: called by the domains that place orders, in their unit of work."""
from __future__ import annotations

from sqlalchemy import select, update

from shop.extensions import db
from shop.fapiao.models import Fapiao
from shop.orders.models import Fulfillment
from shop.orders.signals import fulfillments_cancelled

BUYER_FIELDS = ("title", "taxpayer_id", "address", "phone", "bank", "account")


def open_for(order) -> int:
    """One request per fulfilment of an order that asked for a fapiao (each supplier invoices its own part).
    Returns how many were opened."""
    if not order.fapiao:
        return 0
    details = {name: order.fapiao.get(name) for name in BUYER_FIELDS}
    parts = db.session.execute(select(Fulfillment.id, Fulfillment.supplier_id)
                               .where(Fulfillment.order_id == order.id).order_by(Fulfillment.id)).all()
    for fulfillment_id, supplier_id in parts:
        db.session.add(Fapiao(order_id=order.id, fulfillment_id=fulfillment_id, supplier_id=supplier_id,
                              organization_id=order.organization_id, buyer_id=order.buyer_id,
                              type=order.fapiao["type"], buyer_details=details))
    return len(parts)


@fulfillments_cancelled.connect
def lapse_cancelled(order_id: int) -> int:
    """The requests of an order's cancelled fulfilments become cancelled (nothing of them was sold), in the
    caller's unit of work: the cancellation and expiry paths call it as they cancel fulfilments. Returns how many."""
    cancelled = select(Fulfillment.id).where(Fulfillment.order_id == order_id, Fulfillment.status == "cancelled")
    return db.session.execute(update(Fapiao).where(Fapiao.order_id == order_id, Fapiao.status == "requested",
                                                   Fapiao.fulfillment_id.in_(cancelled))
                              .values(status="cancelled")).rowcount
