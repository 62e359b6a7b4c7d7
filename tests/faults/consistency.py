"""What a fault must never leave behind, read back from the database (and localstripe) after the fact: shared by
the fault tests, whatever the fault was."""
from __future__ import annotations

from collections import Counter, defaultdict

import stripe
from sqlalchemy import select

from shop.catalog.models import Sku, StockMovement
from shop.extensions import db
from shop.orders.models import Order, OrderLine
from shop.payments.models import Payment

ORDER_REASONS = ("order_reserved", "order_released")


def stock_levels() -> dict[int, int]:
    levels = dict(db.session.execute(select(Sku.id, Sku.stock)).all())
    db.session.commit()
    return levels


def assert_orders_consistent(stock_before: dict[int, int]) -> Counter:
    """Every order has its lines and the stock reservation of exactly those lines (released once if cancelled),
    its totals are the sum of its lines; no reservation without its order; no SKU below zero; and each SKU's
    stock is what it was plus its stock history since. Returns the orders per status."""
    db.session.expire_all()
    orders = {o.id: o for o in db.session.scalars(select(Order))}
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in db.session.scalars(select(OrderLine)):
        lines[line.order_id].append(line)
    moved: dict[tuple[int, str], Counter] = defaultdict(Counter)  # (order, reason) -> units per SKU
    history: Counter = Counter()
    for movement in db.session.scalars(select(StockMovement)):
        history[movement.sku_id] += movement.delta
        if movement.reason in ORDER_REASONS:
            assert movement.order_id in orders, f"a {movement.reason} movement of missing order {movement.order_id}"
            moved[(movement.order_id, movement.reason)][movement.sku_id] += abs(movement.delta)
    for order_id, order in orders.items():
        assert lines[order_id], f"order {order_id} has no lines"
        assert order.subtotal_fen == sum(line.line_total_fen for line in lines[order_id]), order_id
        assert order.total_fen == order.subtotal_fen + order.shipping_fen - order.discount_fen, order_id
        ordered = Counter()
        for line in lines[order_id]:
            ordered[line.sku_id] += line.quantity
        assert moved[(order_id, "order_reserved")] == ordered, f"order {order_id}'s reservation"
        released = ordered if order.status == "cancelled" else Counter()
        assert moved[(order_id, "order_released")] == released, f"order {order_id} ({order.status}) released"
    levels = stock_levels()
    assert all(stock >= 0 for stock in levels.values()), levels
    assert {sku: levels[sku] - stock_before.get(sku, 0) for sku in levels} == \
        {sku: history[sku] for sku in levels}, "stock is not what its history says"
    statuses = Counter(order.status for order in orders.values())
    db.session.commit()
    return statuses


def intents_at(stripe_base: str) -> list:
    api = stripe.StripeClient("sk_test_suite", base_addresses={"api": stripe_base}, max_network_retries=0)
    return list(api.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter())


def assert_every_intent_has_its_payment(stripe_base: str, *, recorded: bool) -> list:
    """Every PaymentIntent at localstripe names (in its metadata) a payment row of its order; with
    `recorded`, that row also holds the intent's id, and no open card payment lacks one. Returns the intents."""
    intents = intents_at(stripe_base)
    db.session.expire_all()
    payments = {p.id: p for p in db.session.scalars(select(Payment).where(Payment.provider == "stripe"))}
    for intent in intents:
        payment = payments.get(int(intent.metadata["payment_id"]))
        assert payment is not None, f"{intent.id} has no payment row"
        assert str(payment.order_id) == intent.metadata["order_id"], intent.id
        if recorded:
            assert payment.provider_ref == intent.id, (intent.id, payment.provider_ref)
    if recorded:
        assert len({intent.id for intent in intents}) == len([p for p in payments.values() if p.provider_ref])
        assert [p.id for p in payments.values() if p.provider_ref is None and p.status == "pending"] == []
    db.session.commit()
    return intents
