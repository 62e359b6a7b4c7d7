"""The issue's acceptance journey, through the API only: a 江苏 hospital registers, is approved and files this
year's reserved share; its buyer orders 云阳 TCM pieces above their limit, an approver approves, the supplier ships
and issues the fapiao, the operator records two bank transfers; a 浙江 school canteen buys 涪陵榨菜 on terms. The
statements and quota progress show each correctly (TCM pieces are not canteen food)."""
from __future__ import annotations

import base64
import io

import openpyxl

from shop.database import local_today
from tests.orders.factories import SHIP, api_as, fulfillment_of
from tests.procurement.scenario import DELIVERY, ZHACAI_PRICE, organization_fields
from tests.support import make_user

ORGS = "/api/v1/organizations"
PDF = b"%PDF-1.7\n% demo e-fapiao\n"


def _register(platform, *, name: str, kind: str, home: str, spend_fen: int):
    """An organisation registered, approved on net 30, with a buyer (1,000 元) and an approver, and this year's
    10% reserved share filed. Returns (id, admin, buyer, approver)."""
    admin, buyer, approver = make_user(), make_user(), make_user()
    org = api_as(admin).post(ORGS, json=organization_fields(name=name, kind=kind, home_region_code=home))
    assert org.status_code == 201 and org.json["status"] == "pending", org.json
    org_id = org.json["id"]
    assert api_as(platform).post(f"{ORGS}/{org_id}/review", json={"action": "approve"}).json["status"] == "approved"
    assert api_as(platform).put(f"{ORGS}/{org_id}/payment-terms", json={"payment_terms": "net_30"}).status_code == 200
    for user, role, limit in ((buyer, "buyer", 100_000), (approver, "approver", 0)):
        added = api_as(admin).post(f"{ORGS}/{org_id}/members", json={"email": user.email, "role": role,
                                                                     "spending_limit_fen": limit})
        assert added.status_code == 201, added.json
    quota = api_as(admin).put(f"{ORGS}/{org_id}/quotas/{local_today().year}",
                              json={"canteen_food_spend_fen": spend_fen, "share_bp": 1000})
    assert quota.status_code in (200, 201) and quota.json["target_fen"] == spend_fen // 10, quota.json
    return org_id, admin, buyer, approver


def _transfer(platform, order_id: int, amount_fen: int, reference: str) -> None:
    response = api_as(platform).post(f"/api/v1/orders/{order_id}/bank-transfers", json={
        "amount_fen": amount_fen, "value_date": local_today().isoformat(), "reference": reference})
    assert response.status_code == 201, response.json


def _statement(user, org_id: int) -> dict:
    today = local_today().isoformat()
    start = local_today().replace(month=1, day=1).isoformat()
    response = api_as(user).get(f"{ORGS}/{org_id}/statements?from={start}&to={today}")
    assert response.status_code == 200, response.json
    return response.json


