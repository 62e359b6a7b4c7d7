"""Requisitions: the spending limit and approval, stock reserved when approved, volume tiers, invoices on terms,
transfers against them, overdue invoices, and every refusal leaving nothing changed."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from shop.catalog.models import Product, StockMovement
from shop.checkout.pricing import price_items
from shop.database import local_today
from shop.extensions import db
from shop.notifications.models import OutboxMessage
from shop.orders.models import Fulfillment, Order, OrderEvent
from shop.procurement.models import Invoice
from tests.orders.factories import SHIP, api_as, count, fulfillment_of, pay, stock_of
from tests.orders.invariants import assert_exact
from tests.payments.conftest import run_together
from tests.procurement.factories import add_member, make_organization
from tests.procurement.scenario import TCM_PRICE, ZHACAI_CASE, ZHACAI_PRICE
from tests.support import assert_problem, count_statements, make_user


def db_order(order_id: int) -> dict:
    return {"fulfillments": [{"status": f.status} for f in db.session.scalars(
        select(Fulfillment).where(Fulfillment.order_id == order_id).execution_options(populate_existing=True))]}


def _transfer(admin, order_id: int, amount_fen: int, reference: str):
    return api_as(admin).post(f"/api/v1/orders/{order_id}/bank-transfers",
                              json={"amount_fen": amount_fen, "value_date": local_today().isoformat(),
                                    "reference": reference})


def test_within_the_limit_a_requisition_on_terms_is_approved_at_once_with_stock_and_an_invoice(scenario):
    response = scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 2 * ZHACAI_CASE)])
    assert response.status_code == 201, response.json
    order = response.json
    assert (order["status"], order["channel"], order["payment_plan"], order["payment_terms"]) == (
        "approved", "procurement", "on_terms", "net_30")
    assert order["organization_id"] == scenario.org.id and order["buyer_region_code"] == "320000"
    assert order["po_number"] == "PO-2026-0001"
    assert [e["type"] for e in order["approval_history"]] == ["placed", "approved"]
    assert order["approval_history"][1]["data"]["within_limit"] is True
    invoice = order["invoice"]
    assert invoice["amount_fen"] == order["total_fen"] and invoice["status"] == "open"
    assert dt.date.fromisoformat(invoice["due_on"]) - dt.date.fromisoformat(invoice["issued_on"]) == dt.timedelta(30)
    assert stock_of(scenario.zhacai_sku) == 500 - 2 * ZHACAI_CASE
    # The supplier was told it may ship, and ships on terms without any payment.
    assert count(OutboxMessage, OutboxMessage.template == "fulfillment_due") == 1
    shipped = api_as(scenario.zhacai_supplier_owner).post(
        f"/api/v1/fulfillments/{fulfillment_of(order, scenario.zhacai_supplier_id)}/ship", json=SHIP)
    assert shipped.status_code == 200, shipped.json
    assert db.session.get(Order, order["id"]).status == "shipped"


def test_above_the_limit_it_waits_then_another_approver_approves_and_only_then_stock_is_held(scenario):
    quantity = 20  # 20 × 108 元 (a tier) = 2,160 元 > the buyer's 1,000 元
    response = scenario.requisition(scenario.buyer, [(scenario.tcm_sku, quantity)])
    order = response.json
    assert response.status_code == 201 and order["status"] == "awaiting_approval", order
    assert order["invoice"] is None and stock_of(scenario.tcm_sku) == 1000
    assert [e["type"] for e in order["approval_history"]] == ["placed", "approval_requested"]
    assert count(OutboxMessage, OutboxMessage.template == "requisition_awaiting_approval") == 2  # approver, admin
    # A buyer has no approving role; an approver never approves what they placed themselves.
    assert_problem(scenario.decide(scenario.buyer, order["id"], "approve"), 403, "role_required")
    own = scenario.requisition(scenario.approver, [(scenario.tcm_sku, 20)]).json
    assert_problem(scenario.decide(scenario.approver, own["id"], "approve"), 403, "own_requisition")

    approved = scenario.decide(scenario.approver, order["id"], "approve", "预算内，同意")
    assert approved.status_code == 200, approved.json
    body = approved.json
    assert body["status"] == "approved" and body["invoice"]["status"] == "open"
    decision = [e for e in body["approval_history"] if e["type"] == "approved"][0]
    assert decision["actor_id"] == scenario.approver.id and decision["data"]["comment"] == "预算内，同意"
    assert decision["data"]["within_limit"] is False
    assert stock_of(scenario.tcm_sku) == 1000 - quantity
    assert_problem(scenario.decide(scenario.admin, order["id"], "approve"), 409, "not_awaiting_approval")


def test_volume_tiers_price_the_lines_and_the_order_shows_the_saving(scenario):
    order = scenario.requisition(scenario.approver, [(scenario.tcm_sku, 100)]).json
    line = order["lines"][0]
    assert (line["list_unit_price_fen"], line["unit_price_fen"]) == (TCM_PRICE, 9600)
    assert line["saving_fen"] == (TCM_PRICE - 9600) * 100 and line["line_total_fen"] == 9600 * 100
    assert order["saving_fen"] == line["saving_fen"]
    retail = price_items([(scenario.tcm_sku, 100)], destination_codes=None)  # a shopper's cart: no tiers
    assert retail.lines[0].unit_price_fen == TCM_PRICE


@pytest.mark.parametrize("quantity", [ZHACAI_CASE, 2 * ZHACAI_CASE + 3])
def test_below_the_minimum_or_off_the_case_step_is_422_and_nothing_is_written(scenario, quantity):
    response = scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, quantity)])
    assert_problem(response, 422, "invalid_quantity")
    assert count(Order) == 0 and stock_of(scenario.zhacai_sku) == 500


def test_a_delivery_date_in_the_past_is_refused(scenario):
    yesterday = (local_today() - dt.timedelta(days=1)).isoformat()
    response = scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 2 * ZHACAI_CASE)],
                                    requested_delivery_on=yesterday)
    assert "requested_delivery_on" in assert_problem(response, 422, "validation_error")["errors"]
    assert count(Order) == 0
    today = scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 2 * ZHACAI_CASE)],
                                 requested_delivery_on=local_today().isoformat())
    assert today.status_code == 201 and today.json["requested_delivery_on"] == local_today().isoformat()


def test_an_order_above_the_limit_cannot_skip_approval(scenario):
    """Whatever the client sends, the limit is the member's, read in the placing transaction."""
    response = scenario.requisition(scenario.buyer, [(scenario.tcm_sku, 20)], status="approved",
                                    within_limit=True)
    assert_problem(response, 422, "validation_error")
    order = scenario.requisition(scenario.buyer, [(scenario.tcm_sku, 20)]).json
    assert order["status"] == "awaiting_approval"
    assert count(StockMovement) == 0 and count(Invoice) == 0


