"""The campaign plan: live demand (active pledges) by buyer kind and region against committed supply by supplier
and grade, the gaps and the cases, as JSON and as a workbook; a fixed number of SQL statements however many
pledges. Expected figures are computed from each test's own pledges and commitments."""
from __future__ import annotations

import io
import math
from collections import Counter

from openpyxl import load_workbook
from sqlalchemy import update

from shop.catalog.models import Sku
from shop.extensions import db
from shop.regions.services import names_of
from tests.orders.factories import api_as
from tests.presale.factories import (commit_supply, make_cooperative, make_org_pledger, make_pledger, open_campaign,
                                     paid_pledge, pledge)
from tests.support import assert_problem, count_statements, make_user

SHOPPER_REGIONS = ("320102", "500101", "500237")
# (region of the buyer, quantity, institutional?): a shopper's home region, or the organisation's (a province or city)
PLEDGES = [("320102", 3, False), ("500101", 5, False), ("500000", 2, True), ("500237", 4, False),
           ("320000", 6, True), ("500101", 1, False)]
REGIONS = tuple({region for region, _, _ in PLEDGES})
WITHDRAWN = ("500237", 7, False)  # a pledge that is withdrawn: no longer demand
SUPPLY = [("lead", "特级果", 12), ("lead", "一级果", 8), ("neighbour", "特级果", 9)]
CASE_SIZE = 4


def _plan(client, campaign_id):
    response = client.get(f"/api/v1/campaigns/{campaign_id}/plan")
    assert response.status_code == 200, response.json
    return response.json


def _pledge_all(campaign_id, pledges):
    for region, quantity, institutional in pledges:
        if institutional:  # a member pledging for an organisation of that region
            client, address_id, organization_id = make_org_pledger(region)
            response = pledge(client, campaign_id, address_id, quantity, organization_id=organization_id)
        else:
            client, address_id = make_pledger(region)
            response = pledge(client, campaign_id, address_id, quantity)
        assert response.status_code == 201, response.json


def _setup(world):
    campaign = open_campaign(world, minimum_quantity=40, capacity=100)
    _pledge_all(campaign["id"], PLEDGES)
    client, address_id = make_pledger(WITHDRAWN[0])
    order_id = pledge(client, campaign["id"], address_id, WITHDRAWN[1]).json["order"]["id"]
    assert client.post(f"/api/v1/campaigns/{campaign['id']}/pledges/{order_id}/withdraw").status_code == 200
    neighbour_owner, neighbour = make_cooperative(world)
    who = {"lead": (world.owner_a, world.supplier_a), "neighbour": (neighbour_owner, neighbour)}
    for name, grade, quantity in SUPPLY:
        owner, supplier_id = who[name]
        assert commit_supply(api_as(owner), campaign["id"], supplier_id, quantity, grade=grade).status_code == 200
    # The supplier packs in cases of CASE_SIZE from now on (the plan reads the SKU's qty_step as it is).
    db.session.execute(update(Sku).where(Sku.id == world.sku_a).values(qty_step=CASE_SIZE))
    db.session.commit()
    campaign["owners"] = {name: owner for name, (owner, _) in who.items()}
    return campaign, {name: supplier_id for name, (_, supplier_id) in who.items()}


def _expected(campaign, suppliers):
    demand = sum(quantity for _, quantity, _ in PLEDGES)
    committed = sum(quantity for _, _, quantity in SUPPLY)
    by_kind = Counter()
    for _, quantity, institutional in PLEDGES:
        by_kind["institution" if institutional else "shopper"] += quantity
    by_region = Counter()
    for region, quantity, _ in PLEDGES:
        by_region[region] += quantity
    by_supplier = {(suppliers[name], grade): quantity for name, grade, quantity in SUPPLY}
    totals = {"demand": demand, "pledges": len(PLEDGES), "committed": committed,
              "gap_to_minimum": max(campaign["minimum_quantity"] - demand, 0),
              "gap_to_capacity": max(campaign["capacity"] - demand, 0),
              "supply_minus_demand": committed - demand, "cases_needed": math.ceil(demand / CASE_SIZE)}
    return totals, dict(by_kind), dict(by_region), by_supplier


