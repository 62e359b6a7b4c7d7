"""Order-domain factories and helpers: a two-supplier shop, addresses, token clients, paying at localstripe,
and a snapshot of everything a failed request must leave untouched."""
from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
import stripe
from flask import current_app
from sqlalchemy import func, select

from shop.accounts.models import User
from shop.addresses import services as addresses
from shop.addresses.models import Address
from shop.cart.models import CartLine
from shop.catalog.models import Product, Sku, StockMovement
from shop.extensions import db
from shop.notifications.models import OutboxMessage
from shop.orders.models import Fulfillment, Order, OrderEvent, OrderLine
from shop.refunds.models import Refund, RefundPart
from shop.payments import services as payments
from shop.payments.models import Payment
from shop.suppliers import services as suppliers
from tests.catalog.factories import make_product
from tests.suppliers.factories import make_supplier
from tests.support import ApiClient, make_user, token_client

BUYER_COUNTY = "320102"  # 南京市玄武区 (→ 320100 南京市 → 320000 江苏省)
BUYER_PROVINCE = "320000"
SHIP = {"carrier": "顺丰速运", "tracking_number": "SF1234567890"}

PRICE_A, WEIGHT_A, STOCK_A = 5990, 2500, 100  # 巫山脆李 5斤装, cold chain, excluded_fresh
PRICE_B, WEIGHT_B, STOCK_B = 3000, 1200, 50  # 奉节脐橙 10斤装, seven_day


# --- clients --------------------------------------------------------------------------------------------------


api_as = token_client  # the order tests' name for it


def anonymous() -> ApiClient:
    return ApiClient(current_app.test_client())


