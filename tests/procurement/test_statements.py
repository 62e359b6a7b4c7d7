"""Statements (对账单): which orders are listed, what each owes, totals that the breakdowns add up to exactly, who may
read them, the .xlsx and CSV renderings of the same figures, and a fixed number of SQL statements."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from shop.database import local_today
from shop.extensions import db
from shop.money import fen_to_yuan
from shop.orders.cancellation import cancel_order
from shop.procurement.requisitions import reject_requisition
from shop.procurement.statement_export import BREAKDOWN_COLUMNS, ORDER_COLUMNS, QUOTA_COLUMNS
from shop.refunds.services import operator_refund
from tests.orders.factories import load_order
from tests.procurement.factories import (SHIPPING_FEE_FEN, add_member, admin_of, invoice_of, local, make_organization,
                                         make_overdue, pay_by_card, pay_by_transfer, requisition)
from tests.support import assert_problem, count_statements, make_user, token_client

PERIOD = {"from": "2025-03-01", "to": "2025-03-31"}
INJECTED_PO = '=HYPERLINK("http://evil.example","点我")'


def _url(organization, suffix: str = "", **period) -> str:
    query = {**PERIOD, **period}
    return f"/api/v1/organizations/{organization.id}/statements{suffix}?from={query['from']}&to={query['to']}"


@pytest.fixture
def listed(org, shop):
    """Requisitions in and around March 2025 (the buyer's spending limit is 0: the admin approves each unless
    told not to); returns the five the statement lists, by name, oldest first."""
    buyer = add_member(org, "buyer")
    paid = pay_by_card(requisition(buyer, org, [(shop.zhacai, 4), (shop.plums, 2)], payment="card",
                                   po_number="PO-1", placed_at=local(2025, 3, 3)))
    operator_refund(user=make_user(admin=True), order_id=paid.id, amount_fen=1001, reason="破损补偿")
    overdue = pay_by_transfer(requisition(buyer, org, [(shop.plums, 3), (shop.tcm_pieces, 1)],
                                          po_number=INJECTED_PO, placed_at=local(2025, 3, 5)), 5000)
    on_time = requisition(buyer, org, [(shop.herbs, 2)], placed_at=local(2025, 3, 6))
    refunded = pay_by_transfer(requisition(buyer, org, [(shop.zhacai, 1)], placed_at=local(2025, 3, 7)))
    cancel_order(user=buyer, order_id=refunded.id, reason="停餐")
    last_minute = requisition(buyer, org, [(shop.seeds, 1), (shop.plums, 1)], payment="card",
                              placed_at=local(2025, 3, 31, 23, 59))
    # Not listed: cancelled unpaid, awaiting approval, rejected, outside the period, another organisation's.
    cancel_order(user=buyer, order_id=requisition(buyer, org, [(shop.plums, 1)], placed_at=local(2025, 3, 8)).id)
    requisition(buyer, org, [(shop.plums, 1)], approve=False, placed_at=local(2025, 3, 9))
    rejected = requisition(buyer, org, [(shop.plums, 1)], approve=False, placed_at=local(2025, 3, 10))
    reject_requisition(user=admin_of(org), organization_id=org.id, order_id=rejected.id, comment="超预算")
    pay_by_transfer(requisition(buyer, org, [(shop.plums, 1)], placed_at=local(2025, 4, 1, 0, 0)))
    pay_by_transfer(requisition(buyer, org, [(shop.plums, 1)], placed_at=local(2025, 2, 28, 23, 59)))
    other = make_organization(name="苏州市立医院")
    pay_by_transfer(requisition(add_member(other, "buyer"), other, [(shop.plums, 1)], placed_at=local(2025, 3, 3)))
    # Last: an overdue invoice stops further orders on terms (requisitions.check_can_order).
    make_overdue(overdue, days=1)
    return {name: load_order(order.id) for name, order in (("paid", paid), ("overdue", overdue),
                                                            ("on_time", on_time), ("refunded", refunded),
                                                            ("last_minute", last_minute))}


def _statement(org, **period) -> dict:
    response = token_client(admin_of(org)).get(_url(org, **period))
    assert response.status_code == 200, response.json
    return response.json


# --- what is listed ---------------------------------------------------------------------------------------------


def test_the_statement_lists_the_periods_purchases_with_what_each_owes(org, listed):
    statement = _statement(org)
    orders = {o["number"]: o for o in statement["orders"]}
    assert list(orders) == [order.number for order in listed.values()]
    for order in listed.values():
        row = orders[order.number]
        assert (row["total_fen"], row["paid_fen"], row["refunded_fen"], row["net_paid_fen"]) == (
            order.total_fen, order.paid_fen, order.refunded_fen, order.paid_fen - order.refunded_fen)
    paid, overdue, on_time, refunded, last = (orders[listed[name].number] for name in listed)
    # Paid up front (a requisition by card: requisitions pay by card or on terms) and so without an invoice.
    assert (paid["status"], paid["payment_plan"], paid["po_number"], paid["due_fen"]) == ("paid", "card", "PO-1", 0)
    assert paid["refunded_fen"] == 1001 and paid["invoice_number"] is None and paid["overdue"] is False
    assert (overdue["status"], overdue["payment_plan"], overdue["paid_fen"]) == ("approved", "on_terms", 5000)
    assert (overdue["due_fen"], overdue["invoice_number"], overdue["overdue"]) == (
        listed["overdue"].total_fen - 5000, invoice_of(listed["overdue"]).number, True)
    assert overdue["invoice_due_on"] == (local_today() - dt.timedelta(days=1)).isoformat()
    assert (on_time["due_fen"], on_time["invoice_number"], on_time["overdue"]) == (
        listed["on_time"].total_fen, invoice_of(listed["on_time"]).number, False)
    # Cancelled after payment: refunded in full, owes nothing.
    assert (refunded["status"], refunded["refunded_fen"], refunded["net_paid_fen"], refunded["due_fen"]) == (
        "cancelled", refunded["paid_fen"], 0, 0)
    assert (last["placed_on"], last["status"], last["due_fen"]) == ("2025-03-31", "pending_payment",
                                                                    listed["last_minute"].total_fen)
    assert statement["totals"] == {
        "order_count": 5, "quantity": 4 + 2 + 3 + 1 + 2 + 1 + 1 + 1,
        "ordered_fen": sum(o.total_fen for o in listed.values()),
        "paid_fen": sum(o.paid_fen for o in listed.values()),
        "refunded_fen": sum(o.refunded_fen for o in listed.values()),
        "net_paid_fen": sum(o.paid_fen - o.refunded_fen for o in listed.values()),
        "due_fen": overdue["due_fen"] + on_time["due_fen"] + last["due_fen"],
        "overdue_fen": overdue["due_fen"], "overdue_count": 1}
    assert statement["organization"] == {"id": org.id, "name": org.name}
    assert statement["period"] == PERIOD and statement["as_of"] == local_today().isoformat()


def test_each_breakdown_adds_up_to_the_totals_to_the_fen(org, shop, listed):
    statement = _statement(org)
    totals = statement["totals"]
    for name in ("by_district", "by_supplier", "by_category"):
        breakdown = statement[name]
        assert sum(row["quantity"] for row in breakdown["rows"]) == totals["quantity"], name
        for field in ("ordered_fen", "net_paid_fen"):
            assert sum(row[field] for row in breakdown["rows"]) + breakdown["shipping"][field] == totals[field], name
    # 涪陵 charges shipping on three listed orders (zhacai twice, seeds once); one of them was cancelled and
    # refunded, shipping and all, and one is unpaid.
    assert statement["by_district"]["shipping"]["ordered_fen"] == 3 * SHIPPING_FEE_FEN
    assert 0 < statement["by_district"]["shipping"]["net_paid_fen"] < SHIPPING_FEE_FEN  # a part was refunded
    districts = {row["code"]: row for row in statement["by_district"]["rows"]}
    assert {code: row["name"] for code, row in districts.items()} == {
        "500102": "涪陵区", "500235": "云阳县", "500237": "巫山县", "500238": "巫溪县"}
    assert districts["500237"]["quantity"] == 2 + 3 + 1  # plums of the paid, overdue and last-minute orders
    assert {(row["id"], row["name"]) for row in statement["by_supplier"]["rows"]} == {
        (shop.suppliers["fuling"], "涪陵榨菜集团"), (shop.suppliers["wushan"], "巫山脆李合作社"),
        (shop.suppliers["yunyang"], "云阳万力药业")}
    assert sorted(row["name"] for row in statement["by_category"]["rows"]) == sorted(
        ["榨菜", "李子", "中药饮片", "中药材", "种子种苗"])


def test_quotas_of_every_year_the_period_touches(org, shop):
    buyer = add_member(org, "buyer")
    pay_by_transfer(requisition(buyer, org, [(shop.plums, 2)], placed_at=local(2025, 12, 20)))
    admin = token_client(admin_of(org))
    filed = admin.put(f"/api/v1/organizations/{org.id}/quotas/2025",
                      json={"canteen_food_spend_fen": 1_000_000, "share_bp": 1000}).json
    statement = _statement(org, **{"from": "2025-12-01", "to": "2026-01-31"})
    assert statement["quotas"] == [{"year": 2025, "quota": {**filed, "updated_at": statement["quotas"][0]["quota"]
                                                            ["updated_at"]}}, {"year": 2026, "quota": None}]
    assert statement["quotas"][0]["quota"]["progress_fen"] == filed["progress_fen"] > 0


@pytest.mark.parametrize("period, code", [
    ({"from": "2025-03-02", "to": "2025-03-01"}, "invalid_period"),
    ({"from": "2024-01-01", "to": "2025-01-01"}, "invalid_period"),   # 367 days
    ({"from": "1999-12-31", "to": "2000-01-01"}, "invalid_period"),
    ({"from": "9999-12-31", "to": "9999-12-31"}, "invalid_period"),   # no day after it to end the period on
    ({"from": "2025-02-30", "to": "2025-03-01"}, "validation_error"),
    ({"from": "", "to": "2025-03-01"}, "validation_error"),
])
def test_a_bad_period_is_refused(org, period, code):
    admin = token_client(admin_of(org))
    for suffix in ("", ".xlsx", ".csv"):
        assert_problem(admin.get(_url(org, suffix, **period)), 422, code)
    assert_problem(admin.get(f"/api/v1/organizations/{org.id}/statements?to=2025-03-01"), 422, "validation_error")
    assert _statement(org, **{"from": "2024-01-01", "to": "2024-12-31"})["orders"] == []  # 366 days, leap year


# --- who may read ---------------------------------------------------------------------------------------------


def test_approvers_admins_and_the_platform_read_statements_buyers_get_403_strangers_404(org, client):
    readers = [admin_of(org), add_member(org, "approver"), make_user(admin=True)]
    other = make_organization(name="苏州市立医院")
    for suffix in ("", ".xlsx", ".csv"):
        for user in readers:
            assert token_client(user).get(_url(org, suffix)).status_code == 200, (suffix, user)
        body = assert_problem(token_client(add_member(org, "buyer")).get(_url(org, suffix)), 403, "role_required")
        assert body["required_role"] == "approver"
        for user in (admin_of(other), make_user()):
            assert_problem(token_client(user).get(_url(org, suffix)), 404, "not_found")
        assert_problem(client.get(_url(org, suffix)), 401, "unauthorized")
    assert_problem(token_client(make_user(admin=True)).get(
        "/api/v1/organizations/999999/statements?from=2025-03-01&to=2025-03-31"), 404, "not_found")


# --- the files ------------------------------------------------------------------------------------------------


def _cells(values: list, columns, offset: int = 0) -> dict:
    """{key: value, key+"_yuan": 元 value} of a row laid out as statement_export writes it."""
    found, i = {}, offset
    for key, _ in columns:
        found[key] = values[i]
        i += 1
        if key.endswith("_fen"):
            found[key + "_yuan"] = values[i]
            i += 1
    return found


def _assert_yuan(row: dict, keys) -> None:
    for key in keys:
        if row[key] is not None:
            assert Decimal(str(row[key + "_yuan"])) == fen_to_yuan(row[key]), (key, row)


def test_the_workbook_holds_the_same_numbers_as_the_json(org, listed):
    statement = _statement(org)
    response = token_client(admin_of(org)).get(_url(org, ".xlsx"))
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=statement-{org.id}-2025-03-01-2025-03-31.xlsx")
    assert response.headers["Cache-Control"] == "private, no-store"
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["orders", "by district", "by supplier", "by category", "quota"]
    fen_keys = [key for key, _ in ORDER_COLUMNS if key.endswith("_fen")]

    sheet = list(workbook["orders"].iter_rows(values_only=True))
    rows = [_cells(list(values), ORDER_COLUMNS) for values in sheet[1:]]
    assert len(rows) == len(statement["orders"]) + 1  # and the totals
    for row, order in zip(rows, statement["orders"]):
        assert {key: row[key] for key in ("number", "status", "po_number", "invoice_number", *fen_keys)} == {
            key: order[key] for key in ("number", "status", "po_number", "invoice_number", *fen_keys)}
        _assert_yuan(row, fen_keys)
    assert rows[-1]["total_fen"] == statement["totals"]["ordered_fen"]
    assert rows[-1]["due_fen"] == statement["totals"]["due_fen"]
    _assert_yuan(rows[-1], fen_keys)
    po_cell = workbook["orders"].cell(row=3, column=5)
    assert po_cell.value == INJECTED_PO and po_cell.data_type == "s"  # text, not a formula
    assert workbook["orders"].cell(row=2, column=7).number_format == "0.00"
    due_on = workbook["orders"].cell(row=3, column=17)
    assert (due_on.value.date(), due_on.number_format) == (local_today() - dt.timedelta(days=1), "yyyy-mm-dd")

    for name, title in (("by_district", "by district"), ("by_supplier", "by supplier"),
                        ("by_category", "by category")):
        lines = list(workbook[title].iter_rows(values_only=True))[1:]
        assert len(lines) == len(statement[name]["rows"]) + 2  # the shipping part and the totals
        for values, row in zip(lines, statement[name]["rows"]):
            cells = _cells(list(values), BREAKDOWN_COLUMNS, offset=2)
            assert (values[0], values[1]) == (row.get("code", row.get("id")), row["name"])
            assert (cells["quantity"], cells["ordered_fen"], cells["net_paid_fen"]) == (
                row["quantity"], row["ordered_fen"], row["net_paid_fen"])
            _assert_yuan(cells, ("ordered_fen", "net_paid_fen"))
        shipping, total = (_cells(list(values), BREAKDOWN_COLUMNS, offset=2) for values in lines[-2:])
        assert shipping["ordered_fen"] == statement[name]["shipping"]["ordered_fen"]
        assert total["net_paid_fen"] == statement["totals"]["net_paid_fen"]
    quota = [_cells(list(values), QUOTA_COLUMNS) for values in workbook["quota"].iter_rows(values_only=True)][1:]
    assert [(q["year"], q["filed"], q["target_fen"]) for q in quota] == [(2025, "否 no", None)]


def test_the_csv_is_the_orders_sheet_in_utf8_with_a_bom(org, listed):
    statement = _statement(org)
    response = token_client(admin_of(org)).get(_url(org, ".csv"))
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=statement-{org.id}-2025-03-01-2025-03-31.csv")
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    workbook = load_workbook(io.BytesIO(token_client(admin_of(org)).get(_url(org, ".xlsx")).data))
    assert rows[0] == list(next(workbook["orders"].iter_rows(values_only=True)))
    assert "订单号 number" in rows[0]
    assert len(rows) == 1 + len(statement["orders"])
    for values, order in zip(rows[1:], statement["orders"]):
        row = _cells(values, ORDER_COLUMNS)
        for key, _ in ORDER_COLUMNS:
            if key.endswith("_fen"):
                assert (row[key], row[key + "_yuan"]) == (str(order[key]), f"{fen_to_yuan(order[key]):.2f}")
        assert row["number"] == order["number"]
    injected = _cells(rows[2], ORDER_COLUMNS)["po_number"]
    assert injected == "'" + INJECTED_PO  # a spreadsheet shows it as text instead of running it


# --- SQL statements -------------------------------------------------------------------------------------------


def test_the_statement_query_count_does_not_grow_with_the_orders(org, shop):
    buyer = add_member(org, "buyer")
    client = token_client(admin_of(org))
    items = [(shop.zhacai, 1), (shop.plums, 1), (shop.tcm_pieces, 1), (shop.herbs, 1)]
    assert client.put(f"/api/v1/organizations/{org.id}/quotas/2025",
                      json={"canteen_food_spend_fen": 1_000_000, "share_bp": 1000}).status_code == 200

    def measure(suffix: str = "") -> tuple[int, int]:
        client.get(_url(org, suffix))  # warm-up: the token's first use records last_used_at
        count, response = count_statements(lambda: client.get(_url(org, suffix)))
        assert response.status_code == 200
        return count, len(_statement(org)["orders"])

    pay_by_transfer(requisition(buyer, org, items[:2], placed_at=local(2025, 3, 2)))  # each with its invoice
    few = {suffix: measure(suffix) for suffix in ("", ".xlsx", ".csv")}
    for day in range(3, 12):
        pay_by_transfer(requisition(buyer, org, items, placed_at=local(2025, 3, day)))
    many = {suffix: measure(suffix) for suffix in ("", ".xlsx", ".csv")}
    assert {suffix: n for suffix, (_, n) in few.items()} == {"": 1, ".xlsx": 1, ".csv": 1}
    assert {suffix: n for suffix, (_, n) in many.items()} == {"": 10, ".xlsx": 10, ".csv": 10}
    assert {suffix: count for suffix, (count, _) in few.items()} == {
        suffix: count for suffix, (count, _) in many.items()}
    db.session.commit()
