"""Refunds after delivery: who may ask for what and when (七日无理由退货, fresh produce, photos), each supplier
deciding its own part, the money going back through localstripe, and never more than was paid."""
from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from shop.errors import Conflict
from shop.extensions import db
from shop.refunds import requests as refund_services
from shop.orders.models import Fulfillment, Order, OrderLine
from shop.refunds.models import Refund
from shop.orders import ledger
from shop.payments.models import Payment
from shop.suppliers.models import Supplier
from tests.catalog.factories import make_product
from tests.orders.factories import (PRICE_A, PRICE_B, api_as, assert_fen_ints, count,
                                    delivered_order, fulfillment_of, intent_ref, load_order, paid_order, pay, place,
                                    provider_refunds, refund_part_refs, set_rule, ship_and_deliver, sku_of,
                                    state)
from tests.support import make_user, assert_problem

CHINA = ZoneInfo("Asia/Shanghai")
PHOTO = ["https://img.example.test/bad-plum-1.jpg"]


def line_of(order: dict, sku_id: int) -> int:
    return next(line["id"] for line in order["lines"] if line["sku_id"] == sku_id)


def ask(client, order_id, kind, items, *, reason="有问题", photo_urls=None):
    body = {"kind": kind, "items": [{"order_line_id": line, "quantity": qty} for line, qty in items],
            "reason": reason}
    if photo_urls is not None:
        body["photo_urls"] = photo_urls
    return client.post(f"/api/v1/orders/{order_id}/refunds", json=body)


def decide(client, refund_id, approve=True, **extra):
    return client.post(f"/api/v1/refunds/{refund_id}/decision", json={"approve": approve, **extra})


@pytest.fixture
def delivered(world, buyer):
    """Delivered: 2 × 巫山脆李 (fresh, cold chain, supplier A) and 2 × 奉节脐橙 (seven_day, supplier B)."""
    return delivered_order(world, [(world.sku_a, 2), (world.sku_b, 2)], buyer)


# --- who may ask, and when ----------------------------------------------------------------------------------------


def test_refunds_are_asked_for_after_delivery_only(world, buyer):
    order = paid_order(world, [(world.sku_b, 2)], buyer)
    line = line_of(order, world.sku_b)
    paid = state()
    assert_problem(ask(buyer, order["id"], "no_reason_return", [(line, 1)]), 409, "not_delivered")
    assert state() == paid  # refused while paid: nothing changed
    ship_and_deliver(world, order, deliver=False)
    shipped = state()
    assert_problem(ask(buyer, order["id"], "quality_claim", [(line, 1)], photo_urls=PHOTO), 409, "not_delivered")
    assert state() == shipped  # refused while shipped: nothing changed
    unpaid = place(buyer, world.address_id, [(world.sku_b, 1)])
    placed = state()
    assert_problem(ask(buyer, unpaid["id"], "other", [(line_of(unpaid, world.sku_b), 1)]), 409, "not_delivered")
    assert state() == placed  # refused while unpaid: nothing changed


def test_fresh_produce_is_not_returnable_without_reason(world, buyer, delivered):
    before = state()
    problem = assert_problem(ask(buyer, delivered["id"], "no_reason_return", [(line_of(delivered, world.sku_a), 1)]),
                             409, "not_returnable")
    assert "巫山脆李" in problem["detail"]
    # One ineligible line refuses the whole request: nothing is created for the eligible one either.
    assert_problem(ask(buyer, delivered["id"], "no_reason_return", [(line_of(delivered, world.sku_b), 1),
                                                                     (line_of(delivered, world.sku_a), 1)]),
                   409, "not_returnable")
    assert state() == before


def test_a_confirmed_exclusion_is_not_returnable_without_reason(world, buyer):
    product = make_product(db.session.get(Supplier, world.supplier_b), name="定制礼盒", category="citrus",
                           return_policy="excluded_with_confirmation",
                           skus=[{"spec": "礼盒", "unit": "盒", "weight_g": 3000, "price_fen": 12800, "stock": 5}])
    sku = sku_of(product.id)
    order = place(buyer, world.address_id, [(sku, 1)], return_confirmations=[product.id])
    pay(order["id"])
    ship_and_deliver(world, order)
    assert_problem(ask(buyer, order["id"], "no_reason_return", [(line_of(order, sku), 1)]), 409, "not_returnable")


