"""Money for every channel: orders paid in parts (bank transfers; a card deposit then a card balance), refunds
of every kind split over lines and shipping to the fen and drawn from the payments in the documented order,
and the bounds on both under concurrency. Orders of the non-retail plans are placed through the checkout
service (the channels that offer them come in later issues); everything else goes through the API."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from shop.checkout.services import place_order
from shop.extensions import db
from shop.orders.models import Order
from shop.payments import services as payments
from shop.payments.models import Payment
from tests.orders.factories import (PRICE_A, PRICE_B, api_as, load_order, provider_refunds,
                                    set_rule, stripe_api)
from tests.payments.conftest import run_together
from tests.orders.invariants import assert_exact
from tests.support import make_user, assert_problem

TODAY = dt.date.today().isoformat()


@pytest.fixture
def admin():
    return api_as(make_user(admin=True))


@pytest.fixture
def shipping(world):
    """Both suppliers charge shipping, so that refunds have shipping to split as well as lines."""
    set_rule(world.owner_a, world.supplier_a, base_fee_fen=1200)
    set_rule(world.owner_b, world.supplier_b, base_fee_fen=800)


def _place(world, plan: str, *, deposit_fen: int = 0, items=None) -> Order:
    items = items or [(world.sku_a, 3), (world.sku_b, 2)]
    order = place_order(user=world.buyer, address_id=world.address_id, payment_plan=plan, deposit_fen=deposit_fen,
                        items=[{"sku_id": sku, "quantity": qty} for sku, qty in items])
    return load_order(order.id)


def _transfer(admin, order_id: int, amount_fen: int, reference: str):
    return admin.post(f"/api/v1/orders/{order_id}/bank-transfers",
                      json={"amount_fen": amount_fen, "value_date": TODAY, "reference": reference})


def _parts(refund: dict) -> list[tuple[str, int, str]]:
    return [(p["provider"], p["amount_fen"], p["status"]) for p in refund["parts"]]


# --- bank transfers ------------------------------------------------------------------------------------------

def test_an_order_paid_by_two_transfers_then_refunded_by_an_operator_and_by_cancellation(world, shipping, admin):
    order = _place(world, "bank_transfer")
    total = order.total_fen
    assert order.expires_at is None and order.payment_plan == "bank_transfer"
    first = _transfer(admin, order.id, total // 3, "CMB20261202-0001")
    assert first.status_code == 201, first.json
    assert first.json["provider"] == "bank_transfer" and first.json["status"] == "succeeded"
    body = api_as(world.buyer).get(f"/api/v1/orders/{order.id}").json
    assert (body["status"], body["paid_fen"], body["due_fen"]) == ("pending_payment", total // 3, total - total // 3)
    assert_exact(order.id)

    second = _transfer(admin, order.id, total - total // 3, "CMB20261203-0002")
    assert second.status_code == 201, second.json
    body = api_as(world.buyer).get(f"/api/v1/orders/{order.id}").json
    assert (body["status"], body["paid_fen"], body["due_fen"]) == ("paid", total, 0)
    # Every line and shipping fee is paid in full once the transfers add up to the total.
    assert all(line["paid_fen"] == line["line_total_fen"] for line in body["lines"])
    assert all(f["shipping_paid_fen"] == f["shipping_fen"] for f in body["fulfillments"])
    assert [p["amount_fen"] for p in api_as(world.buyer).get(f"/api/v1/orders/{order.id}/payments").json] == \
        [total // 3, total - total // 3]

    # An odd amount, so that the split over two lines and two shipping fees needs the largest remainders.
    refund = admin.post(f"/api/v1/orders/{order.id}/operator-refunds", json={"amount_fen": 1001, "reason": "破损补偿"})
    assert refund.status_code == 201, refund.json
    refund = refund.json
    assert refund["status"] == "awaiting_transfer" and refund["refunded_fen"] == 1001
    assert sum(l["amount_fen"] for l in refund["lines"]) == 1001
    assert {l["kind"] for l in refund["lines"]} == {"line", "shipping"}
    # Transfers only: newest first, so it all comes from the second transfer.
    assert _parts(refund) == [("bank_transfer", 1001, "awaiting_transfer")]
    assert_exact(order.id)

    sent = admin.post(f"/api/v1/refunds/{refund['id']}/transfers",
                      json={"part_id": refund["parts"][0]["id"], "value_date": TODAY, "reference": "CMB-RF-0001"})
    assert sent.status_code == 200, sent.json
    assert sent.json["status"] == "succeeded" and sent.json["parts"][0]["provider_ref"] == "CMB-RF-0001"
    again = admin.post(f"/api/v1/refunds/{refund['id']}/transfers",
                       json={"part_id": refund["parts"][0]["id"], "value_date": TODAY, "reference": "CMB-RF-0002"})
    assert_problem(again, 409, "refund_part_not_awaiting_transfer")

    cancelled = api_as(world.buyer).post(f"/api/v1/orders/{order.id}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["refunded_fen"] == total and cancelled.json["refund_status"] == "full"
    [cancellation] = [r for r in api_as(world.buyer).get(f"/api/v1/orders/{order.id}/refunds").json
                      if r["kind"] == "cancellation"]
    assert cancellation["refunded_fen"] == total - 1001
    # What is left of the second transfer first, then the first transfer.
    assert _parts(cancellation) == [("bank_transfer", total - total // 3 - 1001, "awaiting_transfer"),
                                    ("bank_transfer", total // 3, "awaiting_transfer")]
    net = assert_exact(order.id)
    assert set(net.values()) == {0}  # every district's net is back to nothing


def test_a_transfer_that_would_overpay_is_refused_and_nothing_is_recorded(world, admin):
    order = _place(world, "bank_transfer")
    assert _transfer(admin, order.id, order.total_fen - 100, "ICBC-0001").status_code == 201
    too_much = _transfer(admin, order.id, 101, "ICBC-0002")
    body = assert_problem(too_much, 422, "overpayment")
    assert body["errors"]["amount_fen"] == ["At most 100."]
    assert load_order(order.id).paid_fen == order.total_fen - 100
    assert db.session.scalar(select(Payment.id).where(Payment.provider_ref == "ICBC-0002")) is None
    assert_problem(_transfer(admin, order.id, 50, "ICBC-0001"), 409, "duplicate_bank_reference")
    assert _transfer(admin, order.id, 100, "ICBC-0003").status_code == 201
    assert_problem(_transfer(admin, order.id, 1, "ICBC-0004"), 409, "order_not_payable")
    assert_exact(order.id)


def test_only_operators_record_transfers_and_only_for_transfer_orders(world, admin):
    order = _place(world, "bank_transfer")
    assert_problem(_transfer(api_as(world.buyer), order.id, 100, "ABC-0001"), 404)
    assert_problem(_transfer(api_as(world.owner_a), order.id, 100, "ABC-0001"), 404)
    card = _place(world, "card", items=[(world.sku_b, 1)])
    assert_problem(_transfer(admin, card.id, 100, "ABC-0001"), 409, "not_transfer_payable")
    bad = admin.post(f"/api/v1/orders/{order.id}/bank-transfers",
                     json={"amount_fen": 2.5, "value_date": "2999-01-01", "reference": "x"})
    body = assert_problem(bad, 422)
    assert set(body["errors"]) == {"amount_fen", "value_date", "reference"}
    assert load_order(order.id).paid_fen == 0


def test_concurrent_transfers_never_pay_more_than_the_total(world, admin):
    order = _place(world, "bank_transfer")
    order_id, part = order.id, order.total_fen // 4 + 1  # four of these are more than the total: three fit
    clients = [api_as(make_user(admin=True)) for _ in range(6)]
    results = run_together([lambda c=c, i=i: _transfer(c, order_id, part, f"RACE-{i:04d}").status_code
                            for i, c in enumerate(clients)])
    assert sorted(results) == [201, 201, 201, 422, 422, 422], results
    assert load_order(order_id).paid_fen == 3 * part
    assert_exact(order_id)


def test_concurrent_operator_refunds_never_refund_more_than_was_paid(world, shipping, admin):
    order = _place(world, "bank_transfer")
    order_id, part = order.id, order.total_fen // 3 + 1  # three of these are more than was paid: two fit
    assert _transfer(admin, order_id, order.total_fen, "BOC-0001").status_code == 201
    clients = [api_as(make_user(admin=True)) for _ in range(5)]
    results = run_together([lambda c=c: c.post(f"/api/v1/orders/{order_id}/operator-refunds",
                                               json={"amount_fen": part, "reason": "并发"}).status_code
                            for c in clients])
    assert sorted(results) == [201, 201, 409, 409, 409], results
    assert load_order(order_id).refunded_fen == 2 * part
    assert_exact(order_id)


# --- deposit, then balance ------------------------------------------------------------------------------------

def _pay_due_part(world, order_id: int, *, expect: str) -> dict:
    """The buyer opens the part now due, pays it at localstripe, and the reconcile path applies it."""
    payment = api_as(world.buyer).post(f"/api/v1/orders/{order_id}/payment")
    assert payment.status_code == 200, payment.json
    api = stripe_api()
    api.v1.payment_intents.update(payment.json["provider_ref"], params={"payment_method": "pm_card_visa"})
    assert api.v1.payment_intents.confirm(payment.json["provider_ref"]).status == "succeeded"
    assert payments.reconcile_order(order_id=order_id) == expect
    return payment.json


def test_a_deposit_then_a_balance_then_refunds_back_through_both_cards(world, shipping, admin):
    items = [(world.sku_a, 2), (world.sku_b, 1)]
    total = 2 * PRICE_A + PRICE_B + 1200 + 800
    deposit = total // 5  # 20%
    order = _place(world, "deposit_balance", deposit_fen=deposit, items=items)
    assert order.total_fen == total

    first = _pay_due_part(world, order.id, expect="deposit_paid")
    assert (first["kind"], first["amount_fen"]) == ("deposit", deposit)
    body = api_as(world.buyer).get(f"/api/v1/orders/{order.id}").json
    assert (body["status"], body["paid_fen"], body["due_fen"]) == ("deposit_paid", deposit, total - deposit)
    assert_exact(order.id)
    # A deposit-paid order is not the suppliers' business yet (nothing to ship until the balance is in).
    assert api_as(world.owner_a).get("/api/v1/fulfillments").json["items"] == []

    second = _pay_due_part(world, order.id, expect="paid")
    assert (second["kind"], second["amount_fen"]) == ("balance", total - deposit)
    assert second["provider_ref"] != first["provider_ref"]
    assert load_order(order.id).status == "paid"
    # Paying again finds nothing due and returns the last intent.
    assert api_as(world.buyer).post(f"/api/v1/orders/{order.id}/payment").json["id"] == second["id"]

    refund = admin.post(f"/api/v1/orders/{order.id}/operator-refunds",
                        json={"amount_fen": total - deposit + 7, "reason": "跨两笔支付"}).json
    # Newest card first: all of the balance, then 7 fen of the deposit, each back at its own intent.
    assert refund["status"] == "succeeded"
    assert _parts(refund) == [("stripe", total - deposit, "succeeded"), ("stripe", 7, "succeeded")]
    assert [r.amount for r in provider_refunds(second["provider_ref"])] == [total - deposit]
    assert [r.amount for r in provider_refunds(first["provider_ref"])] == [7]
    assert_exact(order.id)

    cancelled = api_as(world.buyer).post(f"/api/v1/orders/{order.id}/cancel", json={})
    assert cancelled.status_code == 200 and cancelled.json["refunded_fen"] == total
    assert sorted(r.amount for r in provider_refunds(first["provider_ref"])) == sorted([7, deposit - 7])
    assert set(assert_exact(order.id).values()) == {0}


def test_a_deposit_paid_order_cancelled_gives_back_exactly_the_deposit_line_by_line(world, shipping):
    order = _place(world, "deposit_balance", deposit_fen=1001, items=[(world.sku_a, 1), (world.sku_b, 3)])
    payment = _pay_due_part(world, order.id, expect="deposit_paid")
    paid = api_as(world.buyer).get(f"/api/v1/orders/{order.id}").json
    # The deposit is spread over lines and shipping in proportion to what each costs, to the fen.
    assert sum(l["paid_fen"] for l in paid["lines"]) + sum(f["shipping_paid_fen"] for f in paid["fulfillments"]) \
        == 1001
    cancelled = api_as(world.buyer).post(f"/api/v1/orders/{order.id}/cancel", json={}).json
    assert cancelled["status"] == "cancelled" and cancelled["refunded_fen"] == 1001
    assert [r.amount for r in provider_refunds(payment["provider_ref"])] == [1001]
    assert all(l["refunded_fen"] == l["paid_fen"] for l in cancelled["lines"])
    assert set(assert_exact(order.id).values()) == {0}


def test_a_deposit_must_be_less_than_the_total(world):
    from shop.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as error:
        _place(world, "deposit_balance", deposit_fen=0)
    assert error.value.code == "invalid_deposit"
    with pytest.raises(ValidationFailed):
        _place(world, "card", deposit_fen=100)
    assert db.session.scalar(select(Order.id)) is None


def test_the_reconcile_job_covers_deposit_and_balance_intents(world):
    from shop.orders.jobs import reconcile_pending_payments

    order = _place(world, "deposit_balance", deposit_fen=500, items=[(world.sku_b, 1)])
    payment = api_as(world.buyer).post(f"/api/v1/orders/{order.id}/payment").json
    api = stripe_api()
    api.v1.payment_intents.update(payment["provider_ref"], params={"payment_method": "pm_card_visa"})
    api.v1.payment_intents.confirm(payment["provider_ref"])
    assert reconcile_pending_payments(older_than=dt.timedelta(seconds=-60)) == {"deposit_paid": 1}
    balance = api_as(world.buyer).post(f"/api/v1/orders/{order.id}/payment").json
    assert balance["kind"] == "balance" and balance["amount_fen"] == PRICE_B - 500
    api.v1.payment_intents.update(balance["provider_ref"], params={"payment_method": "pm_card_visa"})
    api.v1.payment_intents.confirm(balance["provider_ref"])
    assert reconcile_pending_payments(older_than=dt.timedelta(seconds=-60)) == {"paid": 1}
    assert reconcile_pending_payments(older_than=dt.timedelta(seconds=-60)) == {}
    assert load_order(order.id).status == "paid"
    assert_exact(order.id)


def _webhook(app, intent_id: str, **overrides):
    """A signed payment_intent.succeeded event carrying the intent as localstripe has it (overrides applied)."""
    from tests.orders.factories import anonymous
    from tests.payments.conftest import event_payload, signature

    obj = stripe_api().v1.payment_intents.retrieve(intent_id).to_dict()
    obj.update(overrides)
    payload = event_payload(obj)
    return anonymous().raw.post("/api/v1/payments/stripe/webhook", data=payload.encode(),
                                headers={"Content-Type": "application/json",
                                         "Stripe-Signature": signature(payload, app.config["STRIPE_WEBHOOK_SECRET"])})


def _confirm(intent_id: str) -> None:
    api = stripe_api()
    api.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    assert api.v1.payment_intents.confirm(intent_id).status == "succeeded"


def test_webhooks_move_a_deposit_order_to_deposit_paid_then_to_paid(app, world):
    order = _place(world, "deposit_balance", deposit_fen=600, items=[(world.sku_b, 1)])
    deposit = api_as(world.buyer).post(f"/api/v1/orders/{order.id}/payment").json
    _confirm(deposit["provider_ref"])
    assert _webhook(app, deposit["provider_ref"]).json["outcome"] == "deposit_paid"
    assert _webhook(app, deposit["provider_ref"]).json["outcome"] == "already_applied"  # another event id
    assert load_order(order.id).status == "deposit_paid"
    balance = api_as(world.buyer).post(f"/api/v1/orders/{order.id}/payment").json
    _confirm(balance["provider_ref"])
    assert _webhook(app, balance["provider_ref"]).json["outcome"] == "paid"
    assert (load_order(order.id).status, load_order(order.id).paid_fen) == ("paid", PRICE_B)
    assert_exact(order.id)


def test_a_deposit_event_for_another_amount_is_flagged_on_its_payment_and_pays_nothing(app, world):
    order = _place(world, "deposit_balance", deposit_fen=600, items=[(world.sku_b, 1)])
    deposit = api_as(world.buyer).post(f"/api/v1/orders/{order.id}/payment").json
    _confirm(deposit["provider_ref"])
    response = _webhook(app, deposit["provider_ref"], amount=PRICE_B)  # the whole price, not the deposit
    assert response.json["outcome"] == "flagged_amount_mismatch"
    [payment] = api_as(world.buyer).get(f"/api/v1/orders/{order.id}/payments").json
    assert payment["status"] == "amount_mismatch" and payment["flag_reason"]
    reloaded = load_order(order.id)
    assert (reloaded.status, reloaded.paid_fen, reloaded.flagged) == ("pending_payment", 0, True)
    assert_exact(order.id)
