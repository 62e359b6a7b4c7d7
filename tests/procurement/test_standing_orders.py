"""Standing orders: the period arithmetic, the job that places each period once (also on two workers at once),
and a period skipped with its reason when the stock is short."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from shop.catalog.models import Sku
from shop.extensions import db
from shop.notifications.models import OutboxMessage
from shop.orders.models import Order
from shop.procurement.models import StandingOrder, StandingOrderRun
from shop.procurement.standing_orders import period_start, run_standing_orders
from tests.orders.factories import count
from tests.payments.conftest import in_app_context, run_together
from tests.procurement.factories import DELIVERY, make_organization
from tests.procurement.scenario import ZHACAI_CASE
from tests.support import assert_problem, make_user

START = dt.date(2026, 1, 31)


def _standing(frequency: str, starts_on=START, ends_on=dt.date(2026, 12, 31)) -> StandingOrder:
    return StandingOrder(frequency=frequency, starts_on=starts_on, ends_on=ends_on)


@pytest.mark.parametrize("frequency, today, expected", [
    ("weekly", dt.date(2026, 1, 31), dt.date(2026, 1, 31)),
    ("weekly", dt.date(2026, 2, 6), dt.date(2026, 1, 31)),
    ("weekly", dt.date(2026, 2, 7), dt.date(2026, 2, 7)),
    ("monthly", dt.date(2026, 2, 27), dt.date(2026, 1, 31)),
    ("monthly", dt.date(2026, 2, 28), dt.date(2026, 2, 28)),   # no 31 February: the month's last day
    ("monthly", dt.date(2026, 3, 30), dt.date(2026, 2, 28)),
    ("monthly", dt.date(2026, 3, 31), dt.date(2026, 3, 31)),
    ("weekly", dt.date(2026, 1, 30), None),                    # before the first
    ("monthly", dt.date(2027, 1, 1), None),                    # after the end
])
def test_the_period_a_day_falls_in(frequency, today, expected):
    assert period_start(_standing(frequency), today) == expected


def _create(scenario, user=None, org_id=None, **overrides):
    body = {"items": [{"sku_id": scenario.zhacai_sku, "quantity": 2 * ZHACAI_CASE}], "delivery_address": DELIVERY,
            "frequency": "weekly", "starts_on": "2026-11-02", "ends_on": "2027-06-30", **overrides}
    return scenario.client(user or scenario.buyer).post(scenario.path("/standing-orders", org_id), json=body)


@pytest.mark.parametrize("overrides, status, code", [
    ({"ends_on": "2026-11-01"}, 422, "invalid_schedule"),
    ({"ends_on": "2028-01-01"}, 422, "invalid_schedule"),
    ({"frequency": "daily"}, 422, "validation_error"),
    ({"items": [{"sku_id": 0, "quantity": 20}]}, 422, "validation_error"),
])
def test_bad_standing_orders_are_refused(scenario, overrides, status, code):
    assert_problem(_create(scenario, **overrides), status, code)
    assert count(StandingOrder) == 0


def test_quantities_are_checked_when_it_is_set_up_and_terms_are_needed(scenario):
    body = {"items": [{"sku_id": scenario.zhacai_sku, "quantity": 25}]}
    assert_problem(_create(scenario, **body), 422, "invalid_quantity")
    admin = make_user()
    prepaid = make_organization(admin, terms="prepaid")
    assert_problem(_create(scenario, user=admin, org_id=prepaid.id), 409, "no_payment_terms")
    assert count(StandingOrder) == 0


def test_each_period_is_placed_once_and_the_next_period_again(scenario):
    standing = _create(scenario).json
    monday = dt.date(2026, 11, 2)
    assert run_standing_orders(today=monday)["placed"] == 1
    assert run_standing_orders(today=monday + dt.timedelta(days=3))["already_done"] == 1
    assert count(Order) == 1
    order = db.session.query(Order).one()
    assert (order.status, order.payment_plan, order.requested_delivery_on) == ("approved", "on_terms", monday)
    assert order.buyer_id == scenario.buyer.id and order.organization_id == scenario.org.id
    assert run_standing_orders(today=monday + dt.timedelta(days=7))["placed"] == 1
    runs = scenario.client(scenario.buyer).get(scenario.path(f"/standing-orders/{standing['id']}")).json["runs"]
    assert [(r["period_start"], r["outcome"]) for r in runs] == [("2026-11-09", "placed"), ("2026-11-02", "placed")]


def test_the_job_walks_every_standing_order_in_batches(scenario):
    for _ in range(3):
        _create(scenario)
    assert run_standing_orders(today=dt.date(2026, 11, 2), batch=2)["placed"] == 3
    assert count(StandingOrderRun) == 3


def test_two_workers_running_the_job_together_place_the_period_once(app, scenario):
    _create(scenario)
    monday = dt.date(2026, 11, 2)
    results = run_together([in_app_context(app, lambda: run_standing_orders(today=monday)) for _ in range(2)])
    assert sorted(r["placed"] + r["already_done"] for r in results) == [1, 1], results
    assert count(Order) == 1 and count(StandingOrderRun) == 1


def test_a_period_short_of_stock_is_skipped_with_the_reason_and_the_buyer_is_told(scenario):
    _create(scenario)
    db.session.execute(update(Sku).where(Sku.id == scenario.zhacai_sku).values(stock=5))
    db.session.commit()
    monday = dt.date(2026, 11, 2)
    assert run_standing_orders(today=monday)["skipped"] == 1
    assert run_standing_orders(today=monday)["already_done"] == 1
    run = db.session.query(StandingOrderRun).one()
    assert (run.outcome, run.details["code"], run.order_id) == ("skipped", "insufficient_stock", None)
    assert count(Order) == 0
    told = db.session.query(OutboxMessage).filter_by(template="standing_order_skipped").all()
    assert [m.recipient_user_id for m in told] == [scenario.buyer.id]


def test_a_standing_order_past_its_end_ends_and_an_ended_one_stays_ended(scenario):
    standing = _create(scenario, starts_on="2026-11-02", ends_on="2026-11-20").json
    assert run_standing_orders(today=dt.date(2026, 11, 21))["ended"] == 1
    path = scenario.path(f"/standing-orders/{standing['id']}")
    assert scenario.client(scenario.buyer).get(path).json["status"] == "ended"
    assert_problem(scenario.client(scenario.buyer).patch(path, json={"status": "active"}), 409,
                   "standing_order_ended")
    assert count(Order) == 0


def test_a_paused_standing_order_places_nothing_and_others_do_not_see_it(scenario):
    standing = _create(scenario).json
    path = scenario.path(f"/standing-orders/{standing['id']}")
    assert scenario.client(scenario.buyer).patch(path, json={"status": "paused"}).json["status"] == "paused"
    assert run_standing_orders(today=dt.date(2026, 11, 2))["placed"] == 0
    other_admin = make_user()
    other = make_organization(other_admin)
    assert_problem(scenario.client(other_admin).get(path), 404)
    assert_problem(scenario.client(other_admin).get(scenario.path(f"/standing-orders/{standing['id']}", other.id)),
                   404)
    assert scenario.client(scenario.approver).get(path).status_code == 200