def test_seven_day_goods_are_returnable_without_reason(world, buyer, delivered):
    line = line_of(delivered, world.sku_b)
    response = ask(buyer, delivered["id"], "no_reason_return", [(line, 1)], reason="不想要了")
    assert response.status_code == 201, response.json
    [refund] = response.json
    assert assert_fen_ints(response.json) >= 2
    assert refund["status"] == "requested"
    assert refund["kind"] == "no_reason_return"
    assert refund["supplier_id"] == world.supplier_b
    assert refund["fulfillment_id"] == fulfillment_of(delivered, world.supplier_b)
    assert refund["amount_fen"] == PRICE_B
    assert refund["lines"] == [{"kind": "line", "order_line_id": line, "fulfillment_id": refund["fulfillment_id"],
                                "quantity": 1, "amount_fen": PRICE_B}]
    # Asking is not refunding.
    assert load_order(delivered["id"]).refunded_fen == 0
    assert provider_refunds(intent_ref(delivered["id"])) == []
    assert [r["id"] for r in buyer.get(f"/api/v1/orders/{delivered['id']}/refunds").json] == [refund["id"]]


def test_the_no_reason_window_is_seven_days_from_the_day_after_delivery(world, buyer, delivered):
    line = line_of(delivered, world.sku_b)
    fulfillment = db.session.get(Fulfillment, fulfillment_of(delivered, world.supplier_b))
    assert fulfillment.delivered_at is not None  # set by the deliver endpoint
    delivered_day = fulfillment.delivered_at.astimezone(CHINA).date()

    def request(today):
        return refund_services.request_refund(user=world.buyer, order_id=delivered["id"], kind="no_reason_return",
                                              items=[{"order_line_id": line, "quantity": 1}], reason="七天无理由",
                                              today=today)

    before = state()
    with pytest.raises(Conflict) as error:
        request(delivered_day + dt.timedelta(days=8))
    assert error.value.code == "return_window_closed"
    assert state() == before
    [refund] = request(delivered_day + dt.timedelta(days=7))
    assert refund.status == "requested" and refund.amount_fen == PRICE_B


def test_the_window_counts_days_in_china_time(world, buyer, delivered):
    """Signed for at 01:00 on 2 June in China (17:00 UTC on 1 June): day 7 is 9 June, 10 June is too late."""
    line = line_of(delivered, world.sku_b)
    db.session.execute(update(Fulfillment).where(Fulfillment.id == fulfillment_of(delivered, world.supplier_b))
                       .values(delivered_at=dt.datetime(2025, 6, 1, 17, 0, tzinfo=dt.timezone.utc)))
    db.session.commit()

    def request(day):
        return refund_services.request_refund(user=world.buyer, order_id=delivered["id"], kind="no_reason_return",
                                              items=[{"order_line_id": line, "quantity": 1}], reason="七天无理由",
                                              today=dt.date(2025, 6, day))

    with pytest.raises(Conflict) as error:
        request(10)
    assert error.value.code == "return_window_closed"
    assert request(9)[0].status == "requested"


def test_a_quality_claim_on_fresh_produce_needs_photos(world, buyer, delivered):
    line = line_of(delivered, world.sku_a)
    before = state()
    problem = assert_problem(ask(buyer, delivered["id"], "quality_claim", [(line, 1)], reason="烂果"), 422,
                             "photos_required")
    assert "photo_urls" in problem["errors"]
    assert_problem(ask(buyer, delivered["id"], "quality_claim", [(line, 1)], reason="烂果", photo_urls=[]), 422,
                   "photos_required")
    assert_problem(ask(buyer, delivered["id"], "quality_claim", [(line, 1)], photo_urls=["not-a-url"]), 422)
    assert state() == before
    response = ask(buyer, delivered["id"], "quality_claim", [(line, 1)], reason="烂果", photo_urls=PHOTO)
    assert response.status_code == 201
    assert response.json[0]["photo_urls"] == PHOTO
    # Not fresh, not cold chain: a quality claim on oranges of the seven_day kind needs no photo.
    assert ask(buyer, delivered["id"], "quality_claim", [(line_of(delivered, world.sku_b), 1)]).status_code == 201


