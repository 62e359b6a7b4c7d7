"""Stock that is never oversold: one conditional UPDATE per SKU, SKUs taken in id order.

`UPDATE sku SET stock = stock - :q WHERE id = :id AND stock >= :q` is atomic on SQLite and PostgreSQL alike
(SELECT ... FOR UPDATE is silently dropped on SQLite). Taking SKUs in id order means two checkouts of the
same SKUs in opposite orders cannot deadlock. These run in the caller's transaction (a unit of work of
shop.transaction): they never commit.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from sqlalchemy import update

from shop.catalog.models import Sku, StockMovement
from shop.errors import Conflict
from shop.extensions import db


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    title = "Not enough stock"


def _merge(lines: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    totals: dict[int, int] = defaultdict(int)
    for sku_id, quantity in lines:
        if quantity <= 0:
            raise ValueError("stock quantities are positive")
        totals[sku_id] += quantity
    return sorted(totals.items())


def reserve(lines: Iterable[tuple[int, int]], *, order_id: int | None, actor_id: int | None = None,
            reason: str = "order_reserved", note: str = "") -> None:
    """Take stock for (sku_id, quantity) lines, or raise InsufficientStock naming the SKUs short. In the
    caller's transaction (checkout's): does not commit."""
    movements = []
    for sku_id, quantity in _merge(lines):
        result = db.session.execute(
            update(Sku).where(Sku.id == sku_id, Sku.stock >= quantity).values(stock=Sku.stock - quantity)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise InsufficientStock(f"Not enough stock for SKU {sku_id}.", errors={"sku_id": [sku_id]})
        movements.append(StockMovement(sku_id=sku_id, delta=-quantity, reason=reason, order_id=order_id,
                                       actor_id=actor_id, note=note))
    db.session.add_all(movements)  # after the UPDATEs (which would flush each one alone): one INSERT where batched


def release(lines: Iterable[tuple[int, int]], *, order_id: int | None, actor_id: int | None = None,
            reason: str = "order_released", note: str = "") -> None:
    """Give stock back (cancellation, expiry, failed payment); available to others once the caller's
    transaction commits (this does not commit)."""
    for sku_id, quantity in _merge(lines):
        db.session.execute(update(Sku).where(Sku.id == sku_id).values(stock=Sku.stock + quantity)
                           .execution_options(synchronize_session=False))
        db.session.add(StockMovement(sku_id=sku_id, delta=quantity, reason=reason, order_id=order_id,
                                     actor_id=actor_id, note=note))


def adjust(*, sku_id: int, delta: int, reason: str, note: str = "", actor_id: int | None = None) -> None:
    """A supplier's manual adjustment; never below zero (a concurrent sale may have taken the units). In the
    caller's transaction."""
    if delta < 0:
        reserve([(sku_id, -delta)], order_id=None, actor_id=actor_id, reason=reason, note=note)
    elif delta > 0:
        release([(sku_id, delta)], order_id=None, actor_id=actor_id, reason=reason, note=note)
