"""Payments tests: a supplier with products, buyers that call the API with Bearer tokens, signed Stripe events,
a Stripe client pointed at localstripe, and a helper that runs threads together. Checking out, counting rows,
stock, polling and confirming an intent are the order factories' (tests/orders/factories.py).

Reads in the test thread go through `read()`, which ends the transaction at once: on SQLite every transaction
starts with BEGIN IMMEDIATE (a write lock), so a test that kept one open would block the app's own requests,
the live server's webhooks and the job threads."""
from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field

import pytest
import stripe
from sqlalchemy import select

from shop.accounts.services import create_token
from shop.catalog.models import Product, Sku, StockMovement
from shop.extensions import db
from shop.orders.models import Order, OrderEvent
from shop.payments.models import Payment, ProcessedWebhookEvent
from tests.catalog.factories import make_product
from tests.orders.factories import checkout, count, make_address
from tests.suppliers.factories import make_supplier
from tests.support import ApiClient, make_user

WEBHOOK = "/api/v1/payments/stripe/webhook"
_event_seq = itertools.count(1)


# --- reading the database from the test thread -------------------------------------------------------------

def read(fn):
    """Run fn() in a short transaction of its own and end it (see the module docstring)."""
    try:
        return fn()
    finally:
        db.session.commit()


def scalar(stmt):
    return read(lambda: db.session.scalar(stmt))


def order_state(order_id: int) -> dict:
    return read(lambda: db.session.execute(
        select(Order.status, Order.flagged, Order.flag_reason, Order.paid_fen, Order.refunded_fen, Order.total_fen,
               Order.expires_at).where(Order.id == order_id)).one()._asdict())


def payment_state(order_id: int) -> dict:
    return read(lambda: db.session.execute(
        select(Payment.status, Payment.provider_ref, Payment.failure_code, Payment.received_fen,
               Payment.refunded_fen).where(Payment.order_id == order_id)).one()._asdict())


def sales_count(product_id: int) -> int:
    return scalar(select(Product.sales_count).where(Product.id == product_id).execution_options(
        populate_existing=True))


def events(order_id: int, type_: str) -> int:
    return count(OrderEvent, OrderEvent.order_id == order_id, OrderEvent.type == type_)


def movements(sku_id: int, reason: str) -> int:
    return count(StockMovement, StockMovement.sku_id == sku_id, StockMovement.reason == reason)


def processed(event_id: str | None = None, **where) -> int:
    conditions = [getattr(ProcessedWebhookEvent, k) == v for k, v in where.items()]
    if event_id is not None:
        conditions.append(ProcessedWebhookEvent.event_id == event_id)
    return count(ProcessedWebhookEvent, *conditions)


# --- catalog and buyers ------------------------------------------------------------------------------------

@dataclass
class Catalog:
    owner_id: int
    supplier_id: int
    product_id: int
    sku_ids: list[int]
    prices: dict[int, int] = field(default_factory=dict)


@pytest.fixture
def make_catalog():
    """make_catalog(stocks=[10, 15]) → one approved supplier, one active product with a SKU per stock figure."""

    def make(stocks=(100,), price_fen: int = 5990) -> Catalog:
        owner = make_user(display_name="合作社理事长")
        supplier = make_supplier(owner)
        skus = [{"spec": f"规格{i}", "unit": "箱", "weight_g": 2500, "price_fen": price_fen + i, "stock": stock}
                for i, stock in enumerate(stocks)]
        product = make_product(supplier, skus=skus)
        ids = read(lambda: list(db.session.scalars(select(Sku.id).where(Sku.product_id == product.id)
                                                   .order_by(Sku.id))))
        prices = {sku_id: price_fen + i for i, sku_id in enumerate(ids)}
        return Catalog(owner_id=owner.id, supplier_id=supplier.id, product_id=product.id, sku_ids=ids, prices=prices)

    return make


@dataclass
class Buyer:
    user_id: int
    email: str
    address_id: int
    token: str

    def client(self, app) -> ApiClient:
        """A client of its own (Flask test clients are not thread-safe) authenticated by the Bearer token."""
        api = ApiClient(app.test_client())
        api.token = self.token
        return api


@pytest.fixture
def make_buyer():
    def make() -> Buyer:
        user = make_user()
        address = make_address(user, recipient="张三", mobile="+8613812345678", region_code="500101",
                               detail="万州区高笋塘 1 号", postal_code=None)
        _, plain = create_token(user=user, name="tests")
        buyer = Buyer(user_id=user.id, email=user.email, address_id=address.id, token=plain)
        db.session.commit()
        return buyer

    return make


@pytest.fixture
def place(app, make_buyer):
    """place(catalog_or_sku_id, qty) → (buyer, checkout response JSON): an order through POST /checkout."""

    def do(sku_id: int, quantity: int = 1, buyer: Buyer | None = None):
        buyer = buyer or make_buyer()
        response = checkout(buyer.client(app), buyer.address_id, [(sku_id, quantity)])
        assert response.status_code == 201, response.json
        return buyer, response.json

    return do


# --- Stripe ------------------------------------------------------------------------------------------------

@pytest.fixture
def sc(stripe_server) -> stripe.StripeClient:
    """The buyer's side of Stripe (what Stripe.js would do), talking to the same localstripe as the app."""
    return stripe.StripeClient("sk_test_x", base_addresses={"api": stripe_server}, max_network_retries=0)


def intent_dict(sc: stripe.StripeClient, intent_id: str, **overrides) -> dict:
    """The PaymentIntent as Stripe would put it in an event's data.object."""
    data = sc.v1.payment_intents.retrieve(intent_id).to_dict()
    data.update(overrides)
    return data


def event_payload(obj: dict, type_: str = "payment_intent.succeeded", event_id: str | None = None) -> str:
    event_id = event_id or f"evt_test_{next(_event_seq)}_{int(time.time() * 1000)}"
    return json.dumps({"id": event_id, "object": "event", "type": type_, "api_version": "2026-10-28",
                       "created": int(time.time()), "livemode": False, "data": {"object": obj}}, default=str)


def signature(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<payload>")>."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


@pytest.fixture
def deliver(app, make_client):
    """deliver(payload, api=None, header=...) → response of POST /payments/stripe/webhook, signed with the app's
    secret unless a header (or None for no header) is given."""
    default = object()

    def post(payload: str, *, header=default, api: ApiClient | None = None):
        api = api or make_client()
        if header is default:
            header = signature(payload, app.config["STRIPE_WEBHOOK_SECRET"])
        headers = {"Content-Type": "application/json"}
        if header is not None:
            headers["Stripe-Signature"] = header
        return api.raw.post(WEBHOOK, data=payload.encode(), headers=headers)

    return post


# --- threads -----------------------------------------------------------------------------------------------

def run_together(targets: list, *, timeout: float = 240.0) -> list:
    """Start one thread per callable, released together by a barrier; join them all within `timeout` seconds
    (generous: 2 shared CPU cores) and assert that every one finished. Returns results in order; an exception
    raised in a thread is returned in its place."""
    db.session.commit()  # nothing of the test thread may hold a lock while the threads run
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)

    def run(i, target):
        try:
            barrier.wait(timeout=60)
            results[i] = target()
        except BaseException as error:  # noqa: BLE001 - reported to the test
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, t), daemon=True) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = sum(thread.is_alive() for thread in threads)
    assert alive == 0, f"{alive} of {len(threads)} threads still running after {timeout}s (deadlock?)"
    return results


def in_app_context(app, fn):
    """fn run in an application context of its own (what a job worker does)."""

    def run():
        with app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()

    return run