def test_a_member_of_one_organisation_cannot_see_or_act_on_another(scenario):
    other_admin = make_user()
    other = make_organization(other_admin, name="浙江某学校（演示）", home_region_code="330000")
    order = scenario.requisition(scenario.buyer, [(scenario.tcm_sku, 20)]).json
    outsider = scenario.client(other_admin)
    for path in ("", "/members", "/requisitions", f"/requisitions/{order['id']}", "/invoices"):
        assert_problem(outsider.get(scenario.path(path)), 404)
    assert_problem(scenario.decide(other_admin, order["id"], "approve"), 404)
    # …nor reach it through their own organisation's path.
    assert_problem(scenario.decide(other_admin, order["id"], "approve", org_id=other.id), 404)
    assert_problem(scenario.requisition(other_admin, [(scenario.tcm_sku, 20)]), 404)
    assert db.session.get(Order, order["id"]).status == "awaiting_approval"


def test_buyers_see_their_own_requisitions_approvers_see_all(scenario):
    mine = scenario.requisition(scenario.buyer, [(scenario.tcm_sku, 20)]).json
    second_buyer = add_member(scenario.org, "buyer", limit_fen=0)
    theirs = scenario.requisition(second_buyer, [(scenario.tcm_sku, 20)]).json
    listed = scenario.client(scenario.buyer).get(scenario.path("/requisitions")).json["items"]
    assert [o["id"] for o in listed] == [mine["id"]]
    assert_problem(scenario.client(scenario.buyer).get(scenario.path(f"/requisitions/{theirs['id']}")), 404)
    everything = scenario.client(scenario.approver).get(scenario.path("/requisitions?status=awaiting_approval"))
    assert [o["id"] for o in everything.json["items"]] == [theirs["id"], mine["id"]]


