"""The supplier side: each supplier sees and moves only its own part of paid orders, and the order's status
follows its fulfilments (some shipped → fulfilling, all shipped → shipped, all delivered → delivered)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from shop.extensions import db
from shop.orders.jobs import expire_unpaid_orders
from shop.orders.models import Fulfillment, Order
from shop.suppliers.services import add_member
from tests.orders.factories import (PRICE_A, SHIP, api_as, assert_fen_ints, fulfillment_of, load_order,
                                    paid_order, place, state)
from tests.support import make_user, assert_problem

FULFILLMENTS = "/api/v1/fulfillments"


@pytest.fixture
def order(world):
    """A paid order with one fulfilment at each supplier."""
    return paid_order(world, [(world.sku_a, 2), (world.sku_b, 1)])


@pytest.fixture
def owners(world):
    return api_as(world.owner_a), api_as(world.owner_b)


def test_a_supplier_sees_only_its_own_lines_and_the_shipping_address(world, order, owners):
    owner_a, owner_b = owners
    fa, fb = fulfillment_of(order, world.supplier_a), fulfillment_of(order, world.supplier_b)
    a_lines = {line["id"] for line in order["lines"] if line["supplier_id"] == world.supplier_a}
    b_lines = {line["id"] for line in order["lines"] if line["supplier_id"] == world.supplier_b}
    assert a_lines and b_lines

    page = owner_a.get(FULFILLMENTS).json
    assert [f["id"] for f in page["items"]] == [fa]
    assert assert_fen_ints(page) >= 4
    seen = page["items"][0]
    assert {line["id"] for line in seen["lines"]} == a_lines
    assert seen["order_id"] == order["id"] and seen["order_status"] == "paid"
    assert seen["shipping_address"]["recipient"] == "王五"
    assert seen["shipping_address"]["detail"] == "玄武大道 1 号"
    assert seen["subtotal_fen"] == 2 * PRICE_A
    # Nothing of the other supplier anywhere in what A receives.
    text = owner_a.get(f"{FULFILLMENTS}/{fa}").get_data(as_text=True)
    detail = owner_a.get(f"{FULFILLMENTS}/{fa}").json
    assert {line["id"] for line in detail["lines"]} == a_lines
    assert all(line["supplier_id"] == world.supplier_a for line in detail["lines"])
    assert "奉节脐橙" not in text
    assert "total_fen" not in detail  # the whole order's total is not a supplier's business

    assert [f["id"] for f in owner_b.get(FULFILLMENTS).json["items"]] == [fb]
    assert {line["id"] for line in owner_b.get(f"{FULFILLMENTS}/{fb}").json["lines"]} == b_lines


def test_another_supplier_cannot_see_ship_or_deliver_a_fulfilment(world, order, owners):
    _, owner_b = owners
    fa = fulfillment_of(order, world.supplier_a)
    before = state()
    assert_problem(owner_b.get(f"{FULFILLMENTS}/{fa}"), 404)
    assert_problem(owner_b.post(f"{FULFILLMENTS}/{fa}/ship", json=SHIP), 404)
    assert_problem(owner_b.post(f"{FULFILLMENTS}/{fa}/deliver"), 404)
    assert fa not in [f["id"] for f in owner_b.get(FULFILLMENTS).json["items"]]
    assert fa not in [f["id"] for f in owner_b.get(f"{FULFILLMENTS}?supplier_id={world.supplier_a}").json["items"]]
    # Nor can the buyer or a stranger.
    for client in (api_as(world.buyer), api_as(make_user())):
        assert_problem(client.get(f"{FULFILLMENTS}/{fa}"), 404)
        assert_problem(client.post(f"{FULFILLMENTS}/{fa}/ship", json=SHIP), 404)
        assert client.get(FULFILLMENTS).json["items"] == []
    assert state() == before


def test_a_staff_member_can_ship_for_the_supplier(world, order):
    staff = make_user()
    add_member(user=world.owner_a, supplier_id=world.supplier_a, email=staff.email, role="staff")
    fa = fulfillment_of(order, world.supplier_a)
    response = api_as(staff).post(f"{FULFILLMENTS}/{fa}/ship", json=SHIP)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "shipped"


def test_unpaid_orders_are_not_the_suppliers_business(world, owners):
    owner_a, _ = owners
    unpaid = place(api_as(world.buyer), world.address_id, [(world.sku_a, 1)])
    fa = fulfillment_of(unpaid, world.supplier_a)
    assert owner_a.get(FULFILLMENTS).json["items"] == []
    before = state()
    assert_problem(owner_a.get(f"{FULFILLMENTS}/{fa}"), 404)
    assert_problem(owner_a.post(f"{FULFILLMENTS}/{fa}/ship", json=SHIP), 404)
    assert state() == before


def test_an_unpaid_order_cancelled_or_expired_stays_hidden_from_suppliers(world, owners):
    """Never paid means never the supplier's business: its buyer's address must not leak after cancellation."""
    owner_a, _ = owners
    buyer = api_as(world.buyer)
    unpaid = place(buyer, world.address_id, [(world.sku_a, 1)])
    assert buyer.post(f"/api/v1/orders/{unpaid['id']}/cancel", json={}).status_code == 200
    abandoned = place(buyer, world.address_id, [(world.sku_a, 2)])
    db.session.execute(update(Order).where(Order.id == abandoned["id"])
                       .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)))
    db.session.commit()
    assert expire_unpaid_orders()["expired"] == 1
    assert owner_a.get(FULFILLMENTS).json["items"] == []
    assert owner_a.get(f"{FULFILLMENTS}?status=cancelled").json["items"] == []
    for never_paid in (unpaid, abandoned):
        assert_problem(owner_a.get(f"{FULFILLMENTS}/{fulfillment_of(never_paid, world.supplier_a)}"), 404)


def test_the_order_follows_its_fulfilments(world, order, owners):
    owner_a, owner_b = owners
    fa, fb = fulfillment_of(order, world.supplier_a), fulfillment_of(order, world.supplier_b)

    shipped = owner_a.post(f"{FULFILLMENTS}/{fa}/ship", json=SHIP)
    assert shipped.status_code == 200, shipped.json
    assert shipped.json["status"] == "shipped"
    assert shipped.json["carrier"] == SHIP["carrier"]
    assert shipped.json["tracking_number"] == SHIP["tracking_number"]
    assert shipped.json["shipped_at"] is not None
    assert shipped.json["order_status"] == "fulfilling"
    assert load_order(order["id"]).status == "fulfilling"  # B has not shipped yet

    assert owner_b.post(f"{FULFILLMENTS}/{fb}/ship", json=SHIP).json["order_status"] == "shipped"
    assert load_order(order["id"]).status == "shipped"

    delivered = owner_a.post(f"{FULFILLMENTS}/{fa}/deliver")
    assert delivered.status_code == 200
    assert delivered.json["status"] == "delivered" and delivered.json["delivered_at"] is not None
    assert load_order(order["id"]).status == "shipped"  # B's parcel is still on its way
    assert load_order(order["id"]).delivered_at is None

    assert owner_b.post(f"{FULFILLMENTS}/{fb}/deliver").status_code == 200
    final = load_order(order["id"])
    assert final.status == "delivered" and final.delivered_at is not None
    buyer_view = api_as(world.buyer).get(f"/api/v1/orders/{order['id']}").json
    assert {f["status"] for f in buyer_view["fulfillments"]} == {"delivered"}
    assert {f["tracking_number"] for f in buyer_view["fulfillments"]} == {SHIP["tracking_number"]}
    # Status filters on the supplier list.
    assert [f["id"] for f in owner_a.get(f"{FULFILLMENTS}?status=delivered").json["items"]] == [fa]
    assert owner_a.get(f"{FULFILLMENTS}?status=pending").json["items"] == []


def test_a_single_supplier_order_goes_straight_to_shipped(world):
    order = paid_order(world, [(world.sku_b, 1)])
    fb = fulfillment_of(order, world.supplier_b)
    assert api_as(world.owner_b).post(f"{FULFILLMENTS}/{fb}/ship", json=SHIP).json["order_status"] == "shipped"


def test_deliver_before_ship_is_an_illegal_transition(world, order, owners):
    owner_a, _ = owners
    fa = fulfillment_of(order, world.supplier_a)
    before = state()
    assert_problem(owner_a.post(f"{FULFILLMENTS}/{fa}/deliver"), 409, "illegal_fulfillment_transition")
    assert state() == before


def test_shipping_twice_is_refused(world, order, owners):
    owner_a, _ = owners
    fa = fulfillment_of(order, world.supplier_a)
    assert owner_a.post(f"{FULFILLMENTS}/{fa}/ship", json=SHIP).status_code == 200
    before = state()
    assert_problem(owner_a.post(f"{FULFILLMENTS}/{fa}/ship", json={"carrier": "EMS", "tracking_number": "EMS999999"}),
                   409, "illegal_fulfillment_transition")
    assert state() == before
    assert db.session.get(Fulfillment, fa).tracking_number == SHIP["tracking_number"]


def test_a_cancelled_orders_fulfilment_cannot_be_shipped(world, order, owners):
    owner_a, _ = owners
    fa = fulfillment_of(order, world.supplier_a)
    assert api_as(world.buyer).post(f"/api/v1/orders/{order['id']}/cancel", json={}).status_code == 200
    before = state()
    response = owner_a.post(f"{FULFILLMENTS}/{fa}/ship", json=SHIP)
    assert response.status_code in (404, 409), response.json
    assert response.mimetype == "application/problem+json"
    assert_problem(owner_a.post(f"{FULFILLMENTS}/{fa}/deliver"), response.status_code)
    assert state() == before
    assert load_order(order["id"]).status == "cancelled"


@pytest.mark.parametrize("body", [
    {"carrier": "顺丰速运", "tracking_number": "SF 123 456"},
    {"carrier": "顺丰速运", "tracking_number": "12345"},
    {"carrier": "顺丰速运", "tracking_number": "X" * 41},
    {"carrier": "顺丰速运", "tracking_number": "SF123456789<script>"},
    {"carrier": "顺丰速运", "tracking_number": 1234567890},
    {"carrier": "", "tracking_number": "SF1234567890"},
    {"tracking_number": "SF1234567890"},
    {"carrier": "顺丰速运"},
])
def test_bad_tracking_details_are_422(world, order, owners, body):
    owner_a, _ = owners
    fa = fulfillment_of(order, world.supplier_a)
    before = state()
    assert_problem(owner_a.post(f"{FULFILLMENTS}/{fa}/ship", json=body), 422)
    assert state() == before
