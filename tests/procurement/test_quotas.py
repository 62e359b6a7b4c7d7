"""Province minimums, filing the reserved share (预留份额) and its progress: paid canteen food from reservoir
districts, net of refunds, per local calendar year."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from shop.extensions import db
from shop.orders.cancellation import cancel_order
from shop.orders.models import OrderLine
from shop.procurement import quotas
from shop.procurement.models import AnnualQuota, ProvinceQuotaMinimum
from shop.refunds.services import operator_refund
from tests.orders.factories import load_order
from tests.procurement.factories import (PLUM_PRICE, SHIPPING_FEE_FEN, ZHACAI_PRICE, add_member, admin_of, local,
                                         make_organization, pay_by_transfer, requisition)
from tests.support import assert_problem, count_statements, make_user, token_client

YEAR = 2025
URL = "/api/v1/organizations/{}/quotas"


def _file(client, organization, body, year: int = YEAR):
    return client.put(f"{URL.format(organization.id)}/{year}", json=body)


def _quota_rows() -> list[tuple]:
    try:
        return [tuple(r) for r in db.session.execute(select(
            AnnualQuota.organization_id, AnnualQuota.year, AnnualQuota.canteen_food_spend_fen, AnnualQuota.share_bp,
            AnnualQuota.target_fen, AnnualQuota.filed_by_id).order_by(AnnualQuota.id))]
    finally:
        db.session.commit()


def _minimum_rows() -> list[tuple]:
    try:
        return [tuple(r) for r in db.session.execute(select(
            ProvinceQuotaMinimum.region_code, ProvinceQuotaMinimum.share_bp, ProvinceQuotaMinimum.source))]
    finally:
        db.session.commit()


def _set_minimum(region_code: str, share_bp: int, client=None):
    client = client or token_client(make_user(admin=True))
    return client.put(f"/api/v1/quota-minimums/{region_code}", json={"share_bp": share_bp,
                                                                     "source": "苏政办发〔2024〕12号"})


def _paid(organization, buyer, items, at):
    """A requisition on terms, approved (by the organisation's admin: the buyers here have a spending limit of 0),
    placed at `at` and paid in full by a recorded transfer."""
    return pay_by_transfer(requisition(buyer, organization, items, placed_at=at))


# --- filing -------------------------------------------------------------------------------------------------


def test_an_admin_files_and_refiles_a_year_and_the_target_is_rounded_up(org):
    admin = token_client(admin_of(org))
    response = _file(admin, org, {"canteen_food_spend_fen": 1_000_001, "share_bp": 1000})
    assert response.status_code == 200, response.json
    assert response.json | {"created_at": None, "updated_at": None} == {
        "organization_id": org.id, "year": YEAR, "canteen_food_spend_fen": 1_000_001, "share_bp": 1000,
        "target_fen": 100_001, "progress_fen": 0, "share_reached_bp": 0, "remaining_fen": 100_001,
        "achieved": False, "filed_by_id": admin_of(org).id, "created_at": None, "updated_at": None}
    # Re-filing the same year changes that year's row; another year is a row of its own.
    assert _file(admin, org, {"canteen_food_spend_fen": 3, "share_bp": 3333}).json["target_fen"] == 1  # 0.9999
    assert _file(admin, org, {"canteen_food_spend_fen": 0, "share_bp": 1000}, year=2026).json["target_fen"] == 0
    assert _quota_rows() == [(org.id, YEAR, 3, 3333, 1, admin_of(org).id), (org.id, 2026, 0, 1000, 0, admin_of(org).id)]
    assert admin.get(f"{URL.format(org.id)}/2026").json["achieved"] is True  # nothing to reach
    assert [q["year"] for q in admin.get(URL.format(org.id)).json["items"]] == [2026, YEAR]


@pytest.mark.parametrize("body, year, status, code", [
    ({"canteen_food_spend_fen": 100_000, "share_bp": 999}, YEAR, 422, "share_below_minimum"),
    ({"canteen_food_spend_fen": 100_000.5, "share_bp": 1000}, YEAR, 422, "validation_error"),
    ({"canteen_food_spend_fen": 100_000.0, "share_bp": 1000}, YEAR, 422, "validation_error"),
    ({"canteen_food_spend_fen": "100000", "share_bp": 1000}, YEAR, 422, "validation_error"),
    ({"canteen_food_spend_fen": -1, "share_bp": 1000}, YEAR, 422, "validation_error"),
    ({"canteen_food_spend_fen": 100_000, "share_bp": 1500.0}, YEAR, 422, "validation_error"),
    ({"canteen_food_spend_fen": 100_000, "share_bp": 10_001}, YEAR, 422, "validation_error"),
    ({"canteen_food_spend_fen": 100_000, "share_bp": True}, YEAR, 422, "validation_error"),
    ({"share_bp": 1000}, YEAR, 422, "validation_error"),
    ({"canteen_food_spend_fen": 100_000, "share_bp": 1000, "target_fen": 1}, YEAR, 422, "validation_error"),
    ({"canteen_food_spend_fen": 100_000, "share_bp": 1000}, 1999, 422, "invalid_quota_year"),
    ({"canteen_food_spend_fen": 100_000, "share_bp": 1000}, 2101, 422, "invalid_quota_year"),
])
def test_a_refused_filing_changes_nothing(org, body, year, status, code):
    admin = token_client(admin_of(org))
    assert _file(admin, org, {"canteen_food_spend_fen": 50_000, "share_bp": 1200}).status_code == 200
    before = _quota_rows()
    body = assert_problem(_file(admin, org, body, year=year), status, code)
    if code == "share_below_minimum":
        assert body["minimum_share_bp"] == 1000 and "1000 bp (10%)" in body["detail"]
        assert body["errors"] == {"share_bp": ["At least 1000 (10%)."]}
    assert _quota_rows() == before


def test_an_organisation_without_a_canteen_files_no_share(org):
    no_canteen = make_organization(has_canteen=False, name="南京市第三中学")
    admin = token_client(admin_of(no_canteen))
    assert_problem(_file(admin, no_canteen, {"canteen_food_spend_fen": 0, "share_bp": 1000}), 409, "no_canteen")
    assert _quota_rows() == []
    assert_problem(admin.get(f"{URL.format(no_canteen.id)}/{YEAR}"), 404, "quota_not_found")


def test_only_the_organisations_admins_file_and_strangers_learn_nothing(org):
    other = make_organization(name="苏州市立医院")
    callers = [(token_client(add_member(org, "buyer")), 403, "role_required"),
               (token_client(add_member(org, "approver")), 403, "role_required"),
               (token_client(admin_of(other)), 404, "not_found"),
               (token_client(make_user()), 404, "not_found"),
               (token_client(make_user(admin=True)), 404, "not_found")]  # the platform reads, the unit files
    for client, status, code in callers:
        body = assert_problem(_file(client, org, {"canteen_food_spend_fen": 100_000, "share_bp": 1000}), status, code)
        if status == 403:
            assert body["required_role"] == "admin"
    assert _quota_rows() == []


def test_members_and_platform_admins_read_quotas_others_get_404(org):
    filed = _file(token_client(admin_of(org)), org, {"canteen_food_spend_fen": 10_000, "share_bp": 1000})
    assert filed.status_code == 200
    for client in (token_client(add_member(org, "buyer")), token_client(make_user(admin=True))):
        assert client.get(f"{URL.format(org.id)}/{YEAR}").json["target_fen"] == 1000
        assert len(client.get(URL.format(org.id)).json["items"]) == 1
    for client in (token_client(admin_of(make_organization(name="苏州市立医院"))), token_client(make_user())):
        assert_problem(client.get(f"{URL.format(org.id)}/{YEAR}"), 404, "not_found")
        assert_problem(client.get(URL.format(org.id)), 404, "not_found")
    assert_problem(token_client(admin_of(org)).get(f"{URL.format(org.id)}/2024"), 404, "quota_not_found")
    assert_problem(token_client(admin_of(org)).get(f"{URL.format(org.id)}/1999"), 422, "invalid_quota_year")


# --- province minimums ----------------------------------------------------------------------------------------


def test_a_province_at_20_percent_refuses_15_for_its_organisations_and_their_cities(org):
    assert _set_minimum("320000", 2000).json == {**_set_minimum("320000", 2000).json, "region_code": "320000",
                                                 "region_name": "江苏省", "share_bp": 2000}
    in_city = make_organization(home_region_code="320100", name="南京市鼓楼医院")
    elsewhere = make_organization(home_region_code="350000", name="福建省立医院")
    for organization in (org, in_city):
        admin = token_client(admin_of(organization))
        before = _quota_rows()
        body = assert_problem(_file(admin, organization, {"canteen_food_spend_fen": 100_000, "share_bp": 1500}),
                              422, "share_below_minimum")
        assert body["minimum_share_bp"] == 2000 and "2000 bp (20%) in 江苏省" in body["detail"]
        assert _quota_rows() == before
        assert _file(admin, organization, {"canteen_food_spend_fen": 100_000, "share_bp": 2000}).status_code == 200
    # Elsewhere the national 10% holds.
    assert _file(token_client(admin_of(elsewhere)), elsewhere,
                 {"canteen_food_spend_fen": 100_000, "share_bp": 1500}).status_code == 200
    # A filed share stands when the province raises its minimum later; re-filing meets the new one.
    assert _set_minimum("320000", 2500).status_code == 200
    admin = token_client(admin_of(org))
    assert admin.get(f"{URL.format(org.id)}/{YEAR}").json["share_bp"] == 2000
    assert_problem(_file(admin, org, {"canteen_food_spend_fen": 100_000, "share_bp": 2000}), 422,
                   "share_below_minimum")
    listed = token_client(make_user()).get("/api/v1/quota-minimums").json
    assert [(m["region_code"], m["share_bp"], m["source"]) for m in listed["items"]] == [
        ("320000", 2500, "苏政办发〔2024〕12号")]


@pytest.mark.parametrize("region_code, share_bp, status, code", [
    ("320100", 2000, 422, "not_a_province"),   # a city
    ("500237", 2000, 422, "not_a_province"),   # a county
    ("999999", 2000, 422, "not_a_province"),   # no region
    ("320000", 999, 422, "validation_error"),  # below the national floor
    ("320000", 10_001, 422, "validation_error"),
    ("320000", 2000.0, 422, "validation_error"),
])
def test_a_refused_minimum_changes_nothing(region_code, share_bp, status, code):
    assert _set_minimum("500000", 3000).status_code == 200
    before = _minimum_rows()
    assert_problem(_set_minimum(region_code, share_bp), status, code)
    assert _minimum_rows() == before


def test_only_platform_admins_set_minimums(org):
    for user in (make_user(), admin_of(org)):
        assert_problem(_set_minimum("320000", 2000, client=token_client(user)), 403, "admin_only")
    assert _minimum_rows() == []


# --- progress -------------------------------------------------------------------------------------------------


def test_progress_counts_paid_canteen_food_from_reservoir_districts_only(org, shop):
    admin = admin_of(org)
    buyer = add_member(org, "buyer")
    other = make_organization(name="苏州市立医院")
    at = local(YEAR, 3, 1)
    counted = _paid(org, buyer, [(shop.zhacai, 4), (shop.plums, 2)], at)
    # Not canteen food, not from a reservoir district, not paid, or not this organisation's: none counts.
    _paid(org, buyer, [(shop.tcm_pieces, 3), (shop.misfiled_tcm, 1), (shop.herbs, 2), (shop.seeds, 5),
                       (shop.yuzhong_veg, 7)], at)
    requisition(buyer, org, [(shop.plums, 9)], placed_at=at)  # approved on terms, its invoice not paid yet
    _paid(other, add_member(other, "buyer"), [(shop.plums, 8)], at)
    goods = 4 * ZHACAI_PRICE + 2 * PLUM_PRICE
    assert counted.total_fen == goods + SHIPPING_FEE_FEN  # the shipping is paid too, but is not food
    assert quotas.progress_by_year(organization_id=org.id, years=[YEAR]) == {YEAR: goods}
    assert quotas.progress_by_year(organization_id=other.id, years=[YEAR]) == {YEAR: 8 * PLUM_PRICE}

    client = token_client(admin)
    quota = _file(client, org, {"canteen_food_spend_fen": 10 * goods, "share_bp": 1500}).json
    target = -(-10 * goods * 1500 // 10_000)
    assert quota | {"created_at": None, "updated_at": None} == quota | {
        "progress_fen": goods, "target_fen": target, "share_reached_bp": 1000, "remaining_fen": target - goods,
        "achieved": False, "created_at": None, "updated_at": None}


def test_refunds_are_netted_and_a_cancelled_order_counts_nothing(org, shop):
    buyer = add_member(org, "buyer")
    plums = _paid(org, buyer, [(shop.plums, 10)], local(YEAR, 5, 1))
    zhacai = _paid(org, buyer, [(shop.zhacai, 3)], local(YEAR, 5, 2))
    cancelled = _paid(org, buyer, [(shop.plums, 1)], local(YEAR, 5, 3))
    operator = make_user(admin=True)
    operator_refund(user=operator, order_id=plums.id, amount_fen=1000, reason="破损补偿")
    # Spread over the zhacai line and its shipping: only the line's part is taken off the progress.
    operator_refund(user=operator, order_id=zhacai.id, amount_fen=1001, reason="运费补偿")
    cancel_order(user=buyer, order_id=cancelled.id, reason="食堂停餐")
    assert load_order(cancelled.id).refunded_fen == PLUM_PRICE
    zhacai_refunded = db.session.scalar(select(OrderLine.refunded_fen).where(OrderLine.order_id == zhacai.id))
    assert 0 < zhacai_refunded < 1001
    expected = 10 * PLUM_PRICE - 1000 + 3 * ZHACAI_PRICE - zhacai_refunded
    assert quotas.progress_by_year(organization_id=org.id, years=[YEAR]) == {YEAR: expected}
    client = token_client(admin_of(org))
    spend = expected * 10
    quota = _file(client, org, {"canteen_food_spend_fen": spend, "share_bp": 1000}).json
    assert (quota["progress_fen"], quota["target_fen"], quota["remaining_fen"], quota["achieved"],
            quota["share_reached_bp"]) == (expected, expected, 0, True, 1000)


def test_the_year_is_the_local_calendar_year_of_placement(org, shop):
    buyer = add_member(org, "buyer")
    _paid(org, buyer, [(shop.plums, 1)], local(YEAR, 12, 31, 23, 59))     # 15:59 UTC: still 2025
    _paid(org, buyer, [(shop.plums, 2)], local(YEAR + 1, 1, 1, 0, 30))    # 2025-12-31 16:30 UTC: 2026 here
    _paid(org, buyer, [(shop.plums, 4)], local(YEAR - 1, 6, 1))
    assert quotas.progress_by_year(organization_id=org.id, years=[YEAR + 1, YEAR - 1, YEAR, 2030]) == {
        YEAR - 1: 4 * PLUM_PRICE, YEAR: PLUM_PRICE, YEAR + 1: 2 * PLUM_PRICE, 2030: 0}


def test_progress_of_many_years_is_one_statement(org, shop):
    buyer = add_member(org, "buyer")
    for year in range(2021, 2026):
        _paid(org, buyer, [(shop.plums, 1), (shop.zhacai, 1)], local(year, 7, 1))
    org_id = org.id
    one, _ = count_statements(lambda: quotas.progress_by_year(organization_id=org_id, years=[2025]))
    five, result = count_statements(lambda: quotas.progress_by_year(organization_id=org_id, years=range(2021, 2026)))
    assert one == five == (2 if db.engine.dialect.name == "sqlite" else 1)  # SQLite's BEGIN is a statement too
    assert set(result.values()) == {PLUM_PRICE + ZHACAI_PRICE}
    client = token_client(admin_of(org))
    assert _file(client, org, {"canteen_food_spend_fen": 100_000, "share_bp": 1000}, year=2025).status_code == 200
    client.get(URL.format(org.id))  # warm-up: the token's first use records last_used_at
    few, _ = count_statements(lambda: client.get(URL.format(org.id)))
    for year in range(2021, 2025):
        assert _file(client, org, {"canteen_food_spend_fen": 100_000, "share_bp": 1000}, year=year).status_code == 200
    many, response = count_statements(lambda: client.get(URL.format(org.id)))
    assert [q["progress_fen"] for q in response.json["items"]] == [PLUM_PRICE + ZHACAI_PRICE] * 5
    assert few == many
