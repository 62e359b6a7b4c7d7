"""Campaign drafts, opening, visibility and moderation: the terms a draft keeps (定金 ≤ 20%, the shipping window
in the sale months), who sees a draft, and suspension by the platform."""
from __future__ import annotations

import datetime as dt

import pytest

from shop.extensions import db
from shop.presale.models import CAMPAIGN_TRANSITIONS, Campaign
from shop.suppliers.models import Supplier
from tests.catalog.factories import make_product
from tests.orders.factories import PRICE_A, anonymous, api_as, sku_of
from tests.presale.factories import DEPOSIT_A, campaign_body, create_draft, open_campaign
from tests.support import assert_problem, count_statements, make_user


def test_a_manager_creates_a_draft_with_the_default_promise(world):
    draft = create_draft(world)
    assert draft["status"] == "draft" and draft["pledged_quantity"] == 0
    assert draft["deposit_per_unit_fen"] == DEPOSIT_A and draft["default_promise"] == "double_deposit"
    full = create_draft(world, deposit_per_unit_fen=0)
    assert full["default_promise"] == "refund_in_full"


def test_a_deposit_above_a_fifth_of_the_price_is_refused(world):
    response = api_as(world.owner_a).post("/api/v1/campaigns",
                                          json=campaign_body(world, deposit_per_unit_fen=DEPOSIT_A + 1))
    body = assert_problem(response, 422, "deposit_too_high")
    assert body["errors"]["deposit_per_unit_fen"] == [f"At most {PRICE_A // 5}."]


@pytest.mark.parametrize("overrides,code", [
    ({"deposit_per_unit_fen": 0, "default_promise": "double_deposit"}, "invalid_promise"),
    ({"default_promise": "refund_in_full"}, "invalid_promise"),
    ({"minimum_quantity": 101}, "invalid_quantities"),
    ({"per_buyer_limit": 101}, "invalid_quantities"),
    ({"unit_price_fen": 2.5}, "validation_error"),
])
def test_terms_a_draft_keeps(world, overrides, code):
    response = api_as(world.owner_a).post("/api/v1/campaigns", json=campaign_body(world, **overrides))
    assert_problem(response, 422, code)


def test_the_order_window_and_the_shipping_window(world):
    body = campaign_body(world)
    early = dt.date.fromisoformat(body["closes_at"][:10]) - dt.timedelta(days=2)
    response = api_as(world.owner_a).post("/api/v1/campaigns", json={**body, "ships_from": early.isoformat()})
    assert_problem(response, 422, "invalid_window")
    response = api_as(world.owner_a).post("/api/v1/campaigns", json={**body, "closes_at": body["opens_at"]})
    assert_problem(response, 422, "invalid_window")


def test_the_shipping_window_must_fall_in_the_products_sale_months(world):
    body = campaign_body(world)
    ship_month = dt.date.fromisoformat(body["ships_from"]).month
    other_month = ship_month % 12 + 6 if ship_month <= 6 else ship_month - 6
    supplier = db.session.get(Supplier, world.supplier_a)
    product = make_product(supplier, name="巫山脆李 晚熟", sale_months=[other_month])
    response = api_as(world.owner_a).post("/api/v1/campaigns", json={**body, "sku_id": sku_of(product.id)})
    assert_problem(response, 422, "outside_sale_months")


def test_the_sku_must_be_the_suppliers_own(world):
    response = api_as(world.owner_a).post("/api/v1/campaigns", json=campaign_body(world, sku_id=world.sku_b))
    assert_problem(response, 422, "unknown_sku")
    # nor may another supplier's owner start a campaign in supplier A's name
    response = api_as(world.owner_b).post("/api/v1/campaigns", json=campaign_body(world))
    assert_problem(response, 404)


def test_staff_cannot_run_campaigns(world):
    from shop.suppliers import services as suppliers

    staff = make_user()
    suppliers.add_member(user=world.owner_a, supplier_id=world.supplier_a, email=staff.email, role="staff")
    response = api_as(staff).post("/api/v1/campaigns", json=campaign_body(world))
    assert_problem(response, 403, "role_required")


def test_another_supplier_can_neither_see_a_draft_nor_open_it(world):
    draft = create_draft(world)
    url = f"/api/v1/campaigns/{draft['id']}"
    other, shopper = api_as(world.owner_b), api_as(world.buyer)
    for client in (other, shopper, anonymous()):
        assert_problem(client.get(url), 404)
        assert draft["id"] not in [c["id"] for c in client.get("/api/v1/campaigns").json["items"]]
    assert_problem(other.post(f"{url}/open"), 404)
    assert_problem(other.patch(url, json={"title": "改名"}), 404)
    assert_problem(other.post(f"{url}/cancel", json={"reason": "不要了"}), 404)
    assert db.session.get(Campaign, draft["id"]).status == "draft"
    db.session.commit()
    owner = api_as(world.owner_a)
    assert owner.get(url).json["status"] == "draft"
    assert draft["id"] in [c["id"] for c in owner.get("/api/v1/campaigns").json["items"]]


