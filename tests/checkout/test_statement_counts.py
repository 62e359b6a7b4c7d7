"""A checkout reads each row once and reads nothing back after its commits: the order and its card payment are
written in one unit of work (the payment claimed there), the intent stored in a second, and the answer is what
was committed. A reload (of the user, the order, the payment, the region chain) would show here."""
from __future__ import annotations

from tests.support import selects_from, split_begins, statements_of

# token + user, the Idempotency-Key, the address with its region chain, the unpaid orders, the SKUs, the shipping
# rules; the order, its fulfilments, its lines and its number, the stock (one UPDATE per SKU), the stock
# movements, the event, the cart, the payment; then the intent's event and the payment's intent.
ONE_LINE_STATEMENTS = 17


def _checkout(buyer, address_id: int, items, key: str):
    statements, response = statements_of(lambda: buyer.post(
        "/api/v1/checkout", json={"address_id": address_id, "items": items}, headers={"Idempotency-Key": key}))
    assert response.status_code == 201, response.json
    return split_begins(statements), response


def test_checkout_reads_nothing_back(world, buyer):
    buyer.get("/api/v1/cart")  # the token's first use records last_used_at, a write later requests skip
    (statements, begins), response = _checkout(buyer, world.address_id, [{"sku_id": world.sku_b, "quantity": 1}],
                                               "one")

    assert len(statements) <= ONE_LINE_STATEMENTS, statements
    assert begins <= 2  # SQLite: the order's unit, then the intent's (the provider is called between them)
    assert selects_from(statements, "user") == 0
    assert selects_from(statements, "order") == 2  # the Idempotency-Key's order, the count of unpaid orders
    assert selects_from(statements, "region") == 0  # joined to the address
    for table in ("payment", "order_line", "fulfillment"):
        assert selects_from(statements, table) == 0, table
    body = response.json
    assert body["payment"]["client_secret"] and body["payment_error"] is None
    # Answered as committed: the same as reading them back.
    order_id = body["order"]["id"]
    assert body["order"] == buyer.get(f"/api/v1/orders/{order_id}").json
    assert body["payment"] == buyer.post(f"/api/v1/orders/{order_id}/payment").json


def test_a_second_supplier_reads_nothing_more(world, buyer):
    buyer.get("/api/v1/cart")
    (one, _), _ = _checkout(buyer, world.address_id, [{"sku_id": world.sku_b, "quantity": 1}], "one")
    (two, _), response = _checkout(buyer, world.address_id, [{"sku_id": world.sku_a, "quantity": 1},
                                                             {"sku_id": world.sku_b, "quantity": 1}], "two")

    def reads(statements):
        return [s for s in statements if s.startswith("SELECT")]

    assert len(reads(two)) == len(reads(one)), reads(two)  # each SKU, supplier and rule in the same statements
    # At most its stock UPDATE and, where the driver does not batch INSERTs, its fulfilment, line and movement.
    assert len(two) <= len(one) + 4, two
    assert len(response.json["order"]["lines"]) == 2
    order_id = response.json["order"]["id"]
    assert response.json["order"] == buyer.get(f"/api/v1/orders/{order_id}").json


def test_a_replay_answers_the_same_order_and_payment(world, buyer):
    items = [{"sku_id": world.sku_b, "quantity": 1}]
    (_, _), first = _checkout(buyer, world.address_id, items, "same")
    (_, _), again = _checkout(buyer, world.address_id, items, "same")

    assert again.json["order"] == first.json["order"]
    assert again.json["payment"] == first.json["payment"]
