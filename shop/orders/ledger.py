"""The order's money per line and per shipping fee, exact to the fen.

Every payment is spread over what is still unpaid of the order's lines and its fulfilments' shipping, and
every refund over what is paid and not yet refunded of them, both by largest remainder. So the net of each
line (and with it of each supplier and each origin district) is always `paid_fen - refunded_fen` of its rows,
and the rows add up to the order's totals. Every move is announced once, here, with its signed shares
(`signals.line_money_moved`): what other domains count per line (consumption-assistance attribution) follows
the money from the one place that moves it.

Everything here runs in the caller's transaction. The order row is updated first with a conditional UPDATE:
that is the check (never more than the total, never more than paid) and the lock that serialises the
concurrent payments and refunds of one order, so the item rows read after it are current.

Limits are net of refunds: what an item holds (paid - refunded) never exceeds its total, and a refund never
exceeds what was paid. So an order can shrink after a refund (a pre-sale pledge cut to its allocation) and
then take its balance up to the smaller total.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from shop.extensions import db
from shop.money import allocate_proportionally
from shop.orders.models import Fulfillment, Order, OrderLine
from shop.orders.signals import line_money_moved


@dataclass(frozen=True)
class Share:
    """An amount on one line (order_line_id) or on one fulfilment's shipping (order_line_id None)."""

    fulfillment_id: int
    order_line_id: int | None
    amount_fen: int
    quantity: int | None = None

    @property
    def kind(self) -> str:
        return "shipping" if self.order_line_id is None else "line"


@dataclass(frozen=True)
class _Item:
    fulfillment_id: int
    order_line_id: int | None
    total_fen: int
    paid_fen: int
    refunded_fen: int


def _items(order_id: int) -> list[_Item]:
    """Lines in id order, then each fulfilment's shipping: read fresh, never from the session's copies."""
    lines = db.session.execute(select(OrderLine.fulfillment_id, OrderLine.id, OrderLine.line_total_fen,
                                      OrderLine.paid_fen, OrderLine.refunded_fen)
                               .where(OrderLine.order_id == order_id).order_by(OrderLine.id))
    shipping = db.session.execute(select(Fulfillment.id, Fulfillment.shipping_fen, Fulfillment.shipping_paid_fen,
                                         Fulfillment.shipping_refunded_fen)
                                  .where(Fulfillment.order_id == order_id).order_by(Fulfillment.id))
    return [_Item(*row) for row in lines] + [_Item(row[0], None, *row[1:]) for row in shipping]


def _spread(items: list[_Item], amount_fen: int, weights: list[int]) -> list[Share]:
    shares = allocate_proportionally(amount_fen, weights)
    return [Share(item.fulfillment_id, item.order_line_id, share) for item, share in zip(items, shares) if share]


# (item kind, what) → (the column that counts it, the amount it may not exceed)
_COLUMNS = {
    ("line", "paid"): (OrderLine.paid_fen, OrderLine.line_total_fen + OrderLine.refunded_fen),
    ("line", "refunded"): (OrderLine.refunded_fen, OrderLine.paid_fen),
    ("shipping", "paid"): (Fulfillment.shipping_paid_fen, Fulfillment.shipping_fen + Fulfillment.shipping_refunded_fen),
    ("shipping", "refunded"): (Fulfillment.shipping_refunded_fen, Fulfillment.shipping_paid_fen),
}


def _row(share: Share):
    return (OrderLine, share.order_line_id) if share.kind == "line" else (Fulfillment, share.fulfillment_id)


def _add(share: Share, what: str) -> bool:
    """Add the share to its row's paid or refunded amount, if that stays within its limit."""
    model, row_id = _row(share)
    column, limit = _COLUMNS[share.kind, what]
    return db.session.execute(update(model).where(model.id == row_id, column + share.amount_fen <= limit)
                              .values({column.key: column + share.amount_fen})).rowcount == 1