def test_a_hospital_and_a_school_canteen_buy_through_the_center(scenario):
    platform = scenario.platform
    year = local_today().year

    # --- 江苏 hospital: TCM pieces above the buyer's limit, approved, shipped, invoiced, paid in two transfers ---
    hospital, h_admin, h_buyer, h_approver = _register(platform, name="江苏省某中医院（演示）", kind="hospital",
                                                       home="320000", spend_fen=300_000_000)
    placed = api_as(h_buyer).post(f"{ORGS}/{hospital}/requisitions", json={
        "items": [{"sku_id": scenario.tcm_sku, "quantity": 100}], "delivery_address": DELIVERY,
        "po_number": "JSZY-2026-118", "fapiao_type": "special"})
    assert placed.status_code == 201 and placed.json["status"] == "awaiting_approval", placed.json
    order_id = placed.json["id"]
    approved = api_as(h_approver).post(f"{ORGS}/{hospital}/requisitions/{order_id}/approve",
                                       json={"comment": "科室年度采购计划内"})
    assert approved.json["status"] == "approved" and approved.json["invoice"]["status"] == "open", approved.json
    total = approved.json["total_fen"]
    assert approved.json["lines"][0]["saving_fen"] > 0  # the 100-bag tier applied

    supplier = api_as(scenario.tcm_supplier_owner)
    fulfillment_id = fulfillment_of(approved.json, scenario.tcm_supplier_id)
    assert supplier.post(f"/api/v1/fulfillments/{fulfillment_id}/ship", json=SHIP).status_code == 200
    request = supplier.get(f"/api/v1/fapiao?supplier_id={scenario.tcm_supplier_id}").json["items"][0]
    assert (request["type"], request["status"]) == ("special", "requested")
    issued = supplier.post(f"/api/v1/fapiao/{request['id']}/issue", json={
        "number": "26502000000012345678", "issued_on": local_today().isoformat(), "amount_fen": total,
        "pdf_base64": base64.b64encode(PDF).decode()})
    assert issued.status_code == 200 and issued.json["status"] == "issued", issued.json
    listed = api_as(h_approver).get(f"{ORGS}/{hospital}/fapiao").json["items"]
    assert [(f["number"], f["amount_fen"]) for f in listed] == [("26502000000012345678", total)]
    download = api_as(h_approver).get(f"/api/v1/fapiao/{request['id']}/file")
    assert download.status_code == 200 and download.data == PDF

    _transfer(platform, order_id, total // 3, "BOC-20261201-001")
    _transfer(platform, order_id, total - total // 3, "BOC-20261215-002")
    invoice = api_as(h_approver).get(f"{ORGS}/{hospital}/invoices").json["items"][0]
    assert (invoice["status"], invoice["paid_fen"], invoice["due_fen"]) == ("paid", total, 0)

    statement = _statement(h_approver, hospital)
    assert [(o["number"], o["paid_fen"], o["due_fen"]) for o in statement["orders"]] == [
        (approved.json["number"], total, 0)]
    assert [row["code"] for row in statement["by_district"]["rows"]] == ["500235"]  # 云阳
    assert statement["totals"]["net_paid_fen"] == total
    quota = [q["quota"] for q in statement["quotas"] if q["year"] == year][0]
    assert (quota["progress_fen"], quota["remaining_fen"]) == (0, quota["target_fen"])  # TCM is not canteen food

    # --- 浙江 school canteen: 涪陵榨菜 on terms, within the buyer's limit ---
    school, s_admin, s_buyer, s_approver = _register(platform, name="浙江省某中学食堂（演示）", kind="school",
                                                     home="330000", spend_fen=80_000_000)
    canteen = api_as(s_buyer).post(f"{ORGS}/{school}/requisitions", json={
        "items": [{"sku_id": scenario.zhacai_sku, "quantity": 20}], "delivery_address": DELIVERY})
    assert canteen.status_code == 201 and canteen.json["status"] == "approved", canteen.json
    assert canteen.json["buyer_region_code"] == "330000"
    zhacai_id, zhacai_total = canteen.json["id"], canteen.json["total_fen"]
    zhacai = api_as(scenario.zhacai_supplier_owner)
    assert zhacai.post(f"/api/v1/fulfillments/{fulfillment_of(canteen.json, scenario.zhacai_supplier_id)}/ship",
                       json=SHIP).status_code == 200
    before_paying = _statement(s_approver, school)
    assert before_paying["totals"]["due_fen"] == zhacai_total
    assert [q["quota"]["progress_fen"] for q in before_paying["quotas"] if q["year"] == year] == [0]  # not paid yet
    _transfer(platform, zhacai_id, zhacai_total, "ICBC-20261220-007")
    paid = _statement(s_approver, school)
    quota = [q["quota"] for q in paid["quotas"] if q["year"] == year][0]
    assert quota["progress_fen"] == 20 * ZHACAI_PRICE  # the goods, not the shipping
    assert quota["remaining_fen"] == quota["target_fen"] - 20 * ZHACAI_PRICE
    assert [row["code"] for row in paid["by_district"]["rows"]] == ["500102"]  # 涪陵

    # Each organisation's statement holds only its own orders; the .xlsx says what the JSON says.
    assert [o["id"] for o in paid["orders"]] == [zhacai_id]
    today, start = local_today().isoformat(), local_today().replace(month=1, day=1).isoformat()
    sheet = api_as(h_approver).get(f"{ORGS}/{hospital}/statements.xlsx?from={start}&to={today}")
    assert sheet.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(sheet.data))
    cells = [cell.value for row in workbook.worksheets[0].iter_rows() for cell in row]
    assert approved.json["number"] in cells and total in cells
    assert api_as(s_buyer).get(f"{ORGS}/{hospital}/statements?from={start}&to={today}").status_code == 404
