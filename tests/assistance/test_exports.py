"""Exports (.xlsx and CSV): operators get every raw figure; a supporter office's members only those of the pairs
whose supporter is their region or inside it (浙江's office sees 浙江 and 宁波, never 江苏); nobody else gets
one. Offices are granted and revoked by platform admins. Text never becomes a formula."""
from __future__ import annotations

import csv
import io
from collections import defaultdict

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from shop.catalog.models import Product
from shop.extensions import db
from tests.audit.helpers import entries_since, mark
from tests.assistance.helpers import add_entries, base_world, by_key, pair_id, query, stats
from tests.support import assert_problem, count_statements, make_user

EXPORT, OFFICES = "/api/v1/assistance/export", "/api/v1/assistance/offices"
DAY = {"start": "2024-06-15", "end": "2024-06-15"}
FORMULA_NAME = "=HYPERLINK(\"http://x.invalid\",\"黄连\")"


@pytest.fixture
def world(app):
    world = base_world(app)
    with db.engine.begin() as conn:  # a supplier may type anything into a product name
        conn.execute(update(Product).where(Product.id == world["product_id"]).values(name=FORMULA_NAME))
    shoppers, pairs = world["shoppers"], {}
    for supporter, district in (("330000", "500102"), ("330200", "500101"), ("320000", "500235")):
        pairs[supporter] = pair_id(supporter, district)
    add_entries(world, *[dict(buyer_id=shoppers[i], amount_fen=1000 + i, district_code="500102",
                              pair_id=pairs["330000"], supporter_code="330000") for i in range(3)],
                dict(buyer_id=shoppers[3], amount_fen=250, quantity=2, district_code="500101",
                     pair_id=pairs["330200"], supporter_code="330200", buyer_kind="institution",
                     organization_id=world["organizations"][0]),
                *[dict(buyer_id=shoppers[4 + i], amount_fen=7000, district_code="500235",
                       pair_id=pairs["320000"], supporter_code="320000") for i in range(3)],
                dict(buyer_id=shoppers[8], amount_fen=99, district_code="500236"))  # on no pair
    return world


