"""Checkout → payment at localstripe → the webhook localstripe itself delivers to the live app → paid.

Nothing in these tests calls the webhook handler: localstripe signs and POSTs the events to the app served on a
loopback port (stripe_webhooks fixture), about a second after the payment.
"""
from __future__ import annotations

import datetime as dt

import pytest
import stripe
from sqlalchemy import select

from shop.orders import jobs
from shop.refunds.models import Refund
from shop.payments.models import Payment
from tests.orders.factories import checkout, confirm_intent, count, stock_of, wait_for
from tests.payments.conftest import events, movements, order_state, payment_state, processed, sales_count, scalar


@pytest.fixture
def catalog(make_catalog):
    return make_catalog(stocks=[20, 5])


def test_checkout_pay_and_the_delivered_webhook_marks_the_order_paid(app, stripe_webhooks, sc, catalog, make_buyer):
    buyer = make_buyer()
    api = buyer.client(app)
    a, b = catalog.sku_ids

    response = checkout(api, buyer.address_id, [(a, 3), (b, 1)], key="e2e-1")

    assert response.status_code == 201, response.json
    order, payment = response.json["order"], response.json["payment"]
    assert order["status"] == "pending_payment"
    assert order["total_fen"] == 3 * catalog.prices[a] + catalog.prices[b]
    assert payment["status"] == "pending" and payment["client_secret"]
    intent = sc.v1.payment_intents.retrieve(payment["provider_ref"])
    assert (intent.amount, intent.currency, intent.status) == (order["total_fen"], "cny", "requires_payment_method")
    assert intent.metadata["order_id"] == str(order["id"])
    assert (stock_of(a), stock_of(b)) == (17, 4)

    confirmed = confirm_intent(payment["provider_ref"], api=sc)  # what Stripe.js does in the buyer's browser
    assert confirmed.status == "succeeded"

    def paid():
        body = api.get(f"/api/v1/orders/{order['id']}").json
        return body if body["status"] == "paid" else None

    body = wait_for(paid, timeout=10, interval=0.2, what="the payment_intent.succeeded webhook")

    assert body["paid_fen"] == order["total_fen"] and body["flagged"] is False
    # It was the webhook: a processed succeeded event whose outcome was "paid" (no job ran in this test).
    assert processed(event_type="payment_intent.succeeded", outcome="paid") == 1
    assert events(order["id"], "paid") == 1
    assert payment_state(order["id"])["status"] == "succeeded"
    assert sales_count(catalog.product_id) == 4
    assert (stock_of(a), stock_of(b)) == (17, 4)  # the reservation became the sale
    # Replaying the checkout request returns the same order and the same intent.
    replay = checkout(api, buyer.address_id, [(a, 3), (b, 1)], key="e2e-1")
    assert replay.status_code == 201
    assert replay.json["order"]["id"] == order["id"]
    assert replay.json["payment"]["provider_ref"] == payment["provider_ref"]
    assert count(Payment) == 1


def test_declined_card_keeps_the_order_pending_until_it_expires(app, stripe_webhooks, sc, catalog, make_buyer):
    buyer = make_buyer()
    api = buyer.client(app)
    sku = catalog.sku_ids[0]
    response = checkout(api, buyer.address_id, [(sku, 2)])
    assert response.status_code == 201, response.json
    order_id, intent_id = response.json["order"]["id"], response.json["payment"]["provider_ref"]

    with pytest.raises(stripe.CardError) as declined:
        confirm_intent(intent_id, "pm_card_chargeCustomerFail", api=sc)
    assert declined.value.code == "card_declined"

    # localstripe delivers payment_intent.payment_failed: the failure is recorded, the order may still be paid.
    wait_for(lambda: payment_state(order_id)["failure_code"], timeout=10, interval=0.2,
             what="the payment_intent.payment_failed webhook")
    assert payment_state(order_id)["failure_code"] == "card_declined"
    assert payment_state(order_id)["status"] == "pending"
    assert processed(event_type="payment_intent.payment_failed", outcome="failed") == 1
    assert api.get(f"/api/v1/orders/{order_id}").json["status"] == "pending_payment"
    assert events(order_id, "payment_failed") == 1
    assert stock_of(sku) == 18  # still held for the buyer
    assert movements(sku, "order_released") == 0

    expires_at = order_state(order_id)["expires_at"]
    assert jobs.expire_unpaid_orders(now=expires_at - dt.timedelta(seconds=1)) == {
        "expired": 0, "paid_meanwhile": 0, "expired_elsewhere": 0, "skipped": 0}  # not yet
    result = jobs.expire_unpaid_orders(now=expires_at + dt.timedelta(seconds=1))

    assert result == {"expired": 1, "paid_meanwhile": 0, "expired_elsewhere": 0, "skipped": 0}
    assert api.get(f"/api/v1/orders/{order_id}").json["status"] == "cancelled"
    assert stock_of(sku) == 20
    assert movements(sku, "order_released") == 1
    assert events(order_id, "expired") == 1
    assert sc.v1.payment_intents.retrieve(intent_id).status == "canceled"  # can no longer be paid
    assert payment_state(order_id)["status"] == "cancelled"
    assert count(Refund) == 0
    assert sales_count(catalog.product_id) == 0
    # The intent is closed: a late attempt to pay fails at Stripe, nothing reaches the order.
    with pytest.raises(stripe.StripeError):
        confirm_intent(intent_id, api=sc)
    assert scalar(select(Payment.status).where(Payment.order_id == order_id)) == "cancelled"