def test_the_plan_adds_up_to_the_pledges_and_commitments(world):
    campaign, suppliers = _setup(world)
    totals, by_kind, by_region, by_supplier = _expected(campaign, suppliers)
    plan = _plan(api_as(world.owner_a), campaign["id"])
    assert {key: plan["totals"][key] for key in totals} == totals
    assert plan["totals"]["gap_to_minimum"] > 0  # the inputs leave a gap, so the figure is not vacuous
    assert {row["kind"]: row["quantity"] for row in plan["demand_by_kind"]} == by_kind
    assert {row["region_code"]: row["quantity"] for row in plan["demand_by_region"]} == by_region
    names = names_of(REGIONS)
    assert {row["region_code"]: row["name"] for row in plan["demand_by_region"]} == {
        code: names[code] for code in by_region}
    assert {(row["supplier_id"], row["grade"]): row["quantity"] for row in plan["supply_by_supplier"]} == by_supplier
    db.session.commit()


def test_partners_and_admins_see_the_plan_strangers_do_not(world):
    campaign, suppliers = _setup(world)
    lead_plan = _plan(api_as(world.owner_a), campaign["id"])
    assert _plan(api_as(make_user(admin=True)), campaign["id"]) == lead_plan
    assert _plan(api_as(campaign["owners"]["neighbour"]), campaign["id"]) == lead_plan  # a contributor
    bystander, _ = make_cooperative(world, name="巫山另一合作社")  # same district, but committed nothing
    for stranger in (world.buyer, world.owner_b, bystander):
        assert_problem(api_as(stranger).get(f"/api/v1/campaigns/{campaign['id']}/plan"), 404)
        assert_problem(api_as(stranger).get(f"/api/v1/campaigns/{campaign['id']}/plan.xlsx"), 404)


def test_the_workbook_carries_the_same_totals(world):
    campaign, suppliers = _setup(world)
    client = api_as(world.owner_a)
    plan = _plan(client, campaign["id"])
    response = client.get(f"/api/v1/campaigns/{campaign['id']}/plan.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    workbook = load_workbook(io.BytesIO(response.data), read_only=True)
    assert workbook.sheetnames == ["summary", "demand", "supply"]
    summary = {row[1]: row[2] for row in workbook["summary"].iter_rows(min_row=2, values_only=True)}
    totals, _, by_region, by_supplier = _expected(campaign, suppliers)
    assert {key: summary[key] for key in totals} == totals == {key: plan["totals"][key] for key in totals}
    demand = [row for row in workbook["demand"].iter_rows(min_row=2, values_only=True)]
    assert {row[1]: row[3] for row in demand if row[0] == "region"} == by_region
    supply = {(row[0], row[2]): row[3] for row in workbook["supply"].iter_rows(min_row=2, values_only=True)}
    assert supply == by_supplier


def test_the_plan_costs_the_same_statements_for_one_pledge_or_nine(world):
    costs = {}
    for n in (1, 9):
        campaign = open_campaign(world)
        _pledge_all(campaign["id"], [(SHOPPER_REGIONS[i % len(SHOPPER_REGIONS)], 1, False) for i in range(n)])
        commit_supply(api_as(world.owner_a), campaign["id"], world.supplier_a, n)
        client = api_as(world.owner_a)
        costs[n], response = count_statements(lambda: client.get(f"/api/v1/campaigns/{campaign['id']}/plan"))
        assert response.json["totals"]["demand"] == n
    assert costs[1] == costs[9] > 0, costs


def test_paid_demand_counts_the_pledges_paid_or_on_terms_as_the_close_does(world):
    campaign = open_campaign(world, minimum_quantity=40, capacity=100)
    client, address_id = make_pledger("320102")
    paid_pledge(client, campaign["id"], address_id, 3)
    client, address_id = make_pledger("500101")
    assert pledge(client, campaign["id"], address_id, 5).status_code == 201  # deposit not paid yet
    client, address_id, organization_id = make_org_pledger("320000")
    assert pledge(client, campaign["id"], address_id, 4, organization_id=organization_id,
                  payment="terms").status_code == 201
    totals = _plan(api_as(world.owner_a), campaign["id"])["totals"]
    assert (totals["demand"], totals["paid_demand"]) == (12, 7)