def _xlsx(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    return load_workbook(io.BytesIO(response.data))


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def _office_member(admin, as_user, region_code):
    member = make_user()
    response = admin.post(OFFICES, json={"user_id": member.id, "region_code": region_code})
    assert response.status_code == 201, response.get_data(as_text=True)
    return as_user(member), response.get_json()


def test_operators_export_every_raw_figure(world, admin):
    workbook = _xlsx(admin.get(query(EXPORT, format="xlsx", group_by="district", **DAY)))
    assert workbook.sheetnames == ["summary", "detail", "about"]
    rows = list(workbook["summary"].iter_rows(values_only=True))
    raw = by_key(stats(admin, group_by="district", raw="true", **DAY))
    figures = {row[0]: (row[2], row[4], row[5]) for row in rows[1:-1]}
    assert figures == {k: (v["amount_fen"], v["quantity"], v["via_pairs_fen"]) for k, v in raw.items()}
    assert figures["500101"] == (250, 2, 250)  # one institution: raw, not withheld
    assert rows[-1][1] == "合计 total" and rows[-1][2] == sum(v["amount_fen"] for v in raw.values())
    yuan = {row[0]: row[3] for row in rows[1:-1]}
    assert float(yuan["500101"]) == 2.5 and workbook["summary"]["D2"].number_format == "0.00"
    detail = list(workbook["detail"].iter_rows())
    headers = [cell.value for cell in detail[0]]
    assert not any("buyer_id" in h or "email" in h for h in headers)
    names = [row[4] for row in detail[1:]]
    assert all(cell.value == FORMULA_NAME and cell.data_type == "s" for cell in names)


def test_the_csv_is_the_detail_and_never_a_formula(world, admin):
    rows = _csv(admin.get(query(EXPORT, format="csv", group_by="pair", **DAY)))
    sums = defaultdict(int)
    for row in rows:
        sums[row["键 key"]] += int(row["金额 amount (分 fen)"])
        assert row["商品 product"] == "'" + FORMULA_NAME
    raw = by_key(stats(admin, group_by="pair", raw="true", **DAY))
    assert dict(sums) == {k: v["amount_fen"] for k, v in raw.items() if v["amount_fen"]}
    assert {row["买家类型 buyer_kind"] for row in rows} == {"个人消费者", "采购单位"}


def test_an_office_exports_its_regions_pairs_only(world, admin, as_user):
    zhejiang, _ = _office_member(admin, as_user, "330000")
    rows = _csv(zhejiang.get(query(EXPORT, format="csv", group_by="supporter", **DAY)))
    assert {row["键 key"] for row in rows} == {"330000"}
    assert sum(int(row["金额 amount (分 fen)"]) for row in rows) == 1000 + 1001 + 1002 + 250  # 宁波's included
    workbook = _xlsx(zhejiang.get(query(EXPORT, format="xlsx", group_by="district", **DAY)))
    figures = {row[0]: row[2] for row in list(workbook["summary"].iter_rows(values_only=True))[1:-1]}
    assert figures["500235"] == 0 and figures["500236"] == 0 and figures["500102"] == 3003
    about = [list(row) for row in workbook["about"].iter_rows(values_only=True)]
    assert ["范围 scope", "结对支援方 pairs of 330000"] in about
    ningbo = _csv(zhejiang.get(query(EXPORT, format="csv", group_by="pair", supporter="330200", **DAY)))
    assert {row["键 key"] for row in ningbo} == {str(pair_id("330200", "500101"))}
    assert_problem(zhejiang.get(query(EXPORT, format="csv", group_by="pair", supporter="320000", **DAY)), 403,
                   "outside_office_region")
    city, _ = _office_member(admin, as_user, "330200")  # a city's office does not see its province's pairs
    assert {row["键 key"] for row in _csv(city.get(query(EXPORT, format="csv", group_by="supporter", **DAY)))} \
        == {"330000"}
    assert_problem(city.get(query(EXPORT, format="csv", group_by="pair", supporter="330000", **DAY)), 403,
                   "outside_office_region")
    assert sum(int(r["金额 amount (分 fen)"]) for r in _csv(city.get(query(EXPORT, format="csv", group_by="pair",
                                                                          **DAY)))) == 250


def test_nobody_else_exports(world, client, as_user, admin):
    assert_problem(client.get(query(EXPORT, format="csv", group_by="pair")), 401)
    assert_problem(as_user(make_user()).get(query(EXPORT, format="csv", group_by="pair")), 403, "export_forbidden")
    member, office = _office_member(admin, as_user, "320000")
    assert member.get(query(EXPORT, format="xlsx", group_by="pair")).status_code == 200
    assert admin.delete(f"{OFFICES}/{office['id']}").status_code == 204
    assert_problem(member.get(query(EXPORT, format="csv", group_by="pair")), 403, "export_forbidden")
    assert_problem(admin.delete(f"{OFFICES}/{office['id']}"), 404)


@pytest.mark.parametrize("params,field", [({"group_by": "pair"}, "format"), ({"format": "pdf", "group_by": "pair"},
                                          "format"), ({"format": "csv"}, "group_by"),
                                          ({"format": "csv", "group_by": "pair", "raw": "true"}, "raw")])
def test_bad_export_arguments(admin, params, field):
    assert field in assert_problem(admin.get(query(EXPORT, **params)), 422, "validation_error")["errors"]


def test_offices_are_for_platform_admins(admin, as_user, client):
    someone = make_user()
    assert_problem(client.get(OFFICES), 401)
    assert_problem(as_user(someone).post(OFFICES, json={"user_id": someone.id, "region_code": "330000"}), 403,
                   "admin_only")
    assert_problem(as_user(someone).get(OFFICES), 403, "admin_only")
    assert_problem(as_user(someone).delete(f"{OFFICES}/1"), 403, "admin_only")
    granted = admin.post(OFFICES, json={"user_id": someone.id, "region_code": "330000"})
    assert granted.status_code == 201 and granted.get_json()["region_code"] == "330000"
    assert_problem(admin.post(OFFICES, json={"user_id": someone.id, "region_code": "330000"}), 409,
                   "duplicate_office")
    assert_problem(admin.post(OFFICES, json={"user_id": 999999, "region_code": "330000"}), 422, "unknown_user")
    assert_problem(admin.post(OFFICES, json={"user_id": someone.id, "region_code": "990000"}), 422,
                   "invalid_region")
    for body in ({"user_id": str(someone.id), "region_code": "330000"}, {"user_id": someone.id},
                 {"user_id": someone.id, "region_code": "330000", "role": "chief"}, {"user_id": 2.5,
                                                                                     "region_code": "330000"}):
        assert_problem(admin.post(OFFICES, json=body), 422, "validation_error")
    listed = admin.get(query(OFFICES, region_code="330000")).get_json()
    assert [(o["user_id"], o["region_code"]) for o in listed["items"]] == [(someone.id, "330000")]


def test_the_office_list_reads_the_same_statements_for_any_page_size(admin):
    for _ in range(6):
        admin.post(OFFICES, json={"user_id": make_user().id, "region_code": "320000"})
    small, page = count_statements(lambda: admin.get(query(OFFICES, limit=2)))
    large, full = count_statements(lambda: admin.get(query(OFFICES, limit=100)))
    assert len(page.get_json()["items"]) == 2 and len(full.get_json()["items"]) == 6
    assert small == large
    second = admin.get(query(OFFICES, limit=2, cursor=page.get_json()["next_cursor"])).get_json()["items"]
    assert [o["id"] for o in second] == [o["id"] for o in full.get_json()["items"][2:4]]


def test_granting_and_revoking_an_office_are_audited(as_user):
    operator, member = make_user(admin=True), make_user()
    admin = as_user(operator)
    since = mark()
    granted = admin.post(OFFICES, json={"user_id": member.id, "region_code": "330000"}).get_json()
    assert_problem(admin.post(OFFICES, json={"user_id": member.id, "region_code": "330000"}), 409, "duplicate_office")
    assert admin.delete(f"{OFFICES}/{granted['id']}").status_code == 204
    written = entries_since(since)
    assert [(e.actor_id, e.action, e.target_id, e.before, e.after) for e in written] == [
        (operator.id, "supporter_office.granted", str(granted["id"]), None,
         {"user_id": member.id, "region_code": "330000"}),
        (operator.id, "supporter_office.revoked", str(granted["id"]), {"user_id": member.id, "region_code": "330000"},
         None)]
