"""Who sees and does what, bad input, replays, the statement workbook, the close command and the list's SQL."""
from __future__ import annotations

import io

from flask import current_app
from openpyxl import load_workbook

from shop.settlements.figures import commission_of
from tests.orders.factories import PRICE_A, PRICE_B, anonymous, api_as
from tests.settlements.helpers import close, figures, operator_refund, paid, settlement_of
from tests.support import assert_problem, count_statements


def _closed_january(clock, world, buyer, admin) -> dict:
    """One order of both suppliers paid in January 2027 and a refund of it; January closed on 2 February.
    Returns supplier id → its closed settlement."""
    clock.to(2027, 1, 10)
    order = paid(buyer, world.address_id, [(world.sku_a, 3), (world.sku_b, 2)])
    operator_refund(admin, order["id"], 1001)
    clock.to(2027, 2, 2)
    assert close(admin, "2027-01").status_code == 201
    return {s["supplier_id"]: s for s in admin.get("/api/v1/settlements?month=2027-01").json["items"]}


def test_commission_follows_the_rate_of_each_day_and_rounds_once_per_rate(clock, world, buyer, admin):
    clock.to(2027, 3, 2)
    rates = f"/api/v1/suppliers/{world.supplier_a}/commission-rates"
    assert admin.post(rates, json={"bps": 333, "effective_from": "2027-03-10"}).status_code == 201
    assert admin.post(rates, json={"bps": 1, "effective_from": "2027-03-20"}).status_code == 201
    paid(buyer, world.address_id, [(world.sku_a, 1)])  # default 500
    clock.to(2027, 3, 12)
    paid(buyer, world.address_id, [(world.sku_a, 1)])  # 333
    paid(buyer, world.address_id, [(world.sku_a, 2)])
    clock.to(2027, 3, 25)
    paid(buyer, world.address_id, [(world.sku_a, 1)])  # 1
    march = figures("2027-03")[world.supplier_a]
    assert [(part.bps, part.base_fen) for part in march.commissions] == [(500, PRICE_A), (333, 3 * PRICE_A),
                                                                         (1, PRICE_A)]
    # 5990 × 5% = 299.5 → 300; 17970 × 3.33% = 598.401 → 598; 5990 × 0.01% = 0.599 → 1
    assert [part.commission_fen for part in march.commissions] == [300, 598, 1]
    assert march.commission_fen == 899
    history = api_as(world.owner_a).get(rates).json  # the supplier's members read the history
    assert [(r["bps"], r["effective_from"]) for r in history] == [(333, "2027-03-10"), (1, "2027-03-20")]


def test_rounding_is_half_away_from_zero_and_symmetric():
    assert [commission_of(base, 500) for base in (10, 9, 11, -10, -9, 0)] == [1, 0, 1, -1, 0, 0]
    assert all(commission_of(-base, bps) == -commission_of(base, bps)
               for base in range(0, 3000, 7) for bps in (0, 1, 333, 500, 10_000))
    assert commission_of(12345, 10_000) == 12345


def test_members_see_their_own_suppliers_settlements_only(clock, world, buyer, admin):
    frozen = _closed_january(clock, world, buyer, admin)
    mine, theirs = frozen[world.supplier_a], frozen[world.supplier_b]
    owner_a = api_as(world.owner_a)
    assert [s["id"] for s in owner_a.get("/api/v1/settlements").json["items"]] == [mine["id"]]
    assert owner_a.get(f"/api/v1/settlements?supplier_id={world.supplier_b}").json["items"] == []
    assert owner_a.get(f"/api/v1/settlements/{mine['id']}").status_code == 200
    assert settlement_of(owner_a, world.supplier_a, "2027-02")["status"] == "open"
    for path in (f"/api/v1/settlements/{theirs['id']}", f"/api/v1/settlements/{theirs['id']}/statement.xlsx",
                 f"/api/v1/suppliers/{world.supplier_b}/settlements/2027-01",
                 f"/api/v1/suppliers/{world.supplier_b}/settlements/2027-01/statement.xlsx",
                 f"/api/v1/suppliers/{world.supplier_b}/commission-rates"):
        assert_problem(owner_a.get(path), 404)
        assert_problem(buyer.get(path), 404)  # a buyer sees none
        assert_problem(anonymous().get(path), 401)
    assert buyer.get("/api/v1/settlements").json == {"items": [], "next_cursor": None}
    for client in (owner_a, buyer):  # operators' verbs
        assert_problem(client.post(f"/api/v1/settlements/{mine['id']}/pay", json={"payout_reference": "CMB0001"}),
                       403, "admin_only")
        assert_problem(close(client, "2027-02"), 403, "admin_only")
        assert_problem(client.post(f"/api/v1/suppliers/{world.supplier_a}/commission-rates",
                                   json={"bps": 1, "effective_from": "2027-06-01"}), 403, "admin_only")
    assert_problem(admin.get("/api/v1/settlements/999999"), 404)
    assert_problem(admin.get("/api/v1/suppliers/999999/settlements/2027-01"), 404)