def test_rejecting_needs_a_reason_and_withdrawing_is_the_placers(scenario):
    order = scenario.requisition(scenario.buyer, [(scenario.tcm_sku, 20)]).json
    assert_problem(scenario.decide(scenario.approver, order["id"], "reject", "  "), 422, "reason_required")
    rejected = scenario.decide(scenario.approver, order["id"], "reject", "超出本季度预算")
    assert rejected.json["status"] == "rejected"
    assert count(OutboxMessage, OutboxMessage.template == "requisition_rejected") == 1
    second = scenario.requisition(scenario.buyer, [(scenario.tcm_sku, 20)]).json
    other_buyer = add_member(scenario.org, "buyer")
    assert_problem(scenario.decide(other_buyer, second["id"], "withdraw"), 404)
    assert scenario.decide(scenario.buyer, second["id"], "withdraw").json["status"] == "cancelled"
    assert {f["status"] for o in (rejected.json, db_order(second["id"])) for f in o["fulfillments"]} == {"cancelled"}
    assert_problem(scenario.decide(scenario.approver, second["id"], "approve"), 409, "not_awaiting_approval")
    assert count(StockMovement) == 0


def test_concurrent_approvals_of_one_requisition_approve_it_once(scenario):
    order_id = scenario.requisition(scenario.buyer, [(scenario.tcm_sku, 20)]).json["id"]
    approvers = [add_member(scenario.org, "approver") for _ in range(4)]
    clients = [scenario.client(user) for user in approvers]
    path = scenario.path(f"/requisitions/{order_id}/approve")  # ORM attributes are read here, not in the threads
    results = run_together([lambda c=c: c.post(path, json={}).status_code for c in clients])
    assert sorted(results) == [200, 409, 409, 409], results
    assert count(OrderEvent, OrderEvent.order_id == order_id, OrderEvent.type == "approved") == 1
    assert count(StockMovement) == 1 and count(Invoice) == 1
    assert stock_of(scenario.tcm_sku) == 1000 - 20


def test_approval_fails_cleanly_when_the_stock_went_meanwhile(scenario):
    order_id = scenario.requisition(scenario.buyer, [(scenario.tcm_sku, 600)]).json["id"]
    first = scenario.requisition(scenario.approver, [(scenario.tcm_sku, 500)]).json["id"]
    assert scenario.decide(scenario.admin, first, "approve").status_code == 200
    assert_problem(scenario.decide(scenario.approver, order_id, "approve"), 409, "insufficient_stock")
    assert db.session.get(Order, order_id).status == "awaiting_approval" and count(Invoice) == 1


