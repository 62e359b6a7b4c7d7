"""The cart: SKU lines checked against MOQ, case size and stock; per-supplier totals and shipping in fen."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from shop.catalog import services as catalog
from shop.catalog.models import Sku
from shop.extensions import db
from shop.suppliers.models import Supplier
from shop.suppliers.services import review_supplier
from tests.catalog.factories import make_product
from tests.orders.factories import (PRICE_A, PRICE_B, WEIGHT_A, WEIGHT_B, anonymous, assert_fen_ints, make_address,
                                    set_rule, sku_of, state)
from tests.suppliers.factories import make_supplier
from tests.support import make_user, assert_problem

CART = "/api/v1/cart"
LINES = "/api/v1/cart/lines"


def add(client, sku_id, quantity):
    return client.post(LINES, json={"sku_id": sku_id, "quantity": quantity})


def lines_of(cart: dict) -> dict[int, dict]:
    return {line["sku_id"]: line for group in cart["groups"] for line in group["lines"]}


def group_of(cart: dict, supplier_id: int) -> dict:
    return next(g for g in cart["groups"] if g["supplier"]["id"] == supplier_id)


def test_adding_the_same_sku_twice_merges_into_one_line(world, buyer):
    first = add(buyer, world.sku_a, 1)
    assert first.status_code == 201, first.json
    second = add(buyer, world.sku_a, 2)
    assert second.status_code == 201
    cart = buyer.get(CART).json
    assert len(cart["groups"]) == 1
    [line] = cart["groups"][0]["lines"]
    assert line["quantity"] == 3
    assert line["line_total_fen"] == 3 * PRICE_A
    assert line["unit_price_fen"] == PRICE_A
    assert line["product_name"] == "巫山脆李"
    assert line["on_sale"] is True and line["problems"] == []
    assert cart == second.json


def test_quantity_must_respect_moq_and_case_size(world, buyer):
    product = make_product(db.session.get(Supplier, world.supplier_a), name="巫山老鹰茶", category="tea",
                           return_policy="seven_day",
                           skus=[{"spec": "礼盒", "unit": "盒", "weight_g": 500, "price_fen": 8800, "stock": 100,
                                  "min_order_qty": 6, "qty_step": 3}])
    sku = sku_of(product.id)
    before = state()
    for quantity in (1, 3, 7):  # below the MOQ, below the MOQ, not a multiple of the case size
        problem = assert_problem(add(buyer, sku, quantity), 422, "invalid_quantity")
        assert "quantity" in problem["errors"]
    assert state() == before
    assert add(buyer, sku, 6).status_code == 201
    assert_problem(add(buyer, sku, 1), 422, "invalid_quantity")  # 6 + 1 = 7 breaks the case size
    assert add(buyer, sku, 3).status_code == 201
    line = lines_of(buyer.get(CART).json)[sku]
    assert line["quantity"] == 9
    assert_problem(buyer.patch(f"{LINES}/{line['line_id']}", json={"quantity": 8}), 422, "invalid_quantity")
    assert_problem(buyer.patch(f"{LINES}/{line['line_id']}", json={"quantity": 3}), 422, "invalid_quantity")
    assert buyer.patch(f"{LINES}/{line['line_id']}", json={"quantity": 12}).json["groups"][0]["lines"][0][
        "quantity"] == 12


def test_more_than_stock_is_409_insufficient_stock(world, buyer):
    before = state()
    assert_problem(add(buyer, world.sku_b, 51), 409, "insufficient_stock")
    assert state() == before
    assert add(buyer, world.sku_b, 30).status_code == 201
    assert_problem(add(buyer, world.sku_b, 21), 409, "insufficient_stock")  # merged: 51 > 50
    line = lines_of(buyer.get(CART).json)[world.sku_b]
    assert line["quantity"] == 30
    assert_problem(buyer.patch(f"{LINES}/{line['line_id']}", json={"quantity": 51}), 409, "insufficient_stock")
    assert buyer.patch(f"{LINES}/{line['line_id']}", json={"quantity": 50}).status_code == 200
    assert lines_of(buyer.get(CART).json)[world.sku_b]["quantity"] == 50


@pytest.mark.parametrize("quantity", [2.5, 2.0, -1, 0, "3", None, True, [1]])
def test_quantity_must_be_a_positive_json_integer(world, buyer, quantity):
    before = state()
    problem = assert_problem(add(buyer, world.sku_a, quantity), 422)
    assert "quantity" in problem["errors"]
    assert state() == before


@pytest.mark.parametrize("quantity", [2.5, -1, 0, "3"])
def test_patch_quantity_must_be_a_positive_json_integer(world, buyer, quantity):
    line_id = add(buyer, world.sku_a, 2).json["groups"][0]["lines"][0]["line_id"]
    before = state()
    assert_problem(buyer.patch(f"{LINES}/{line_id}", json={"quantity": quantity}), 422)
    assert state() == before


def test_sku_id_must_be_an_integer(world, buyer):
    assert_problem(buyer.post(LINES, json={"sku_id": str(world.sku_a), "quantity": 1}), 422)
    assert_problem(buyer.post(LINES, json={"quantity": 1}), 422)


def test_unknown_draft_archived_or_inactive_skus_are_404(world, buyer):
    supplier = db.session.get(Supplier, world.supplier_a)
    draft = sku_of(make_product(supplier, status="draft", name="草稿产品").id)
    archived = sku_of(make_product(supplier, status="archived", name="下架产品").id)
    inactive_product = make_product(supplier, name="停售规格", skus=[
        {"spec": "a", "unit": "箱", "weight_g": 100, "price_fen": 100, "stock": 5},
        {"spec": "b", "unit": "箱", "weight_g": 100, "price_fen": 100, "stock": 5, "is_active": False}])
    inactive = db.session.scalar(select(Sku.id).where(Sku.product_id == inactive_product.id,
                                                      Sku.is_active.is_(False)))
    before = state()
    for sku_id in (world.sku_b + 10_000, draft, archived, inactive):
        assert_problem(add(buyer, sku_id, 1), 404)
    assert state() == before


def test_a_pending_suppliers_sku_is_404(world, buyer):
    pending = make_supplier(make_user(), status="pending", district_code="500238")
    sku = sku_of(make_product(pending, name="巫溪洋芋").id)
    assert_problem(add(buyer, sku, 1), 404)


def test_per_supplier_totals_and_shipping_in_fen(world, buyer, as_user):
    # Shipping rules set by each owner through the API.
    rule_a = {"base_fee_fen": 800, "base_weight_g": 1000, "per_extra_kg_fen": 300, "cold_chain_surcharge_fen": 500,
              "free_over_fen": 30000, "excluded_region_codes": []}
    rule_b = {"base_fee_fen": 1000, "base_weight_g": 2000, "per_extra_kg_fen": 200, "cold_chain_surcharge_fen": 700,
              "free_over_fen": 20000, "excluded_region_codes": []}
    owner_a, owner_b = as_user(world.owner_a), as_user(world.owner_b)
    assert owner_a.put(f"/api/v1/suppliers/{world.supplier_a}/shipping-rule", json=rule_a).status_code == 200
    assert owner_b.put(f"/api/v1/suppliers/{world.supplier_b}/shipping-rule", json=rule_b).status_code == 200
    # Not an owner of A: cannot set A's tariff.
    assert owner_b.put(f"/api/v1/suppliers/{world.supplier_a}/shipping-rule",
                       json={**rule_a, "base_fee_fen": 0}).status_code in (403, 404)

    assert add(buyer, world.sku_a, 2).status_code == 201
    assert add(buyer, world.sku_b, 3).status_code == 201
    cart = buyer.get(f"{CART}?address_id={world.address_id}").json
    assert assert_fen_ints(cart) >= 12

    a, b = group_of(cart, world.supplier_a), group_of(cart, world.supplier_b)
    # A: 2 × 5990 = 11980; 2 × 2500 g = 5000 g → 4 started kg above 1000 g: 800 + 4 × 300 + cold chain 500.
    assert a["subtotal_fen"] == 2 * PRICE_A == 11980
    assert a["weight_g"] == 2 * WEIGHT_A
    assert a["shipping_fen"] == 800 + 4 * 300 + 500 == 2500
    assert a["total_fen"] == 11980 + 2500
    # B: 3 × 3000 = 9000; 3600 g → 2 started kg above 2000 g: 1000 + 2 × 200; not cold chain: no surcharge.
    assert b["subtotal_fen"] == 3 * PRICE_B == 9000
    assert b["weight_g"] == 3 * WEIGHT_B
    assert b["shipping_fen"] == 1000 + 2 * 200 == 1400
    assert b["total_fen"] == 9000 + 1400
    assert not a["undeliverable"] and not b["undeliverable"]

    lines = [line for group in cart["groups"] for line in group["lines"]]
    assert cart["subtotal_fen"] == sum(line["line_total_fen"] for line in lines) == 20980
    assert cart["shipping_fen"] == a["shipping_fen"] + b["shipping_fen"] == 3900
    assert cart["total_fen"] == cart["subtotal_fen"] + cart["shipping_fen"] == 24880
    assert cart["has_problems"] is False

    # One started kilogram: 1 × 2500 g is 1500 g above the base → 2 kg.
    line_a = lines_of(cart)[world.sku_a]["line_id"]
    cart = buyer.patch(f"{LINES}/{line_a}", json={"quantity": 1}).json
    assert group_of(cart, world.supplier_a)["shipping_fen"] == 800 + 2 * 300 + 500

    # Free over the threshold (goods subtotal ≥ free_over_fen): 7 × 3000 = 21000 ≥ 20000.
    assert add(buyer, world.sku_b, 4).status_code == 201
    cart = buyer.get(f"{CART}?address_id={world.address_id}").json
    b = group_of(cart, world.supplier_b)
    assert b["subtotal_fen"] == 21000 and b["shipping_fen"] == 0 and b["total_fen"] == 21000
    assert cart["total_fen"] == PRICE_A + (800 + 2 * 300 + 500) + 21000


def test_free_shipping_starts_exactly_at_the_threshold(world, buyer):
    set_rule(world.owner_b, world.supplier_b, base_fee_fen=1000, free_over_fen=2 * PRICE_B)
    add(buyer, world.sku_b, 1)
    assert buyer.get(CART).json["shipping_fen"] == 1000
    add(buyer, world.sku_b, 1)
    assert buyer.get(CART).json["shipping_fen"] == 0


def test_an_excluded_destination_is_flagged_undeliverable(world, buyer):
    set_rule(world.owner_b, world.supplier_b, base_fee_fen=1000, excluded_region_codes=["320000"])
    add(buyer, world.sku_a, 1)
    add(buyer, world.sku_b, 1)
    cart = buyer.get(f"{CART}?address_id={world.address_id}").json
    assert group_of(cart, world.supplier_b)["undeliverable"] is True
    assert group_of(cart, world.supplier_a)["undeliverable"] is False
    assert cart["has_problems"] is True
    elsewhere = make_address(world.buyer, region_code="500237")  # 巫山县 is served
    cart = buyer.get(f"{CART}?address_id={elsewhere.id}").json
    assert group_of(cart, world.supplier_b)["undeliverable"] is False
    assert group_of(cart, world.supplier_b)["shipping_fen"] == 1000
    assert cart["has_problems"] is False


def test_another_users_address_cannot_be_quoted(world, buyer):
    stranger = make_user()
    address = make_address(stranger)
    add(buyer, world.sku_a, 1)
    assert_problem(buyer.get(f"{CART}?address_id={address.id}"), 404)


def test_an_archived_product_is_flagged_not_dropped(world, buyer):
    add(buyer, world.sku_a, 2)
    add(buyer, world.sku_b, 1)
    catalog.archive_product(user=world.owner_a, product_id=world.product_a)
    cart = buyer.get(CART).json
    line = lines_of(cart)[world.sku_a]
    assert line["on_sale"] is False
    assert line["problems"] == ["unavailable"]
    assert line["quantity"] == 2
    assert cart["has_problems"] is True
    # The flagged line does not count in the totals; the rest still does.
    assert group_of(cart, world.supplier_a)["subtotal_fen"] == 0
    assert cart["subtotal_fen"] == PRICE_B
    assert lines_of(cart)[world.sku_b]["on_sale"] is True


def test_a_suspended_supplier_flags_its_lines(world, buyer):
    add(buyer, world.sku_a, 1)
    add(buyer, world.sku_b, 2)
    review_supplier(supplier_id=world.supplier_b, actor=make_user(admin=True), action="suspend", reason="抽检不合格")
    cart = buyer.get(CART).json
    line = lines_of(cart)[world.sku_b]
    assert line["on_sale"] is False and line["problems"] == ["unavailable"] and line["quantity"] == 2
    assert lines_of(cart)[world.sku_a]["problems"] == []
    assert cart["subtotal_fen"] == PRICE_A
    assert cart["has_problems"] is True


def test_another_users_cart_line_is_404(world, buyer, as_user):
    line_id = add(buyer, world.sku_a, 2).json["groups"][0]["lines"][0]["line_id"]
    intruder = as_user(make_user())
    before = state()
    assert_problem(intruder.patch(f"{LINES}/{line_id}", json={"quantity": 4}), 404)
    assert_problem(intruder.delete(f"{LINES}/{line_id}"), 404)
    assert state() == before
    assert intruder.get(CART).json["groups"] == []
    assert lines_of(buyer.get(CART).json)[world.sku_a]["quantity"] == 2


def test_remove_a_line_and_clear_the_cart(world, buyer):
    cart = add(buyer, world.sku_a, 1).json
    add(buyer, world.sku_b, 1)
    line_id = lines_of(cart)[world.sku_a]["line_id"]
    cart = buyer.delete(f"{LINES}/{line_id}").json
    assert set(lines_of(cart)) == {world.sku_b}
    assert_problem(buyer.delete(f"{LINES}/{line_id}"), 404)
    cart = buyer.delete(CART).json
    assert cart["groups"] == [] and cart["total_fen"] == 0


def test_the_cart_needs_a_signed_in_user(world):
    assert_problem(anonymous().get(CART), 401)
    assert_problem(add(anonymous(), world.sku_a, 1), 401)


def test_a_line_above_the_remaining_stock_is_flagged(world, buyer):
    add(buyer, world.sku_b, 10)
    db.session.execute(update(Sku).where(Sku.id == world.sku_b).values(stock=4))  # sold elsewhere meanwhile
    db.session.commit()
    cart = buyer.get(CART).json
    line = lines_of(cart)[world.sku_b]
    assert line["problems"] == ["stock"]
    assert line["available_stock"] == 4
    assert line["on_sale"] is True and line["quantity"] == 10
    assert cart["has_problems"] is True
