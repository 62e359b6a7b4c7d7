"""Demo history: `load-demo` leaves a shop that has traded for months, through the real services, with every
order's money exact to the fen, and loading twice adds nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from shop.accounts.models import User
from shop.catalog.models import GiRecord
from shop.demo import load_demo_data
from shop.demo_history import DEMO_DOMAIN, ORDER_COUNT
from shop.extensions import db
from shop.orders.models import Order
from shop.payments.models import Payment
from shop.refunds.models import Refund
from shop.suppliers.models import ShippingRule, Supplier
from tests.orders.invariants import assert_exact


def test_demo_history_spans_months_provinces_and_outcomes_and_loads_once():
    first = load_demo_data()
    assert first["orders"] == ORDER_COUNT and first["shipping_rules"] >= 9
    # The sourced GI number is verified by the demo operator; placeholder numbers stay claimed.
    records = {(r.number, r.status) for r in db.session.scalars(select(GiRecord))}
    assert ("4049199", "verified") in records
    assert {status for number, status in records if number.endswith("-demo")} == {"claimed"}

    orders = list(db.session.scalars(select(Order).where(Order.idempotency_key.like("demo-history-%"))))
    assert len(orders) == ORDER_COUNT
    assert len({o.placed_at.strftime("%Y-%m") for o in orders}) >= 4
    assert all(o.number[2:10] == f"{o.placed_at:%Y%m%d}" for o in orders)
    buyers = {o.buyer_id: o for o in orders}
    homes = {db.session.get(User, buyer_id).home_region_code for buyer_id in buyers}
    provinces = {code[:2] for code in homes}
    assert "50" in provinces and len(provinces - {"50"}) >= 4
    assert all(db.session.get(User, b).email.endswith("@" + DEMO_DOMAIN) for b in buyers)
    assert all(o.shipping_address["region_code"][:2] == db.session.get(User, o.buyer_id).home_region_code[:2]
               for o in orders)

    statuses = {o.status for o in orders}
    assert {"paid", "shipped", "delivered"} <= statuses
    assert {"partial", "full"} <= {o.refund_status for o in orders}
    assert db.session.scalar(select(func.count()).select_from(Refund).where(Refund.status == "succeeded")) > 0
    for order in orders:
        assert_exact(order.id)
        assert order.paid_fen == order.total_fen
    assert all(p.succeeded_at.strftime("%Y-%m") for p in db.session.scalars(select(Payment)))

    demo_suppliers = db.session.scalar(select(func.count()).select_from(Supplier).where(Supplier.is_demo.is_(True)))
    assert db.session.scalar(select(func.count()).select_from(ShippingRule)) == demo_suppliers
    assert any(o.shipping_fen > 0 for o in orders) and any(o.shipping_fen == 0 for o in orders)

    counts = lambda: tuple(db.session.scalar(select(func.count()).select_from(m))  # noqa: E731
                           for m in (Order, Payment, Refund, ShippingRule, User))
    before = counts()
    again = load_demo_data()
    assert again["orders"] == 0 and again["shipping_rules"] == 0 and again["products"] == 0
    assert counts() == before
