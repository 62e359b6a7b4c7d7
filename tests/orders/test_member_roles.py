"""Member roles of a supplier (shop.suppliers.roles): staff list and ship, managers also handle stock, prices,
shipping rules and refunds, owners also manage members. A too-low role is 403 role_required naming the role; a
non-member still gets 404."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from shop.catalog.models import Sku
from shop.extensions import db
from shop.notifications.models import OutboxMessage
from shop.suppliers.models import SupplierMember
from shop.suppliers.roles import PERMISSIONS, ROLE_ORDER, allows
from shop.suppliers.services import add_member
from tests.orders.factories import api_as, delivered_order, fulfillment_of, paid_order, set_rule
from tests.support import assert_problem, make_user

API = "/api/v1"
RULE = {"base_fee_fen": 800, "base_weight_g": 1000, "per_extra_kg_fen": 200}


def member(world, role: str):
    user = make_user()
    add_member(user=world.owner_a, supplier_id=world.supplier_a, email=user.email, role=role)
    return user


def assert_needs(response, role: str):
    body = assert_problem(response, 403, "role_required")
    assert body["required_role"] == role and role in body["detail"]


def test_every_action_names_a_known_role_and_higher_roles_may_do_more():
    assert set(PERMISSIONS.values()) <= set(ROLE_ORDER)
    for action in PERMISSIONS:
        allowed = [allows(role, action) for role in ROLE_ORDER]
        assert allowed == sorted(allowed)  # once a role may, every higher one may too
        assert allows("owner", action) and not allows(None, action)


def test_staff_list_and_edit_but_not_stock_prices_or_shipping_rules(world):
    staff = api_as(member(world, "staff"))
    sku_id = world.sku_a
    assert staff.patch(f"{API}/skus/{sku_id}", json={"spec": "5斤装"}).status_code == 200
    price = db.session.get(Sku, sku_id).price_fen
    assert staff.patch(f"{API}/skus/{sku_id}", json={"price_fen": price}).status_code == 200  # unchanged price
    assert_needs(staff.patch(f"{API}/skus/{sku_id}", json={"price_fen": price + 100}), "manager")
    assert_needs(staff.post(f"{API}/skus/{sku_id}/stock-adjustments", json={"delta": -1, "reason": "damage"}),
                 "manager")
    assert_needs(staff.put(f"{API}/suppliers/{world.supplier_a}/shipping-rule", json=RULE), "manager")
    assert_needs(staff.patch(f"{API}/suppliers/{world.supplier_a}", json={"name": "改名"}), "owner")
    db.session.expire_all()
    sku = db.session.get(Sku, sku_id)
    assert (sku.price_fen, sku.spec) == (price, "5斤装")


def test_managers_do_stock_prices_and_shipping_rules_but_not_members(world):
    manager = api_as(member(world, "manager"))
    sku_id = world.sku_a
    before = db.session.get(Sku, sku_id)
    stock, price = before.stock, before.price_fen
    assert manager.patch(f"{API}/skus/{sku_id}", json={"price_fen": price + 100}).status_code == 200
    assert manager.post(f"{API}/skus/{sku_id}/stock-adjustments",
                        json={"delta": -1, "reason": "damage"}).json["stock"] == stock - 1
    assert manager.put(f"{API}/suppliers/{world.supplier_a}/shipping-rule", json=RULE).status_code == 200
    newcomer = make_user()
    assert_needs(manager.post(f"{API}/suppliers/{world.supplier_a}/members", json={"email": newcomer.email}),
                 "owner")


def test_non_members_still_get_not_found(world):
    rival_staff = make_user()
    add_member(user=world.owner_b, supplier_id=world.supplier_b, email=rival_staff.email, role="manager")
    rival = api_as(rival_staff)
    assert_problem(rival.patch(f"{API}/skus/{world.sku_a}", json={"price_fen": 1}), 404, "not_found")
    assert_problem(rival.post(f"{API}/skus/{world.sku_a}/stock-adjustments",
                              json={"delta": -1, "reason": "damage"}), 404, "not_found")
    assert_problem(rival.put(f"{API}/suppliers/{world.supplier_a}/shipping-rule", json=RULE), 404, "not_found")
    owner_member = db.session.scalar(select(SupplierMember.id).where(SupplierMember.user_id == world.owner_a.id))
    assert_problem(rival.patch(f"{API}/suppliers/{world.supplier_a}/members/{owner_member}",
                               json={"role": "staff"}), 404, "not_found")


def test_staff_ship_and_deliver_but_managers_decide_refunds(world, as_user):
    staff, manager = api_as(member(world, "staff")), api_as(member(world, "manager"))
    buyer = as_user(world.buyer)
    order = paid_order(world, [(world.sku_a, 2)], buyer)
    fulfillment = fulfillment_of(order, world.supplier_a)
    assert staff.post(f"{API}/fulfillments/{fulfillment}/ship",
                      json={"carrier": "SF", "tracking_number": "SF123456789"}).status_code == 200
    assert staff.post(f"{API}/fulfillments/{fulfillment}/deliver").status_code == 200

    delivered = delivered_order(world, [(world.sku_a, 2)], buyer)
    line = delivered["lines"][0]["id"]
    asked = buyer.post(f"{API}/orders/{delivered['id']}/refunds", json={
        "kind": "quality_claim", "items": [{"order_line_id": line, "quantity": 1}], "reason": "坏果",
        "photo_urls": ["https://img.example.test/bad.jpg"]})
    assert asked.status_code == 201, asked.json
    refund_id = asked.json[0]["id"]
    assert_needs(staff.post(f"{API}/refunds/{refund_id}/decision", json={"approve": True}), "manager")
    outsider = api_as(make_user())
    assert_problem(outsider.post(f"{API}/refunds/{refund_id}/decision", json={"approve": True}), 404)
    assert manager.post(f"{API}/refunds/{refund_id}/decision",
                        json={"approve": False, "note": "已核实无问题"}).json["status"] == "rejected"


def test_the_owner_changes_roles_and_the_member_is_told(world):
    owner = api_as(world.owner_a)
    user = member(world, "staff")
    member_id = db.session.scalar(select(SupplierMember.id).where(SupplierMember.user_id == user.id))
    url = f"{API}/suppliers/{world.supplier_a}/members/{member_id}"
    response = owner.patch(url, json={"role": "manager"})
    assert response.status_code == 200, response.json
    assert (response.json["role"], response.json["user_id"]) == ("manager", user.id)
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient_user_id == user.id,
                                                         OutboxMessage.template == "supplier_membership_role"))
    assert len(list(told)) == 1
    # Now a manager: stock adjustments pass.
    assert api_as(user).post(f"{API}/skus/{world.sku_a}/stock-adjustments",
                             json={"delta": 1, "reason": "adjustment"}).status_code == 201
    # Managers and staff do not change roles, not even their own.
    assert_needs(api_as(user).patch(url, json={"role": "owner"}), "owner")


@pytest.mark.parametrize("body", [{}, {"role": "boss"}, {"role": None}, {"role": 1}])
def test_bad_role_changes_are_422(world, body):
    user = member(world, "staff")
    member_id = db.session.scalar(select(SupplierMember.id).where(SupplierMember.user_id == user.id))
    response = api_as(world.owner_a).patch(f"{API}/suppliers/{world.supplier_a}/members/{member_id}", json=body)
    assert_problem(response, 422, "validation_error")
    db.session.expire_all()
    assert db.session.get(SupplierMember, member_id).role == "staff"


def test_the_last_owner_is_not_demoted_and_unknown_members_are_404(world):
    owner = api_as(world.owner_a)
    own = db.session.scalar(select(SupplierMember.id).where(SupplierMember.user_id == world.owner_a.id,
                                                            SupplierMember.supplier_id == world.supplier_a))
    assert_problem(owner.patch(f"{API}/suppliers/{world.supplier_a}/members/{own}", json={"role": "manager"}),
                   409, "last_owner")
    other = db.session.scalar(select(SupplierMember.id).where(SupplierMember.supplier_id == world.supplier_b))
    assert_problem(owner.patch(f"{API}/suppliers/{world.supplier_a}/members/{other}", json={"role": "staff"}),
                   404, "not_found")
    co_owner = member(world, "owner")
    assert owner.patch(f"{API}/suppliers/{world.supplier_a}/members/{own}", json={"role": "manager"}).json[
        "role"] == "manager"
    assert api_as(co_owner).get(f"{API}/suppliers/{world.supplier_a}/members").status_code == 200
