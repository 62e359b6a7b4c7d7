"""Placing an order: one transaction that snapshots prices, reserves stock and opens the payment.
The PaymentIntent is created after commit (a side effect must not run for a rolled-back order)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shop.addresses import services as addresses
from shop.cart import services as cart
from shop.cart.models import CartLine
from shop.catalog import stock
from shop.catalog.return_policies import NEEDS_CONFIRMATION, RETURN_NOTICES, confirmation_record
from shop.checkout.pricing import Quote, price_items
from shop.database import utcnow
from shop.errors import Conflict, PaymentProviderError, ShopError, ValidationFailed
from shop.extensions import db
from shop.fapiao import requests as fapiao_requests
from shop.orders import events, plans
from shop.orders.models import Fulfillment, Order, OrderLine
from shop.orders.services import load_order
from shop.orders.state import record
from shop.payments import services as payments
from shop.payments.gateway import ProviderUnavailable
from shop.payments.models import Payment
from shop.transaction import end_read, transaction
from shop.checkout import error_codes


@dataclass
class CheckoutResult:
    order: Order
    payment: Payment
    payment_error: str | None = None


def fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def existing_order(user_id: int, key: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.buyer_id == user_id, Order.idempotency_key == key))


def replay(order: Order, request_fingerprint: str) -> Order:
    if order.request_fingerprint != request_fingerprint:
        raise ValidationFailed("This Idempotency-Key was used for a different request.",
                               code=error_codes.IDEMPOTENCY_KEY_REUSED)
    return order


def _check_quote(quote: Quote, confirmations: set[int], *, payment_plan: str, deposit_fen: int) -> None:
    problem = plans.check(payment_plan, total_fen=quote.total_fen, deposit_fen=deposit_fen)
    if problem == "order_too_large":
        raise ValidationFailed("This order is larger than its payment plan can take; split it.",
                               code=error_codes.ORDER_TOO_LARGE)
    if problem:
        raise ValidationFailed("The deposit does not fit the payment plan.", code=problem,
                               errors={"deposit_fen": ["More than nothing and less than the total."]})
    check_lines(quote)
    needed = _needing_confirmation(quote)
    missing = sorted(needed - confirmations)
    if missing:
        raise ValidationFailed("Confirm that these products are not returnable without reason.",
                               code=error_codes.RETURN_CONFIRMATION_REQUIRED, errors={"return_confirmations": missing})


def item_pairs(items: list[dict]) -> list[tuple[int, int]]:
    """(sku_id, quantity) of a body's items, each SKU once (422 duplicate_sku)."""
    pairs = [(item["sku_id"], item["quantity"]) for item in items]
    if len({sku_id for sku_id, _ in pairs}) != len(pairs):
        raise ValidationFailed("Each SKU may appear once.", code=error_codes.DUPLICATE_SKU, errors={"items": ["duplicate"]})
    return pairs


# What each check of check_lines looks at; a caller that judges stock or season later leaves them out.
ALL_LINE_CHECKS = ("unavailable", "out_of_season", "quantity", "stock", "undeliverable")


def check_lines(quote: Quote, *, address_field: str = "address_id", checks=ALL_LINE_CHECKS) -> None:
    """Every line can be bought as quoted and every supplier delivers there, or the first reason why not
    (procurement places requisitions through the same checks)."""
    problems = {sku: kept for sku, found in quote.problems().items()
                if (kept := [p for p in found if p in checks])}
    if any("unavailable" in p for p in problems.values()):
        raise Conflict("Some items are no longer on sale.", code=error_codes.UNAVAILABLE,
                       errors={str(k): v for k, v in problems.items()})
    if any("out_of_season" in p for p in problems.values()):
        raise Conflict("Some items are out of season; a pre-sale campaign is the way to buy ahead.",
                       code=error_codes.OUT_OF_SEASON, errors={str(k): v for k, v in problems.items()})
    if any("quantity" in p for p in problems.values()):
        raise ValidationFailed("Some quantities break the minimum or the case size.", code=error_codes.INVALID_QUANTITY,
                               errors={str(k): v for k, v in problems.items()})
    if any("stock" in p for p in problems.values()):
        raise Conflict("Not enough stock.", code=error_codes.INSUFFICIENT_STOCK, errors={str(k): v for k, v in problems.items()})
    undeliverable = [g.supplier.id for g in quote.groups if g.undeliverable] if "undeliverable" in checks else []
    if undeliverable:
        raise ValidationFailed("Some suppliers do not deliver to this address.", code=error_codes.UNDELIVERABLE,
                               errors={address_field: [f"supplier {s}" for s in undeliverable]})


def _needing_confirmation(quote: Quote) -> set[int]:
    return {line.product.id for line in quote.lines if line.product.return_policy == NEEDS_CONFIRMATION}


