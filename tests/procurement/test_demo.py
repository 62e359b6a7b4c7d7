"""The demo data holds both institutions of the issue's journey, built through the services, and loads once."""
from __future__ import annotations

from sqlalchemy import func, select

from shop.database import local_today
from shop.demo import load_demo_data
from shop.extensions import db
from shop.fapiao.models import Fapiao
from shop.orders.models import Order, OrderLine
from shop.procurement import quotas
from shop.procurement.models import Organization, StandingOrder
from tests.orders.invariants import assert_exact


def test_the_demo_holds_a_jiangsu_hospital_and_a_zhejiang_school_canteen_and_loads_once():
    first = load_demo_data()
    assert (first["organizations"], first["requisitions"], first["standing_orders"]) == (2, 2, 1)
    orgs = {o.home_region_code: o for o in db.session.scalars(select(Organization))}
    assert set(orgs) == {"320000", "330000"} and all(o.is_demo and o.status == "approved" for o in orgs.values())
    assert all("演示" in o.name for o in orgs.values())

    hospital_order = db.session.scalar(select(Order).where(Order.organization_id == orgs["320000"].id))
    assert (hospital_order.status, hospital_order.payment_plan) == ("shipped", "on_terms")
    assert hospital_order.paid_fen == hospital_order.total_fen and hospital_order.paid_at is not None
    assert {f.status for f in db.session.scalars(select(Fapiao).where(Fapiao.order_id == hospital_order.id))} == {
        "issued"}
    school_order = db.session.scalar(select(Order).where(Order.organization_id == orgs["330000"].id))
    assert school_order.paid_fen == school_order.total_fen
    for order in (hospital_order, school_order):
        assert_exact(order.id)

    year = local_today().year
    progress = {code: quotas.progress_by_year(organization_id=org.id, years=[year])[year]
                for code, org in orgs.items()}
    assert progress["320000"] == 0  # TCM pieces are not canteen food
    school_lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id == school_order.id)).all()
    assert progress["330000"] == sum(line.paid_fen - line.refunded_fen for line in school_lines) > 0

    counts = lambda: tuple(db.session.scalar(select(func.count()).select_from(m))  # noqa: E731
                           for m in (Organization, Order, Fapiao, StandingOrder))
    before = counts()
    again = load_demo_data()
    assert (again["organizations"], again["requisitions"], again["standing_orders"]) == (0, 0, 0)
    assert counts() == before