def test_bad_input_is_refused_with_its_code(clock, world, buyer, admin):
    frozen = _closed_january(clock, world, buyer, admin)
    for body in ({"month": "2027-13"}, {"month": "27-01"}, {"month": "2027-01\n"}, {}, {"month": "2027-01", "x": 1}):
        assert_problem(admin.post("/api/v1/settlements/close", json=body), 422, "validation_error")
    assert_problem(close(admin, "2027-02"), 409, "month_not_over")  # February is not over on 2 February
    assert_problem(close(admin, "2027-01"), 409, "month_already_closed")
    rates = f"/api/v1/suppliers/{world.supplier_a}/commission-rates"
    for body in ({"bps": 10_001, "effective_from": "2027-03-01"}, {"bps": -1, "effective_from": "2027-03-01"},
                 {"bps": 2.5, "effective_from": "2027-03-01"}, {"bps": "500", "effective_from": "2027-03-01"},
                 {"bps": 500, "effective_from": "2027-3-1"}, {"bps": 500}, {"bps": 5, "effective_from": "2027-03-01",
                                                                           "supplier_id": 1}):
        assert_problem(admin.post(rates, json=body), 422, "validation_error")
    assert_problem(admin.post(rates, json={"bps": 900, "effective_from": "2027-01-31"}), 409, "rate_in_closed_month")
    assert admin.post(rates, json={"bps": 900, "effective_from": "2027-02-01"}).status_code == 201
    for query in ("month=2027-00", "status=open", "supplier_id=abc", "limit=0", "cursor=!!"):
        assert_problem(admin.get(f"/api/v1/settlements?{query}"), 422)
    assert_problem(admin.get(f"/api/v1/suppliers/{world.supplier_a}/settlements/2027-1"), 404)
    pay = f"/api/v1/settlements/{frozen[world.supplier_a]['id']}/pay"
    for body in ({}, {"payout_reference": "x"}, {"payout_reference": "CMB 01"}, {"payout_reference": 1234}):
        assert_problem(admin.post(pay, json=body), 422, "validation_error")


def test_a_payout_is_recorded_once_and_a_replay_changes_nothing(clock, world, buyer, admin):
    frozen = _closed_january(clock, world, buyer, admin)
    settlement = frozen[world.supplier_a]
    pay = f"/api/v1/settlements/{settlement['id']}/pay"
    first = admin.post(pay, json={"payout_reference": "CMB2027020501"})
    assert first.status_code == 200, first.json
    assert (first.json["status"], first.json["payout_reference"]) == ("paid", "CMB2027020501")
    assert first.json["payable_fen"] == settlement["payable_fen"]
    replay = admin.post(pay, json={"payout_reference": "CMB2027020501"})
    assert replay.status_code == 200 and replay.json == first.json
    assert_problem(admin.post(pay, json={"payout_reference": "CMB2027020502"}), 409, "settlement_paid")
    assert admin.get(f"/api/v1/settlements/{settlement['id']}").json == first.json
    assert [s["id"] for s in admin.get("/api/v1/settlements?status=paid").json["items"]] == [settlement["id"]]
    assert_problem(admin.post("/api/v1/settlements/999999/pay", json={"payout_reference": "CMB2027020501"}), 404)


def test_the_statement_lists_the_entries_behind_the_figures(clock, world, buyer, admin):
    frozen = _closed_january(clock, world, buyer, admin)
    settlement = frozen[world.supplier_b]
    response = api_as(world.owner_b).get(f"/api/v1/settlements/{settlement['id']}/statement.xlsx")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["summary", "commission", "lines"]
    lines = list(workbook["lines"].iter_rows(min_row=2, values_only=True))
    assert sum(row[6] for row in lines) == settlement["sales_fen"] - settlement["refunds_fen"] + \
        settlement["shipping_fen"] - settlement["shipping_refunds_fen"]
    assert {row[1] for row in lines} == {"收款 payment", "退款 refund"}
    assert all(round(row[7] * 100) == row[6] for row in lines)  # 元 from the fen
    goods = [row for row in lines if row[2] == "商品 goods" and row[1] == "收款 payment"]
    assert [row[6] for row in goods] == [2 * PRICE_B] and goods[0][8] == 500
    summary = {row[0]: row[1] for row in workbook["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["应付供应商 payable"] == settlement["payable_fen"]
    live = api_as(world.owner_b).get(f"/api/v1/suppliers/{world.supplier_b}/settlements/2027-01/statement.xlsx")
    assert live.status_code == 200


def test_the_close_command_closes_last_month_once(clock, world, buyer):
    clock.to(2027, 4, 20)
    paid(buyer, world.address_id, [(world.sku_b, 1)])
    clock.to(2027, 5, 1, 9)
    runner = current_app.test_cli_runner()
    result = runner.invoke(args=["shop", "close-settlements"])
    assert result.exit_code == 0 and result.output.startswith("2027-04: 1 settlements closed"), result.output
    again = runner.invoke(args=["shop", "close-settlements", "--month", "2027-04"])
    assert again.exit_code != 0 and "month_already_closed" in again.output
    assert runner.invoke(args=["shop", "close-settlements", "--month", "April"]).exit_code != 0


def test_the_list_reads_a_constant_number_of_statements(clock, world, buyer, admin):
    rates = f"/api/v1/suppliers/{world.supplier_a}/commission-rates"
    months = []
    for month in (6, 7, 8):
        clock.to(2027, month, 3)
        paid(buyer, world.address_id, [(world.sku_a, 1), (world.sku_b, 1)])
        months.append(f"2027-{month:02d}")
    clock.to(2027, 9, 2)
    assert admin.post(rates, json={"bps": 700, "effective_from": "2027-09-02"}).status_code == 201
    counts = []
    for month in months:
        assert close(admin, month).status_code == 201
        total = len(admin.get("/api/v1/settlements?limit=100").json["items"])
        statements, response = count_statements(lambda: admin.get("/api/v1/settlements?limit=100"))
        assert response.status_code == 200 and len(response.json["items"]) == total
        counts.append(statements)
    assert len(set(counts)) == 1, counts
    page = admin.get("/api/v1/settlements?limit=4").json
    rest = admin.get(f"/api/v1/settlements?limit=4&cursor={page['next_cursor']}").json
    assert [s["month"] for s in page["items"] + rest["items"]] == ["2027-08"] * 2 + ["2027-07"] * 2 + ["2027-06"] * 2
    assert rest["next_cursor"] is None