def test_transfers_pay_the_invoice_in_parts_and_overpaying_is_refused(scenario):
    order = scenario.requisition(scenario.approver, [(scenario.tcm_sku, 20)]).json
    order = scenario.decide(scenario.admin, order["id"], "approve").json
    total = order["total_fen"]
    assert_problem(_transfer(scenario.platform, order["id"], total + 1, "BANK-OVER"), 422, "overpayment")
    assert _transfer(scenario.platform, order["id"], total // 2, "BANK-0001").status_code == 201
    assert db.session.get(Order, order["id"]).status == "approved"  # paying does not move an order on terms
    assert _transfer(scenario.platform, order["id"], total - total // 2, "BANK-0002").status_code == 201
    invoice = scenario.client(scenario.approver).get(scenario.path("/invoices")).json["items"][0]
    assert (invoice["status"], invoice["paid_fen"], invoice["due_fen"]) == ("paid", total, 0)
    assert db.session.get(Order, order["id"]).paid_at is not None
    assert_exact(order["id"])


def test_an_overdue_invoice_stops_new_orders_on_terms_until_it_is_paid(scenario):
    order = scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 2 * ZHACAI_CASE)]).json
    db.session.execute(update(Invoice).values(due_on=local_today() - dt.timedelta(days=1)))
    db.session.commit()
    overdue = api_as(scenario.platform).get("/api/v1/invoices/overdue").json["items"]
    assert [i["order_id"] for i in overdue] == [order["id"]]
    assert_problem(api_as(scenario.buyer).get("/api/v1/invoices/overdue"), 403, "admin_only")
    assert [i["order_id"] for i in scenario.client(scenario.admin).get(
        scenario.path("/invoices?overdue=true")).json["items"]] == [order["id"]]
    assert scenario.client(scenario.admin).get(scenario.path("/invoices?overdue=false")).json["items"] == []
    before = count(Order)
    assert_problem(scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 20)]), 409, "overdue_invoices")
    assert count(Order) == before
    # Card orders still go through; once the invoice is paid, terms are back.
    assert scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 20)], payment="card").status_code == 201
    assert _transfer(scenario.platform, order["id"], order["total_fen"], "BANK-LATE").status_code == 201
    assert scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 20)]).status_code == 201


@pytest.mark.parametrize("status, code", [("pending", "organization_not_approved"),
                                          ("suspended", "organization_suspended")])
def test_an_unapproved_or_suspended_organisation_cannot_order_on_terms(scenario, status, code):
    admin = make_user()
    organization = make_organization(admin, status=status)
    response = scenario.requisition(admin, [(scenario.zhacai_sku, 20)], org_id=organization.id)
    assert_problem(response, 409, code)
    assert count(Order) == 0


def test_an_organisation_without_terms_pays_by_card(scenario):
    admin = make_user()
    organization = make_organization(admin, terms="prepaid")
    assert_problem(scenario.requisition(admin, [(scenario.zhacai_sku, 20)], org_id=organization.id), 409,
                   "no_payment_terms")
    response = scenario.requisition(admin, [(scenario.zhacai_sku, 20)], org_id=organization.id, payment="card")
    order = response.json
    assert response.status_code == 201 and order["status"] == "awaiting_approval"  # an admin's limit is 0


def test_a_card_requisition_once_approved_is_paid_at_localstripe(scenario):
    order = scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 20)], payment="card").json
    assert (order["status"], order["payment_plan"], order["invoice"]) == ("pending_payment", "card", None)
    assert [e["type"] for e in order["approval_history"]] == ["placed", "approved"]
    opened = api_as(scenario.buyer).post(f"/api/v1/orders/{order['id']}/payment")
    assert opened.status_code in (200, 201), opened.json
    assert opened.json["amount_fen"] == order["total_fen"] and opened.json["client_secret"]
    pay(order["id"])
    assert db.session.get(Order, order["id"]).status == "paid"
    assert order["total_fen"] == 20 * ZHACAI_PRICE + 2000