def test_no_more_than_was_bought_and_only_lines_of_this_order(world, buyer, delivered):
    other = delivered_order(world, [(world.sku_b, 1)], buyer)
    before = state()
    problem = assert_problem(ask(buyer, delivered["id"], "other", [(line_of(delivered, world.sku_b), 3)]), 422,
                             "invalid_quantity")
    assert problem["errors"] == {"items.0.quantity": ["At most 2."]}
    assert_problem(ask(buyer, delivered["id"], "other", [(line_of(other, world.sku_b), 1)]), 422, "invalid_line")
    line = line_of(delivered, world.sku_b)
    assert_problem(ask(buyer, delivered["id"], "other", [(line, 1), (line, 1)]), 422)
    assert_problem(ask(buyer, delivered["id"], "other", [(line, 0)]), 422)
    assert_problem(ask(buyer, delivered["id"], "other", [(line, 1.5)]), 422)
    assert_problem(ask(buyer, delivered["id"], "refund_me", [(line, 1)]), 422)
    assert state() == before


def test_open_requests_count_against_what_is_left_on_a_line(world, buyer, delivered):
    line = line_of(delivered, world.sku_b)
    assert ask(buyer, delivered["id"], "other", [(line, 2)]).status_code == 201
    before = state()
    assert_problem(ask(buyer, delivered["id"], "other", [(line, 1)]), 409, "refund_exceeds_paid")
    assert state() == before


# --- deciding ------------------------------------------------------------------------------------------------------


def test_a_two_supplier_request_makes_one_refund_per_supplier_each_decided_by_its_own(world, buyer, delivered):
    line_a, line_b = line_of(delivered, world.sku_a), line_of(delivered, world.sku_b)
    response = ask(buyer, delivered["id"], "quality_claim", [(line_a, 1), (line_b, 2)], photo_urls=PHOTO)
    assert response.status_code == 201, response.json
    by_supplier = {r["supplier_id"]: r for r in response.json}
    assert set(by_supplier) == {world.supplier_a, world.supplier_b}
    refund_a, refund_b = by_supplier[world.supplier_a], by_supplier[world.supplier_b]
    assert refund_a["amount_fen"] == PRICE_A and refund_b["amount_fen"] == 2 * PRICE_B
    assert [i["order_line_id"] for i in refund_a["lines"]] == [line_a]

    owner_a, owner_b = api_as(world.owner_a), api_as(world.owner_b)
    before = state()
    assert_problem(decide(owner_b, refund_a["id"]), 404)
    assert_problem(decide(owner_a, refund_b["id"]), 404)
    assert_problem(decide(buyer, refund_a["id"]), 404)  # the buyer does not decide their own refund
    assert_problem(decide(api_as(make_user()), refund_a["id"]), 404)
    assert state() == before

    assert decide(owner_a, refund_a["id"]).json["status"] == "succeeded"
    assert decide(owner_b, refund_b["id"], approve=False, note="已签收无异常").json["status"] == "rejected"
    order = load_order(delivered["id"])
    assert order.refunded_fen == PRICE_A


def test_a_supplier_lists_only_its_own_refund_requests(world, buyer, delivered):
    line_a, line_b = line_of(delivered, world.sku_a), line_of(delivered, world.sku_b)
    asked = ask(buyer, delivered["id"], "quality_claim", [(line_a, 1), (line_b, 1)], photo_urls=PHOTO).json
    by_supplier = {r["supplier_id"]: r["id"] for r in asked}
    owner_a, owner_b = api_as(world.owner_a), api_as(world.owner_b)
    assert decide(owner_b, by_supplier[world.supplier_b], approve=False).status_code == 200
    # Filtered by status...
    assert [r["id"] for r in owner_a.get("/api/v1/refunds?status=requested").json["items"]] == [
        by_supplier[world.supplier_a]]
    assert owner_a.get("/api/v1/refunds?status=rejected").json["items"] == []
    assert [r["id"] for r in owner_b.get("/api/v1/refunds?status=rejected").json["items"]] == [
        by_supplier[world.supplier_b]]
    # ...and without a filter: the supplier's whole inbox, nobody else's.
    response = owner_a.get("/api/v1/refunds")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [r["id"] for r in response.json["items"]] == [by_supplier[world.supplier_a]]
    assert [r["id"] for r in owner_b.get("/api/v1/refunds").json["items"]] == [by_supplier[world.supplier_b]]
    assert api_as(world.buyer).get("/api/v1/refunds").json["items"] == []


