"""The money path's "done when", with the demo setup alone: the demo shopper buys from two demo suppliers,
pays at localstripe (the webhook it delivers marks the order paid), both demo owners ship and deliver, and
one supplier approves part of a quality claim, refunded at localstripe."""
from __future__ import annotations

import stripe
from sqlalchemy import select

from shop.catalog.models import Product, Sku
from shop.demo import DEMO_PASSWORD, load_demo_data
from shop.extensions import db
from shop.suppliers.models import Supplier
from tests.orders.factories import wait_for
from tests.support import ApiClient


def _sign_in(app, email: str) -> ApiClient:
    client = ApiClient(app.test_client())
    client.login(email, DEMO_PASSWORD)
    return client


def _sku_of(product_name: str) -> int:
    return db.session.scalar(select(Sku.id).join(Product).where(Product.name == product_name).order_by(Sku.id))


def test_demo_shopper_buys_from_two_suppliers_pays_receives_and_gets_a_partial_refund(app, stripe_webhooks):
    summary = load_demo_data()
    assert summary["products"] >= 10 and load_demo_data()["products"] == 0  # idempotent
    shopper = _sign_in(app, "shopper@demo.sanxia.test")
    wushan_owner = _sign_in(app, "coop@demo.sanxia.test")
    fengjie_owner = _sign_in(app, "fengjie@demo.sanxia.test")

    honey, orange = _sku_of("三峡白蜜"), _sku_of("奉节脐橙")
    # 脐橙 is on sale November to May; the flow must not depend on the month the suite runs in.
    orange_product = db.session.scalar(select(Product.id).join(Sku).where(Sku.id == orange))
    response = fengjie_owner.patch(f"/api/v1/products/{orange_product}", json={"sale_months": list(range(1, 13))})
    assert response.status_code == 200, response.json
    for sku in (honey, orange):
        response = shopper.post("/api/v1/cart/lines", json={"sku_id": sku, "quantity": 2})
        assert response.status_code == 201, response.json
    address = shopper.get("/api/v1/addresses").json[0]
    cart = shopper.get(f"/api/v1/cart?address_id={address['id']}").json
    assert len(cart["groups"]) == 2 and not cart["has_problems"]

    confirmations = [p["product_id"] for g in cart["groups"] for p in g["lines"]]
    response = shopper.post("/api/v1/checkout", json={"address_id": address["id"],
                                                      "return_confirmations": confirmations},
                            headers={"Idempotency-Key": "demo-order-1"})
    assert response.status_code == 201, response.json
    order, payment = response.json["order"], response.json["payment"]
    assert order["total_fen"] == cart["total_fen"] == payment["amount_fen"]
    assert len(order["fulfillments"]) == 2

    sc = stripe.StripeClient("sk_test_demo", base_addresses={"api": stripe_webhooks}, max_network_retries=0)
    sc.v1.payment_intents.update(payment["provider_ref"], params={"payment_method": "pm_card_visa"})
    sc.v1.payment_intents.confirm(payment["provider_ref"])
    assert wait_for(lambda: shopper.get(f"/api/v1/orders/{order['id']}").json["status"] == "paid")

    owners = {db.session.scalar(select(Supplier.id).where(Supplier.name.like("巫山县%"))): wushan_owner,
              db.session.scalar(select(Supplier.id).where(Supplier.name.like("奉节县%"))): fengjie_owner}
    for fulfillment in order["fulfillments"]:
        owner = owners[fulfillment["supplier_id"]]
        assert owner.post(f"/api/v1/fulfillments/{fulfillment['id']}/ship",
                          json={"carrier": "顺丰速运", "tracking_number": "SF20261129001"}).status_code == 200
        assert owner.post(f"/api/v1/fulfillments/{fulfillment['id']}/deliver").status_code == 200
    assert shopper.get(f"/api/v1/orders/{order['id']}").json["status"] == "delivered"

    orange_line = next(line for line in order["lines"] if line["sku_id"] == orange)
    response = shopper.post(f"/api/v1/orders/{order['id']}/refunds", json={
        "kind": "quality_claim", "reason": "一箱到货有坏果", "photo_urls": ["https://img.example.test/bad.jpg"],
        "items": [{"order_line_id": orange_line["id"], "quantity": 1}]})
    assert response.status_code == 201, response.json
    refund = response.json[0]
    decision = fengjie_owner.post(f"/api/v1/refunds/{refund['id']}/decision",
                                  json={"approve": True, "amount_fen": refund["amount_fen"] // 2,
                                        "note": "部分退款"})
    assert decision.status_code == 200, decision.json
    assert decision.json["status"] == "succeeded"

    final = shopper.get(f"/api/v1/orders/{order['id']}").json
    assert final["refund_status"] == "partial"
    assert final["refunded_fen"] == refund["amount_fen"] // 2
    refunds = sc.v1.refunds.list(params={"payment_intent": payment["provider_ref"]}).data
    assert [r.amount for r in refunds] == [refund["amount_fen"] // 2]