def _subtract(share: Share, what: str) -> None:
    model, row_id = _row(share)
    column, _ = _COLUMNS[share.kind, what]
    db.session.execute(update(model).where(model.id == row_id).values({column.key: column - share.amount_fen}))


class LedgerConflict(Exception):
    """An item row refused an amount that the order row accepted: the rows disagree, which must not happen."""


def record_payment(order_id: int, amount_fen: int) -> list[Share] | None:
    """Count a payment as paid, spread over what is unpaid. None (and nothing written) when it would take the
    order past its total."""
    if db.session.execute(update(Order).where(Order.id == order_id,
                                              Order.paid_fen - Order.refunded_fen + amount_fen <= Order.total_fen)
                          .values(paid_fen=Order.paid_fen + amount_fen)).rowcount != 1:
        return None
    items = _items(order_id)
    shares = _spread(items, amount_fen, [i.total_fen - (i.paid_fen - i.refunded_fen) for i in items])
    for share in shares:
        if not _add(share, "paid"):
            raise LedgerConflict(f"order {order_id}: item refused its payment share")
    _moved(order_id, shares, "payment", 1)
    return shares


def refundable_shares(order_id: int, amount_fen: int | None = None) -> list[Share]:
    """`amount_fen` spread over what is paid and not refunded; None means all of it (a cancellation)."""
    items = _items(order_id)
    weights = [i.paid_fen - i.refunded_fen for i in items]
    return _spread(items, sum(weights) if amount_fen is None else min(amount_fen, sum(weights)), weights)


def line_first_shares(order_id: int, order_line_id: int, amount_fen: int, *, quantity: int) -> list[Share]:
    """`amount_fen` taken from one line's net paid first (as `quantity` units), the rest from the order's other
    items by what each holds: a pre-sale shortfall gives back the deposit of the units not allotted, which the
    deposit payment had spread over the line and the shipping. At most what the order holds."""
    items = _items(order_id)
    line = next(item for item in items if item.order_line_id == order_line_id)
    take = min(amount_fen, line.paid_fen - line.refunded_fen)
    shares = [Share(line.fulfillment_id, order_line_id, take, quantity)] if take else []
    others = [item for item in items if item is not line]
    weights = [item.paid_fen - item.refunded_fen for item in others]
    return shares + _spread(others, min(amount_fen - take, sum(weights)), weights)


def reserve_refund(order_id: int, shares: list[Share]) -> bool:
    """Count the shares as refunded if the order and every item have that much paid and not refunded.
    False when they have not: the caller raises, and its transaction rolls back what was counted."""
    amount = sum(s.amount_fen for s in shares)
    if amount <= 0 or db.session.execute(
            update(Order).where(Order.id == order_id, Order.refunded_fen + amount <= Order.paid_fen)
            .values(refunded_fen=Order.refunded_fen + amount)).rowcount != 1:
        return False
    if not all(_add(share, "refunded") for share in shares):
        return False
    _moved(order_id, shares, "refund", -1)
    return True


def release_refund(order_id: int, shares: list[Share]) -> None:
    """A refund that did not happen: its shares are refundable again."""
    amount = sum(s.amount_fen for s in shares)
    db.session.execute(update(Order).where(Order.id == order_id).values(refunded_fen=Order.refunded_fen - amount))
    for share in shares:
        _subtract(share, "refunded")
    _moved(order_id, shares, "refund_released", 1)


def _moved(order_id: int, shares: list[Share], source: str, sign: int) -> None:
    if shares:
        line_money_moved.send(order_id, source=source, shares=[
            Share(s.fulfillment_id, s.order_line_id, sign * s.amount_fen, s.quantity) for s in shares])


def scale(shares: list[Share], amount_fen: int) -> list[Share]:
    """The same shares scaled down to `amount_fen` in total (partial approval, partial failure), by largest
    remainder: each new share is at most the old one."""
    new = allocate_proportionally(amount_fen, [s.amount_fen for s in shares])
    return [Share(s.fulfillment_id, s.order_line_id, n, s.quantity) for s, n in zip(shares, new)]