def test_approving_moves_the_money_at_localstripe(world, buyer, delivered):
    line = line_of(delivered, world.sku_b)
    refund = ask(buyer, delivered["id"], "no_reason_return", [(line, 2)]).json[0]
    response = decide(api_as(world.owner_b), refund["id"], note="同意退货")
    assert response.status_code == 200, response.json
    decided = response.json
    assert assert_fen_ints(decided) >= 2
    assert decided["status"] == "succeeded"
    assert decided["amount_fen"] == 2 * PRICE_B
    assert decided["decision_note"] == "同意退货"
    stored = db.session.get(Refund, refund["id"])
    [at_provider] = provider_refunds(intent_ref(delivered["id"]))
    assert [at_provider.id] == refund_part_refs(stored.id)
    assert at_provider.amount == 2 * PRICE_B
    assert at_provider.metadata["refund_id"] == str(refund["id"])
    order = load_order(delivered["id"])
    assert order.refunded_fen == 2 * PRICE_B
    assert db.session.get(OrderLine, line).refunded_fen == 2 * PRICE_B
    assert db.session.scalar(select(Payment.refunded_fen).where(Payment.order_id == order.id)) == 2 * PRICE_B
    view = buyer.get(f"/api/v1/orders/{order.id}").json
    assert view["refunded_fen"] == 2 * PRICE_B and view["refund_status"] == "partial"


def test_a_partial_approval_refunds_less(world, buyer, delivered):
    line = line_of(delivered, world.sku_a)
    refund = ask(buyer, delivered["id"], "quality_claim", [(line, 2)], photo_urls=PHOTO).json[0]
    assert refund["amount_fen"] == 2 * PRICE_A
    decided = decide(api_as(world.owner_a), refund["id"], amount_fen=2500, note="部分坏果").json
    assert decided["status"] == "succeeded"
    assert decided["amount_fen"] == 2500
    assert sum(item["amount_fen"] for item in decided["lines"]) == 2500
    assert [r.amount for r in provider_refunds(intent_ref(delivered["id"]))] == [2500]
    assert load_order(delivered["id"]).refunded_fen == 2500
    assert db.session.get(OrderLine, line).refunded_fen == 2500


def test_approving_more_than_was_asked_is_422(world, buyer, delivered):
    refund = ask(buyer, delivered["id"], "other", [(line_of(delivered, world.sku_b), 1)]).json[0]
    before = state()
    assert_problem(decide(api_as(world.owner_b), refund["id"], amount_fen=PRICE_B + 1), 422, "refund_exceeds_request")
    assert_problem(decide(api_as(world.owner_b), refund["id"], amount_fen=0), 422)
    assert_problem(decide(api_as(world.owner_b), refund["id"], amount_fen=10.5), 422)
    assert_problem(decide(api_as(world.owner_b), refund["id"], approve="yes please"), 422)
    assert state() == before
    assert provider_refunds(intent_ref(delivered["id"])) == []


def test_deciding_twice_is_409(world, buyer, delivered):
    owner_b = api_as(world.owner_b)
    line = line_of(delivered, world.sku_b)
    approved = ask(buyer, delivered["id"], "other", [(line, 1)]).json[0]
    assert decide(owner_b, approved["id"]).status_code == 200
    rejected = ask(buyer, delivered["id"], "other", [(line, 1)]).json[0]
    assert decide(owner_b, rejected["id"], approve=False).status_code == 200
    before = state()
    for refund in (approved, rejected):
        assert_problem(decide(owner_b, refund["id"]), 409, "refund_already_decided")
        assert_problem(decide(owner_b, refund["id"], approve=False), 409, "refund_already_decided")
    assert state() == before
    assert len(provider_refunds(intent_ref(delivered["id"]))) == 1


def test_a_rejection_moves_no_money(world, buyer, delivered):
    refund = ask(buyer, delivered["id"], "other", [(line_of(delivered, world.sku_b), 1)]).json[0]
    decided = decide(api_as(world.owner_b), refund["id"], approve=False, note="不符合退货条件").json
    assert decided["status"] == "rejected" and decided["decision_note"] == "不符合退货条件"
    assert load_order(delivered["id"]).refunded_fen == 0
    assert provider_refunds(intent_ref(delivered["id"])) == []