def _check_wording(version: str | None) -> None:
    """The buyer may say which wording it read; if that is no longer the wording, it confirms again."""
    current = RETURN_NOTICES[NEEDS_CONFIRMATION]["version"]
    if version is not None and version != current:
        raise Conflict("The return notice changed since you read it; read it again and confirm.",
                       code=error_codes.RETURN_WORDING_CHANGED, errors={"return_wording_version": [current]})


def _check_unpaid_limit(user) -> None:
    """Unpaid orders hold stock: one account may not hold much of it by placing orders it never pays."""
    unpaid = db.session.scalar(select(func.count()).select_from(Order).where(
        Order.buyer_id == user.id, Order.status == "pending_payment"))
    if unpaid >= current_app.config["MAX_UNPAID_ORDERS"]:
        raise Conflict("Pay or cancel your unpaid orders first.", code=error_codes.TOO_MANY_UNPAID_ORDERS)


def place_order(*, user, address_id: int, items: list[dict] | None = None, return_confirmations: list[int] = (),
                return_wording_version: str | None = None, fapiao: dict | None = None, note: str = "",
                idempotency_key: str | None = None, payment_plan: str = "card", deposit_fen: int = 0) -> Order:
    """One order from the cart or from `items`. Retail buyers pay by card; the payment plan and deposit are
    for the channels built on top (pre-sale campaigns, institutional procurement)."""
    return _place_order(user=user, address_id=address_id, items=items, return_confirmations=return_confirmations,
                        return_wording_version=return_wording_version, fapiao=fapiao, note=note,
                        idempotency_key=idempotency_key, payment_plan=payment_plan, deposit_fen=deposit_fen)[0]