def assert_fen_ints(value, path: str = "$") -> int:
    """Every *_fen value (nested anywhere) is an int, never a float, a bool or a string. Returns how many were
    checked, so a caller can assert the check was not vacuous."""
    checked = 0
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key.endswith("_fen") and item is not None:
                assert isinstance(item, int) and not isinstance(item, bool), f"{path}.{key} = {item!r}"
                checked += 1
            checked += assert_fen_ints(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            checked += assert_fen_ints(item, f"{path}[{index}]")
    return checked


# --- the shop -------------------------------------------------------------------------------------------------


def make_address(user, *, region_code: str = BUYER_COUNTY, **fields) -> Address:
    values = dict(recipient="王五", mobile="+8613900001111", region_code=region_code, detail="玄武大道 1 号",
                  postal_code="210000")
    values.update(fields)
    return addresses.create_address(user=user, **values)


def set_rule(owner, supplier_id: int, **fields):
    values = dict(base_fee_fen=0, base_weight_g=1000, per_extra_kg_fen=0, cold_chain_surcharge_fen=0,
                  free_over_fen=None, excluded_region_codes=[])
    values.update(fields)
    return suppliers.set_shipping_rule(user=owner, supplier_id=supplier_id, **values)


@dataclass
class World:
    buyer: User
    owner_a: User
    owner_b: User
    supplier_a: int
    supplier_b: int
    product_a: int
    product_b: int
    sku_a: int
    sku_b: int
    address_id: int


def make_world() -> World:
    buyer = make_user(display_name="南京买家", home_region_code=BUYER_COUNTY)
    owner_a = make_user(display_name="巫山合作社理事长")
    owner_b = make_user(display_name="奉节合作社理事长")
    supplier_a = make_supplier(owner_a, name="巫山脆李合作社", district_code="500237")
    supplier_b = make_supplier(owner_b, name="奉节脐橙合作社", district_code="500236")
    product_a = make_product(supplier_a, name="巫山脆李", cold_chain=True, return_policy="excluded_fresh",
                             skus=[{"spec": "5斤装 特级果", "unit": "箱", "weight_g": WEIGHT_A, "price_fen": PRICE_A,
                                    "stock": STOCK_A}])
    product_b = make_product(supplier_b, name="奉节脐橙", category="citrus", cold_chain=False,
                             return_policy="seven_day",
                             skus=[{"spec": "10斤装 中果", "unit": "箱", "weight_g": WEIGHT_B, "price_fen": PRICE_B,
                                    "stock": STOCK_B}])
    address = make_address(buyer)
    world = World(buyer=buyer, owner_a=owner_a, owner_b=owner_b, supplier_a=supplier_a.id,
                  supplier_b=supplier_b.id, product_a=product_a.id, product_b=product_b.id,
                  sku_a=sku_of(product_a.id), sku_b=sku_of(product_b.id), address_id=address.id)
    return world


def sku_of(product_id: int) -> int:
    return db.session.scalar(select(Sku.id).where(Sku.product_id == product_id).order_by(Sku.id))


def stock_of(sku_id: int) -> int:
    """The SKU's stock as committed now (the transaction is ended at once, as in count())."""
    db.session.expire_all()
    try:
        return db.session.scalar(select(Sku.stock).where(Sku.id == sku_id))
    finally:
        db.session.commit()


def load_order(order_id: int) -> Order:
    """The order with its lines and fulfilments, read fresh."""
    from shop.orders.services import load_order as load

    db.session.expire_all()
    return load(order_id)


def count(model, *where) -> int:
    """How many rows match, read in a transaction that is ended at once (on SQLite a transaction left open by
    the test thread would block the app's requests, webhooks and job threads)."""
    try:
        return db.session.scalar(select(func.count()).select_from(model).where(*where))
    finally:
        db.session.commit()


def checkout(client: ApiClient, address_id: int, items=None, *, key: str | None = None, **extra):
    body = {"address_id": address_id, **extra}
    if items is not None:
        body["items"] = [{"sku_id": sku_id, "quantity": quantity} for sku_id, quantity in items]
    headers = {"Idempotency-Key": key} if key else None
    return client.post("/api/v1/checkout", json=body, headers=headers)


def place(client: ApiClient, address_id: int, items, **extra) -> dict:
    """Check out `items` and return the order as the API gave it."""
    response = checkout(client, address_id, items, **extra)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["payment_error"] is None
    return response.json["order"]


def fulfillment_of(order: dict, supplier_id: int) -> int:
    return next(f["id"] for f in order["fulfillments"] if f["supplier_id"] == supplier_id)


# --- localstripe ----------------------------------------------------------------------------------------------


def stripe_api() -> stripe.StripeClient:
    return stripe.StripeClient(current_app.config["STRIPE_SECRET_KEY"],
                               base_addresses={"api": current_app.config["STRIPE_API_BASE"]},
                               max_network_retries=0)


def intent_ref(order_id: int) -> str:
    db.session.expire_all()
    ref = db.session.scalar(select(Payment.provider_ref).where(Payment.order_id == order_id))
    db.session.commit()
    assert ref, "the order has no PaymentIntent"
    return ref


def confirm_intent(intent_id: str, payment_method: str = "pm_card_visa", *, api: stripe.StripeClient | None = None):
    """What Stripe.js does in the buyer's browser: attach a test card to the PaymentIntent and confirm it at
    localstripe (set the method with update, then confirm). Returns the confirmed intent, whatever its status."""
    api = api or stripe_api()
    api.v1.payment_intents.update(intent_id, params={"payment_method": payment_method})
    return api.v1.payment_intents.confirm(intent_id)


def confirm_at_provider(order_id: int) -> str:
    """The buyer pays: the card is attached to the order's PaymentIntent and confirmed at localstripe."""
    ref = intent_ref(order_id)
    intent = confirm_intent(ref)
    assert intent.status == "succeeded"
    return ref


def pay(order_id: int) -> str:
    """Pay for real at localstripe, then apply it as the lost-webhook path does. Returns the intent id."""
    ref = confirm_at_provider(order_id)
    assert payments.reconcile_order(order_id=order_id) == "paid"
    return ref


def wait_for(predicate, *, timeout: float = 15.0, interval: float = 0.1, what: str = "condition"):
    """Poll predicate() (ending each read transaction, so other writers are never blocked) until it returns
    something truthy, and return that; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        value = predicate()
        db.session.commit()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def ship_and_deliver(world: World, order: dict, *, deliver: bool = True) -> None:
    for owner, supplier_id in ((world.owner_a, world.supplier_a), (world.owner_b, world.supplier_b)):
        fid = next((f["id"] for f in order["fulfillments"] if f["supplier_id"] == supplier_id), None)
        if fid is None:
            continue
        client = api_as(owner)
        assert client.post(f"/api/v1/fulfillments/{fid}/ship", json=SHIP).status_code == 200
        if deliver:
            assert client.post(f"/api/v1/fulfillments/{fid}/deliver").status_code == 200


def paid_order(world: World, items, client: ApiClient | None = None) -> dict:
    client = client or api_as(world.buyer)
    order = place(client, world.address_id, items)
    pay(order["id"])
    return order


def delivered_order(world: World, items, client: ApiClient | None = None) -> dict:
    order = paid_order(world, items, client)
    ship_and_deliver(world, order)
    return order


# --- "nothing changed" ------------------------------------------------------------------------------------------


def state() -> dict:
    """Everything a refused money-path request must leave as it was."""
    db.session.expire_all()

    def rows(stmt):
        return [tuple(row) for row in db.session.execute(stmt)]

    snapshot = {
        "orders": rows(select(Order.id, Order.status, Order.paid_fen, Order.refunded_fen, Order.total_fen,
                              Order.cancelled_at, Order.delivered_at, Order.completed_at).order_by(Order.id)),
        "lines": rows(select(OrderLine.id, OrderLine.refunded_fen).order_by(OrderLine.id)),
        "fulfillments": rows(select(Fulfillment.id, Fulfillment.status, Fulfillment.carrier,
                                    Fulfillment.tracking_number, Fulfillment.delivered_at).order_by(Fulfillment.id)),
        "payments": rows(select(Payment.id, Payment.status, Payment.provider_ref, Payment.refunded_fen)
                         .order_by(Payment.id)),
        "refunds": rows(select(Refund.id, Refund.status, Refund.amount_fen).order_by(Refund.id)),
        "events": count(OrderEvent),
        "movements": count(StockMovement),
        "stock": rows(select(Sku.id, Sku.stock).order_by(Sku.id)),
        "products": rows(select(Product.id, Product.sales_count).order_by(Product.id)),
        "cart": rows(select(CartLine.id, CartLine.sku_id, CartLine.quantity).order_by(CartLine.id)),
        "addresses": rows(select(Address.id, Address.user_id, Address.recipient, Address.mobile, Address.region_code,
                                 Address.detail, Address.is_default).order_by(Address.id)),
        "outbox": count(OutboxMessage),
    }
    db.session.commit()
    return snapshot


def provider_intents() -> list:
    return list(stripe_api().v1.payment_intents.list(params={"limit": 100}).data)


def provider_refunds(intent: str) -> list:
    return list(stripe_api().v1.refunds.list(params={"payment_intent": intent, "limit": 100}).data)


def refund_part_refs(refund_id: int) -> list[str | None]:
    """The provider refs of a refund's parts (a card refund's id at the provider), in part order."""
    return list(db.session.scalars(select(RefundPart.provider_ref).where(RefundPart.refund_id == refund_id)
                                   .order_by(RefundPart.id)))
