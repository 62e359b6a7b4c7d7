"""Adding to the cart reads each row once: the user with its token, the cart, the SKUs, the shipping rules; the
cart is priced in the same unit of work and answered as committed (a reload after the commit would show here)."""
from __future__ import annotations

import pytest

from tests.support import selects_from, split_begins, statements_of

# token + user, the cart's lines, their SKUs (with the new one), the write, the shipping rules
ADD_STATEMENTS = 5


def _add(buyer, sku_id: int, quantity: int = 1):
    statements, response = statements_of(lambda: buyer.post("/api/v1/cart/lines",
                                                             json={"sku_id": sku_id, "quantity": quantity}))
    assert response.status_code == 201, response.json
    return split_begins(statements), response


@pytest.mark.parametrize("already_there", [False, True])
def test_cart_add_reads_each_row_once(world, buyer, already_there):
    buyer.get("/api/v1/cart")  # the token's first use records last_used_at, a write later requests skip
    buyer.post("/api/v1/cart/lines", json={"sku_id": world.sku_b, "quantity": 1})  # a second supplier's line
    if already_there:
        buyer.post("/api/v1/cart/lines", json={"sku_id": world.sku_a, "quantity": 1})

    (statements, begins), response = _add(buyer, world.sku_a)

    assert len(statements) <= ADD_STATEMENTS, statements
    assert begins <= 1  # SQLite: one unit of work, with its write lock from the start
    assert selects_from(statements, "user") == 0  # read with the token, not again after the commit
    assert selects_from(statements, "sku") == 1  # the SKU checked is the SKU priced
    assert selects_from(statements, "cart_line") == 1
    lines = [line for group in response.json["groups"] for line in group["lines"]]
    assert {line["sku_id"]: line["quantity"] for line in lines} == {world.sku_a: 2 if already_there else 1,
                                                                    world.sku_b: 1}
    assert response.json == buyer.get("/api/v1/cart").json  # answered as committed