def _place_order(*, user, address_id: int, items: list[dict] | None = None, return_confirmations: list[int] = (),
                 return_wording_version: str | None = None, fapiao: dict | None = None, note: str = "",
                 idempotency_key: str | None = None, payment_plan: str = "card", deposit_fen: int = 0,
                 claim_payment: bool = False) -> tuple[Order, Payment | None]:
    """place_order(); with `claim_payment`, a new order's unit also opens its card payment claimed by the caller
    (checkout), and both come back as committed, kept loaded. A replayed order comes back with no payment."""
    body = {"address_id": address_id, "items": items, "return_confirmations": sorted(return_confirmations),
            "return_wording_version": return_wording_version, "fapiao": fapiao, "note": note}
    request_fingerprint = fingerprint(body)
    if idempotency_key:
        existing = existing_order(user.id, idempotency_key)
        if existing is not None:
            return replay(existing, request_fingerprint), None
    _check_wording(return_wording_version)
    try:
        return _place(user=user, address_id=address_id, items=items, return_confirmations=return_confirmations,
                      fapiao=fapiao, note=note, idempotency_key=idempotency_key,
                      request_fingerprint=request_fingerprint, payment_plan=payment_plan, deposit_fen=deposit_fen,
                      claim_payment=claim_payment)
    except (IntegrityError, ShopError):
        # A concurrent request with the same key may have won meanwhile: then its order is this request's
        # answer, whatever this one ran into (its unique key, or the cart and stock that order just consumed).
        end_read()
        existing = existing_order(user.id, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return replay(existing, request_fingerprint), None


def _place(*, user, address_id, items, return_confirmations, fapiao, note, idempotency_key, request_fingerprint,
           payment_plan, deposit_fen, claim_payment) -> tuple[Order, Payment | None]:
    address = addresses.get_address(user=user, address_id=address_id)
    _check_unpaid_limit(user)
    from_cart = items is None
    if from_cart:
        pairs = [(line.sku_id, line.quantity) for line in db.session.scalars(
            select(CartLine).where(CartLine.user_id == user.id).order_by(CartLine.id))]
        if not pairs:
            raise ValidationFailed("The cart is empty.", code=error_codes.EMPTY_CART)
    else:
        pairs = item_pairs(items)

    destination_codes, shipping_address = addresses.destination(address)  # one walk of the region chain
    quote = price_items(pairs, destination_codes=destination_codes)
    _check_quote(quote, set(return_confirmations), payment_plan=payment_plan, deposit_fen=deposit_fen)
    now = utcnow()
    # Card payments are confirmed in minutes; a transfer takes days and the operator cancels by hand.
    expires_at = None if payment_plan == "bank_transfer" else \
        now + dt.timedelta(minutes=current_app.config["UNPAID_ORDER_TTL_MINUTES"])
    # Kept loaded when checkout answers with the order and payment as committed (nothing is read back).
    with transaction(expire_on_commit=not claim_payment):
        order = _create_order(user=user, quote=quote, pairs=pairs, shipping_address=shipping_address, fapiao=fapiao,
                              note=note, return_confirmations=return_confirmations, idempotency_key=idempotency_key,
                              request_fingerprint=request_fingerprint, payment_plan=payment_plan,
                              deposit_fen=deposit_fen, now=now, expires_at=expires_at)
        return order, payments.open_claimed_card_payment(order) if claim_payment else None


def _create_order(*, user, quote: Quote, pairs, shipping_address, fapiao, note, return_confirmations,
                  idempotency_key, request_fingerprint, payment_plan, deposit_fen, now, expires_at) -> Order:
    order = write_order(quote, now=now, buyer_id=user.id, channel="retail", status="pending_payment",
                        payment_terms="prepaid", shipping_address=shipping_address,
                        buyer_region_code=user.home_region_code, fapiao=fapiao, note=note,
                        return_confirmations=[confirmation_record(product_id, confirmed_at=now) for product_id
                                              in sorted(_needing_confirmation(quote) & set(return_confirmations))],
                        idempotency_key=idempotency_key, request_fingerprint=request_fingerprint,
                        expires_at=expires_at, payment_plan=payment_plan, deposit_fen=deposit_fen)
    stock.reserve(pairs, order_id=order.id, actor_id=user.id)  # conditional UPDATEs, SKUs in id order
    record(order.id, events.PLACED, actor_id=user.id, total_fen=order.total_fen, payment_plan=payment_plan)
    fapiao_requests.open_for(order)
    cart.remove_purchased(user_id=user.id, sku_ids=[sku_id for sku_id, _ in pairs])  # bought: out of the cart
    return order


def write_order(quote: Quote, *, now, **fields) -> Order:
    """The order, its fulfilments (one per supplier) and its lines as the quote priced them, in the caller's
    unit of work; stock is the caller's (retail reserves at once, a requisition when it is approved). Built as
    one object graph and flushed once (an INSERT per table), its collections loaded."""
    order = Order(subtotal_fen=quote.subtotal_fen, shipping_fen=quote.shipping_fen, discount_fen=0,
                  total_fen=quote.total_fen, placed_at=now, **fields)
    for group in quote.groups:
        fulfillment = Fulfillment(order=order, supplier_id=group.supplier.id, subtotal_fen=group.subtotal_fen,
                                  shipping_fen=group.shipping_fen)
        for line in group.lines:
            product = line.product
            OrderLine(
                order=order, fulfillment=fulfillment, sku_id=line.sku_id, product_id=product.id,
                supplier_id=group.supplier.id, origin_district_code=product.origin_district_code,
                category_id=product.category_id, product_name=product.name, sku_spec=line.sku.spec,
                unit=line.sku.unit, weight_g=line.sku.weight_g, cold_chain=product.cold_chain,
                product_type=product.product_type, return_policy=product.return_policy,
                unit_price_fen=line.unit_price_fen, list_unit_price_fen=line.sku.price_fen,
                quantity=line.quantity, line_total_fen=line.line_total_fen)
    db.session.add(order)
    db.session.flush()
    order.number = f"SX{now:%Y%m%d}{order.id:08d}"
    return order


def checkout(**kwargs) -> CheckoutResult:
    order, payment = _place_order(**kwargs, claim_payment=True)
    if payment is not None:  # a new order, its card payment claimed in its unit: create the intent at once
        order_id, payment_id = order.id, payment.id
        try:
            return CheckoutResult(order=order, payment=payments.create_claimed_intent(order, payment))
        except ProviderUnavailable as error:  # 503 naming the order and its retry path (the order stands)
            raise payments.order_awaits_provider(load_order(order_id)) from error
        except PaymentProviderError as error:
            # The order stands with its stock held; the client retries POST /orders/{id}/payment. (Releasing the
            # claim committed and expired both: read them again.)
            return CheckoutResult(order=load_order(order_id), payment=db.session.get(Payment, payment_id),
                                  payment_error=error.detail)
    payment, payment_error = None, None
    if order.payment_plan != "bank_transfer":  # a replay: its payment as ensure_intent finds or makes it
        try:
            payment = payments.ensure_intent(order_id=order.id)
        except ProviderUnavailable as error:  # 503 naming the order and its retry path (the order stands)
            raise payments.order_awaits_provider(load_order(order.id)) from error
        except (PaymentProviderError, Conflict) as error:
            payment, payment_error = payments.card_payment(order.id, _due_kind(order.id)), error.detail
    return CheckoutResult(order=load_order(order.id), payment=payment, payment_error=payment_error)


def _due_kind(order_id: int) -> str:
    due = plans.due_part(load_order(order_id))
    return due.part.kind if due else "full"