def test_two_simultaneous_approvals_refund_once(world, buyer, delivered, monkeypatch):
    """Two clicks on "approve" at once (two staff, or a double submit) must not both move the money."""
    refund = ask(buyer, delivered["id"], "other", [(line_of(delivered, world.sku_b), 1)]).json[0]
    clients = [api_as(world.owner_b), api_as(world.owner_b)]
    for client in clients:  # first use of a token writes last_used_at: do it before the race
        assert client.get("/api/v1/fulfillments").status_code == 200
    barrier = threading.Barrier(2)
    original = ledger.reserve_refund

    def reserve_when_both_have_read(order_id, shares):
        # Both requests have read the refund as "requested" (where the database lets them run side by side).
        try:
            barrier.wait(timeout=3)
        except threading.BrokenBarrierError:
            pass  # SQLite: the other request waits for this one's transaction
        return original(order_id, shares)

    monkeypatch.setattr(ledger, "reserve_refund", reserve_when_both_have_read)
    results = [None, None]

    def run(index):
        response = decide(clients[index], refund["id"])
        results[index] = response.status_code

    db.session.commit()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [200, 409], results
    assert load_order(delivered["id"]).refunded_fen == PRICE_B
    assert [r.amount for r in provider_refunds(intent_ref(delivered["id"]))] == [PRICE_B]
    assert db.session.get(Refund, refund["id"]).status == "succeeded"


# --- never more than paid -----------------------------------------------------------------------------------------


def test_operator_refunds_never_exceed_what_was_paid(world, buyer, delivered):
    admin = api_as(make_user(admin=True))
    url = f"/api/v1/orders/{delivered['id']}/operator-refunds"
    paid = load_order(delivered["id"]).paid_fen
    assert paid == delivered["total_fen"] == 2 * PRICE_A + 2 * PRICE_B
    # A supplier refund first: 2 oranges.
    refund = ask(buyer, delivered["id"], "other", [(line_of(delivered, world.sku_b), 2)]).json[0]
    assert decide(api_as(world.owner_b), refund["id"]).json["status"] == "succeeded"
    left = paid - 2 * PRICE_B

    before = state()
    assert_problem(admin.post(url, json={"amount_fen": left + 1, "reason": "补偿"}), 409, "refund_exceeds_paid")
    assert_problem(admin.post(url, json={"amount_fen": paid, "reason": "补偿"}), 409, "refund_exceeds_paid")
    assert_problem(admin.post(url, json={"amount_fen": 0, "reason": "补偿"}), 422)
    assert_problem(admin.post(url, json={"amount_fen": 100.0, "reason": "补偿"}), 422)
    # Only platform admins: the buyer and the suppliers are told there is no such thing.
    for client in (buyer, api_as(world.owner_a), api_as(world.owner_b)):
        assert_problem(client.post(url, json={"amount_fen": 100, "reason": "补偿"}), 404)
    assert state() == before
    assert len(provider_refunds(intent_ref(delivered["id"]))) == 1

    response = admin.post(url, json={"amount_fen": 1000, "reason": "运费补偿"})
    assert response.status_code == 201, response.json
    assert response.json["status"] == "succeeded" and response.json["amount_fen"] == 1000
    response = admin.post(url, json={"amount_fen": left - 1000, "reason": "全额退款"})
    assert response.status_code == 201
    order = load_order(delivered["id"])
    assert order.refunded_fen == order.paid_fen == paid
    assert buyer.get(f"/api/v1/orders/{order.id}").json["refund_status"] == "full"
    assert sum(r.amount for r in provider_refunds(intent_ref(order.id))) == paid
    before = state()
    assert_problem(admin.post(url, json={"amount_fen": 1, "reason": "再退一分"}), 409, "refund_exceeds_paid")
    assert state() == before
    # A line already refunded in full cannot be asked for again.
    assert_problem(ask(buyer, order.id, "other", [(line_of(delivered, world.sku_b), 1)]), 409, "refund_exceeds_paid")
    # Nothing is left on the order: whether refused when asked or when decided, no more money moves.
    asked = ask(buyer, order.id, "quality_claim", [(line_of(delivered, world.sku_a), 1)], photo_urls=PHOTO)
    if asked.status_code == 201:
        assert_problem(decide(api_as(world.owner_a), asked.json[0]["id"]), 409, "refund_exceeds_paid")
    else:
        assert_problem(asked, 409, "refund_exceeds_paid")
    assert load_order(order.id).refunded_fen == paid
    assert sum(r.amount for r in provider_refunds(intent_ref(order.id))) == paid


