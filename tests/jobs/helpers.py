"""Orders whose reservation has run out, and what a job run must change only once."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from shop.catalog.models import StockMovement
from shop.extensions import db
from shop.orders.models import Order, OrderEvent
from tests.orders.factories import checkout


def expired_orders(buyer, world, count: int, quantity: int = 2) -> list[int]:
    """`count` unpaid orders of `quantity` units of world.sku_a each, their reservation ended a minute ago."""
    ids = [checkout(buyer, world.address_id, [(world.sku_a, quantity)]).json["order"]["id"] for _ in range(count)]
    db.session.execute(update(Order).where(Order.id.in_(ids))
                       .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)))
    db.session.commit()
    return ids


def expiry_effects(order_ids) -> dict[int, tuple]:
    """Per order: its status, how many `expired` events and how many stock releases it has."""
    db.session.expire_all()
    effects = {}
    for order_id in order_ids:
        status = db.session.scalar(select(Order.status).where(Order.id == order_id))
        expired = db.session.scalar(select(func.count()).select_from(OrderEvent).where(
            OrderEvent.order_id == order_id, OrderEvent.type == "expired"))
        releases = db.session.scalar(select(func.count()).select_from(StockMovement).where(
            StockMovement.order_id == order_id, StockMovement.reason == "order_released"))
        effects[order_id] = (status, expired, releases)
    db.session.rollback()
    return effects


def row_counts() -> dict[str, int]:
    """Rows of every table: a job run that changes nothing leaves them all as they were."""
    counts = {table.name: db.session.scalar(select(func.count()).select_from(table))
              for table in db.metadata.sorted_tables}
    db.session.rollback()
    return counts