def test_drafts_are_edited_then_opened_and_go_public(world):
    draft = create_draft(world)
    owner, url = api_as(world.owner_a), f"/api/v1/campaigns/{draft['id']}"
    edited = owner.patch(url, json={"title": "巫山脆李 2027 预售", "deposit_per_unit_fen": 0})
    assert edited.status_code == 200, edited.json
    assert (edited.json["title"], edited.json["default_promise"]) == ("巫山脆李 2027 预售", "refund_in_full")
    assert_problem(owner.patch(url, json={"deposit_per_unit_fen": PRICE_A}), 422, "deposit_too_high")
    assert owner.post(f"{url}/open").json["status"] == "open"
    assert anonymous().get(url).json["status"] == "open"
    assert_problem(owner.patch(url, json={"title": "again"}), 409, "not_a_draft")
    assert_problem(owner.post(f"{url}/open"), 409, "illegal_campaign_transition")
    events = owner.get(f"{url}/events").json
    assert [e["type"] for e in events] == ["created", "edited", "open"]
    assert_problem(api_as(world.buyer).get(f"{url}/events"), 404)


def test_suspend_and_reinstate(world):
    campaign = open_campaign(world)
    url = f"/api/v1/campaigns/{campaign['id']}"
    admin = api_as(make_user(admin=True))
    assert_problem(api_as(world.owner_a).post(f"{url}/suspend", json={"reason": "x"}), 403, "admin_only")
    assert_problem(admin.post(f"{url}/suspend", json={}), 422, "reason_required")
    suspended = admin.post(f"{url}/suspend", json={"reason": "产地证明待核实"})
    assert suspended.status_code == 200, suspended.json
    assert (suspended.json["status"], suspended.json["suspended_from"]) == ("suspended", "open")
    assert_problem(anonymous().get(url), 404)  # off the shop
    assert api_as(world.owner_a).get(url).json["status"] == "suspended"  # its members still see it
    assert_problem(admin.post(f"{url}/suspend", json={"reason": "again"}), 409, "illegal_campaign_transition")
    reinstated = admin.post(f"{url}/reinstate", json={})
    assert (reinstated.json["status"], reinstated.json["suspended_from"]) == ("open", None)
    assert_problem(admin.post(f"{url}/reinstate", json={}), 409, "illegal_campaign_transition")
    events = admin.get(f"{url}/events").json
    assert [(e["type"], e["from_status"], e["to_status"]) for e in events][-2:] == [
        ("suspended", "open", "suspended"), ("reinstated", "suspended", "open")]


def test_a_draft_cannot_be_suspended_and_a_cancelled_campaign_is_final(world):
    admin = api_as(make_user(admin=True))
    draft = create_draft(world)
    url = f"/api/v1/campaigns/{draft['id']}"
    assert_problem(admin.post(f"{url}/suspend", json={"reason": "x"}), 409, "illegal_campaign_transition")
    owner = api_as(world.owner_a)
    assert_problem(owner.post(f"{url}/cancel", json={}), 422, "reason_required")
    assert owner.post(f"{url}/cancel", json={"reason": "收成不好"}).json["status"] == "cancelled"
    assert_problem(owner.post(f"{url}/open"), 409, "illegal_campaign_transition")


def test_the_state_machine_is_data():
    live = {"open", "closed", "succeeded", "allocated", "fulfilling"}
    assert CAMPAIGN_TRANSITIONS["draft"] == {"open", "cancelled"}
    assert CAMPAIGN_TRANSITIONS["closed"] >= {"succeeded", "failed"}
    assert {s for s, targets in CAMPAIGN_TRANSITIONS.items() if "cancelled" in targets} == {
        "draft", "open", "closed", "succeeded"}
    assert {s for s, targets in CAMPAIGN_TRANSITIONS.items() if "suspended" in targets} == live
    assert all(not CAMPAIGN_TRANSITIONS[s] for s in ("failed", "completed", "cancelled"))
    campaign = Campaign(status="suspended", suspended_from="closed")
    assert campaign.can_move_to("closed") and not campaign.can_move_to("open")


def test_listing_campaigns_costs_the_same_statements_for_one_or_nine(world):

    def listing(client):
        response = client.get("/api/v1/campaigns?limit=20")
        assert response.status_code == 200, response.json
        return len(response.json["items"])

    open_campaign(world)
    create_draft(world)  # the owner's own draft is listed for the owner only
    owner, public = api_as(world.owner_a), anonymous()
    listing(owner)  # the first request of a client also records its token's use
    one_owner, seen = count_statements(lambda: listing(owner))
    assert seen == 2
    one_public, seen = count_statements(lambda: listing(public))
    assert seen == 1
    for _ in range(8):
        open_campaign(world)
    nine_owner, seen = count_statements(lambda: listing(owner))
    assert seen == 10
    nine_public, seen = count_statements(lambda: listing(public))
    assert seen == 9
    assert (nine_owner, nine_public) == (one_owner, one_public)