def test_an_unpaid_order_cannot_be_refunded_by_an_operator(world, buyer):
    order = place(buyer, world.address_id, [(world.sku_b, 1)])
    before = state()
    assert_problem(api_as(make_user(admin=True)).post(f"/api/v1/orders/{order['id']}/operator-refunds",
                                                      json={"amount_fen": 1, "reason": "x"}), 409,
                   "refund_exceeds_paid")
    assert state() == before


# --- done when ----------------------------------------------------------------------------------------------------


def test_cart_to_a_paid_shipped_delivered_and_partly_refunded_two_supplier_order(world, client):
    """The whole path in a browser session (cookie + CSRF): cart, checkout, payment at localstripe, both
    suppliers ship and deliver, the buyer asks for two refunds, each supplier decides its own."""
    set_rule(world.owner_a, world.supplier_a, base_fee_fen=800, base_weight_g=1000, per_extra_kg_fen=300,
             cold_chain_surcharge_fen=500, free_over_fen=50000)
    set_rule(world.owner_b, world.supplier_b, base_fee_fen=1000, base_weight_g=2000, per_extra_kg_fen=200)
    client.login_as(world.buyer)
    assert client.post("/api/v1/cart/lines", json={"sku_id": world.sku_a, "quantity": 2}).status_code == 201
    assert client.post("/api/v1/cart/lines", json={"sku_id": world.sku_b, "quantity": 3}).status_code == 201
    cart = client.get(f"/api/v1/cart?address_id={world.address_id}").json
    assert cart["total_fen"] == 2 * PRICE_A + 3 * PRICE_B + (800 + 4 * 300 + 500) + (1000 + 2 * 200)

    # Without the CSRF header a cookie-authenticated checkout is refused.
    assert client.raw.post("/api/v1/checkout", json={"address_id": world.address_id}).status_code == 403
    result = client.post("/api/v1/checkout", json={"address_id": world.address_id},
                         headers={"Idempotency-Key": "full-flow-1"})
    assert result.status_code == 201, result.json
    order = result.json["order"]
    assert order["total_fen"] == cart["total_fen"]
    assert client.get("/api/v1/cart").json["groups"] == []

    intent = pay(order["id"])
    assert client.get(f"/api/v1/orders/{order['id']}").json["status"] == "paid"
    ship_and_deliver(world, order)
    view = client.get(f"/api/v1/orders/{order['id']}").json
    assert view["status"] == "delivered"
    assert view["paid_fen"] == order["total_fen"]

    line_a, line_b = line_of(order, world.sku_a), line_of(order, world.sku_b)
    asked = client.post(f"/api/v1/orders/{order['id']}/refunds", json={
        "kind": "quality_claim", "items": [{"order_line_id": line_a, "quantity": 1},
                                           {"order_line_id": line_b, "quantity": 1}],
        "reason": "一箱有压坏", "photo_urls": PHOTO})
    assert asked.status_code == 201, asked.json
    by_supplier = {r["supplier_id"]: r for r in asked.json}
    assert decide(api_as(world.owner_a), by_supplier[world.supplier_a]["id"], amount_fen=3000).json["status"] == \
        "succeeded"
    assert decide(api_as(world.owner_b), by_supplier[world.supplier_b]["id"]).json["status"] == "succeeded"

    final = client.get(f"/api/v1/orders/{order['id']}").json
    assert assert_fen_ints(final) >= 15
    assert final["status"] == "delivered"
    assert final["refunded_fen"] == 3000 + PRICE_B
    assert final["refund_status"] == "partial"
    assert final["paid_fen"] == final["total_fen"] == order["total_fen"]
    lines = {line["id"]: line for line in final["lines"]}
    assert lines[line_a]["refunded_fen"] == 3000 and lines[line_b]["refunded_fen"] == PRICE_B
    assert sorted(r.amount for r in provider_refunds(intent)) == sorted([3000, PRICE_B])
    refunds = client.get(f"/api/v1/orders/{order['id']}/refunds").json
    assert sorted((r["supplier_id"], r["status"], r["amount_fen"]) for r in refunds) == sorted(
        [(world.supplier_a, "succeeded", 3000), (world.supplier_b, "succeeded", PRICE_B)])
    assert count(Refund) == 2
    assert db.session.scalar(select(Order.refunded_fen).where(Order.id == order["id"])) == 3000 + PRICE_B
    assert client.post(f"/api/v1/orders/{order['id']}/confirm-receipt").json["status"] == "completed"