def test_a_special_fapiao_needs_the_organisations_taxpayer_id(scenario):
    admin = make_user()
    organization = make_organization(admin, taxpayer_id=None)
    response = scenario.requisition(admin, [(scenario.zhacai_sku, 20)], org_id=organization.id,
                                    fapiao_type="special")
    assert_problem(response, 422, "special_fapiao_needs_taxpayer_id")
    order = scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 20)], fapiao_type="special").json
    assert order["fapiao"]["type"] == "special" and order["fapiao"]["taxpayer_id"] == scenario.org.taxpayer_id
    assert order["fapiao"]["bank"] == "中国银行南京分行" and order["fapiao"]["account"] == "1234567890123"
    admin = make_user()
    spaced = make_organization(admin, fapiao_bank_account="中国银行 南京 玄武支行 62220000",
                               fapiao_address_phone="南京市 中山路 1 号 025-83300000")
    detail = scenario.requisition(admin, [(scenario.zhacai_sku, 20)], org_id=spaced.id, fapiao_type="normal",
                                  payment="card").json["fapiao"]
    assert (detail["bank"], detail["account"]) == ("中国银行 南京 玄武支行", "62220000")
    assert (detail["address"], detail["phone"]) == ("南京市 中山路 1 号", "025-83300000")


def test_the_same_idempotency_key_returns_the_same_requisition(scenario):
    first = scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 20)], key="req-1")
    again = scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 20)], key="req-1")
    assert (first.status_code, again.status_code) == (201, 201) and first.json["id"] == again.json["id"]
    assert_problem(scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 30)], key="req-1"), 422,
                   "idempotency_key_reused")
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_an_approved_order_on_terms_cancelled_before_shipping_releases_its_stock_and_voids_its_invoice(scenario):
    order = scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 20)]).json
    assert stock_of(scenario.zhacai_sku) == 480
    cancelled = api_as(scenario.buyer).post(f"/api/v1/orders/{order['id']}/cancel", json={"reason": "计划有变"})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert stock_of(scenario.zhacai_sku) == 500
    db.session.execute(update(Invoice).values(due_on=local_today() - dt.timedelta(days=5)))
    db.session.commit()
    invoice = scenario.client(scenario.admin).get(scenario.path("/invoices")).json["items"][0]
    assert (invoice["status"], invoice["due_fen"]) == ("void", 0)
    assert scenario.client(scenario.admin).get(scenario.path("/invoices?overdue=true")).json["items"] == []
    assert scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 20)]).status_code == 201


def test_cancelling_a_requisition_still_awaiting_approval_gives_back_no_stock_it_never_took(scenario):
    order = scenario.requisition(scenario.buyer, [(scenario.tcm_sku, 20)]).json
    assert order["status"] == "awaiting_approval"
    cancelled = api_as(scenario.buyer).post(f"/api/v1/orders/{order['id']}/cancel", json={})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert stock_of(scenario.tcm_sku) == 1000 and count(StockMovement) == 0


def test_an_approval_checks_again_that_the_goods_are_still_on_sale(scenario):
    order = scenario.requisition(scenario.buyer, [(scenario.tcm_sku, 20)]).json
    product_id = order["lines"][0]["product_id"]
    db.session.execute(update(Product).where(Product.id == product_id).values(status="archived"))
    db.session.commit()
    assert_problem(scenario.decide(scenario.approver, order["id"], "approve"), 409, "unavailable")
    assert db.session.get(Order, order["id"]).status == "awaiting_approval" and count(StockMovement) == 0


def test_listing_requisitions_and_invoices_costs_the_same_statements_for_one_or_many(scenario):
    approver = scenario.client(scenario.approver)
    scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 20)])
    approver.get(scenario.path("/requisitions"))  # warm-up: the token's first use records last_used_at
    few = [count_statements(lambda p=p: approver.get(scenario.path(p)))[0] for p in ("/requisitions", "/invoices")]
    for _ in range(4):
        scenario.requisition(scenario.buyer, [(scenario.zhacai_sku, 20)])
        scenario.requisition(scenario.buyer, [(scenario.tcm_sku, 20)])  # awaiting approval: no invoice
    many = [count_statements(lambda p=p: approver.get(scenario.path(p))) for p in ("/requisitions", "/invoices")]
    assert [len(r.json["items"]) for _, r in many] == [9, 5]
    assert [n for n, _ in many] == few
