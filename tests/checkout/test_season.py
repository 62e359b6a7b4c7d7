"""A product outside its sale months is not bought (409 out_of_season) — not in the cart, not at checkout — and
every list says whether it is in season and from which month it is on sale again."""
from __future__ import annotations

import pytest

from shop.catalog.models import Product, months_to_mask
from shop.catalog.queries import current_month
from tests.orders.factories import checkout, count, state
from tests.support import assert_problem
from shop.orders.models import Order

API = "/api/v1"


def _months_from(month: int, ahead: list[int]) -> list[int]:
    return [(month - 1 + a) % 12 + 1 for a in ahead]


@pytest.fixture
def owner_a(world, as_user):
    return as_user(world.owner_a)


def take_out_of_season(owner_client, product_id: int) -> int:
    """Sell only two and three months from now; returns the month it is on sale again."""
    months = _months_from(current_month(), [2, 3])
    response = owner_client.patch(f"{API}/products/{product_id}", json={"sale_months": months})
    assert response.status_code == 200, response.json
    return months[0]


@pytest.mark.parametrize("months, now, expected", [
    ([6, 7, 8], 12, 6), ([6, 7, 8], 8, None), ([6, 7, 8], 9, 6), ([11, 12, 1], 2, 11), ([1], 1, None),
    (list(range(1, 13)), 5, None), ([], 5, None),
])
def test_in_season_and_the_month_it_is_on_sale_again(months, now, expected):
    product = Product(sale_months_mask=months_to_mask(months))
    assert product.in_season(now) is (now in months)
    assert product.on_sale_again_month(now) == expected


def test_lists_and_the_detail_page_say_when_it_is_on_sale_again(world, owner_a, client):
    again = take_out_of_season(owner_a, world.product_a)
    items = {p["id"]: p for p in client.get(f"{API}/products").json["items"]}
    assert (items[world.product_a]["in_season"], items[world.product_a]["on_sale_again_month"]) == (False, again)
    assert (items[world.product_b]["in_season"], items[world.product_b]["on_sale_again_month"]) == (True, None)
    detail = client.get(f"{API}/products/{world.product_a}").json
    assert (detail["in_season"], detail["on_sale_again_month"]) == (False, again)
    in_season = [p["id"] for p in client.get(f"{API}/products", query_string={"in_season": "true"}).json["items"]]
    assert world.product_a not in in_season and world.product_b in in_season


def test_an_out_of_season_product_cannot_be_added_to_the_cart(world, owner_a, buyer):
    again = take_out_of_season(owner_a, world.product_a)
    before = state()
    problem = assert_problem(buyer.post(f"{API}/cart/lines", json={"sku_id": world.sku_a, "quantity": 1}),
                             409, "out_of_season")
    assert str(again) in problem["detail"]
    assert state() == before
    assert buyer.get(f"{API}/cart").json["groups"] == []


def test_a_cart_line_that_goes_out_of_season_is_flagged_left_out_and_refused_at_checkout(world, owner_a, buyer):
    for sku in (world.sku_a, world.sku_b):
        assert buyer.post(f"{API}/cart/lines", json={"sku_id": sku, "quantity": 1}).status_code == 201
    again = take_out_of_season(owner_a, world.product_a)
    cart = buyer.get(f"{API}/cart").json
    lines = {line["sku_id"]: line for group in cart["groups"] for line in group["lines"]}
    assert lines[world.sku_a]["problems"] == ["out_of_season"]
    assert (lines[world.sku_a]["in_season"], lines[world.sku_a]["on_sale_again_month"]) == (False, again)
    assert (lines[world.sku_b]["problems"], lines[world.sku_b]["in_season"]) == ([], True)
    assert cart["has_problems"] is True
    assert cart["subtotal_fen"] == lines[world.sku_b]["line_total_fen"]  # the out-of-season line is not counted
    line_id = lines[world.sku_a]["line_id"]
    assert_problem(buyer.patch(f"{API}/cart/lines/{line_id}", json={"quantity": 2}), 409, "out_of_season")

    before = state()
    assert_problem(checkout(buyer, world.address_id), 409, "out_of_season")
    assert_problem(checkout(buyer, world.address_id, [(world.sku_a, 1)]), 409, "out_of_season")
    assert state() == before and count(Order) == 0
    # The buyer can still drop it and buy the rest.
    assert buyer.delete(f"{API}/cart/lines/{line_id}").status_code == 200
    assert checkout(buyer, world.address_id).status_code == 201
