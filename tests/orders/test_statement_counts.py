"""List endpoints of the money path load what they serialise up front: the number of SQL statements does not
grow with the page size (no N+1)."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from shop.checkout.services import place_order
from shop.database import utcnow
from shop.extensions import db
from shop.orders.models import Order
from tests.orders.factories import api_as
from tests.support import count_statements


def _orders(world, n: int) -> None:
    for _ in range(n):
        place_order(user=world.buyer, address_id=world.address_id,
                    items=[{"sku_id": world.sku_a, "quantity": 1}, {"sku_id": world.sku_b, "quantity": 1}])
    # Paid, so that suppliers see them too (payment itself is proven elsewhere).
    db.session.execute(update(Order).values(status="paid", paid_at=utcnow(), paid_fen=Order.total_fen))
    db.session.commit()


def _count(client, url: str) -> tuple[int, int]:
    client.get(url)  # warm-up: the token's first use records last_used_at, a write the next calls skip
    count, response = count_statements(lambda: client.get(url))
    assert response.status_code == 200, response.json
    return count, len(response.json["items"])


@pytest.mark.parametrize("who, url", [("buyer", "/api/v1/orders"), ("owner_a", "/api/v1/fulfillments")])
def test_list_statements_do_not_grow_with_the_page(world, who, url):
    _orders(world, 12)
    client = api_as(getattr(world, who))
    small, n_small = _count(client, f"{url}?limit=2")
    large, n_large = _count(client, f"{url}?limit=12")
    assert (n_small, n_large) == (2, 12)
    assert small == large
