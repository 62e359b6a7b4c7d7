"""Organisations pledging: a member pledges for an approved organisation (its order, its home region, its per-buyer
limit), by card or on terms; everything else is refused with its code and changes nothing. On terms nothing is
paid before the harvest: allocation cuts the line with no refund and issues the invoice of the units allotted."""
from __future__ import annotations

from sqlalchemy import func, select

from shop.extensions import db
from shop.orders.models import OrderEvent
from shop.presale.closing import close_due_campaigns
from shop.presale.models import Pledge
from tests.orders.factories import PRICE_A, api_as, load_order, ship_and_deliver, state
from tests.presale.factories import (DEPOSIT_A, allocate, campaign_row, end_window, make_org_pledger, make_pledger,
                                     open_campaign, paid_pledge, pledge, pledging_member, refunds_of)
from tests.procurement.factories import (add_member, invoice_of, make_organization, make_overdue, pay_by_transfer,
                                         requisition)
from tests.support import assert_problem

GUANGDONG = "440000"  # 广东, the partner province of 巫山 (support_pairs.csv)


def _snapshot(campaign_id: int) -> tuple:
    pledges = db.session.scalar(select(func.count()).select_from(Pledge))
    db.session.commit()
    return state(), campaign_row(campaign_id).pledged_quantity, pledges


def _placed_event(order_id: int) -> dict:
    try:
        return db.session.scalar(select(OrderEvent.data).where(OrderEvent.order_id == order_id,
                                                               OrderEvent.type == "placed"))
    finally:
        db.session.commit()


def test_a_member_pledges_for_the_organisation_which_counts_as_an_institution_of_its_region(world):
    campaign = open_campaign(world)
    client, address_id, organization_id = make_org_pledger(GUANGDONG)

    response = pledge(client, campaign["id"], address_id, 4, organization_id=organization_id)

    assert response.status_code == 201, response.json
    order = load_order(response.json["order"]["id"])
    assert (order.organization_id, order.buyer_region_code, order.channel) == (organization_id, GUANGDONG, "presale")
    assert (order.payment_plan, order.deposit_fen, order.status) == ("deposit_balance", 4 * DEPOSIT_A,
                                                                     "pending_payment")
    assert response.json["payment"]["amount_fen"] == 4 * DEPOSIT_A
    assert _placed_event(order.id)["organization_id"] == organization_id
    plan = api_as(world.owner_a).get(f"/api/v1/campaigns/{campaign['id']}/plan").json
    assert {row["kind"]: row["quantity"] for row in plan["demand_by_kind"]} == {"institution": 4, "shopper": 0}
    assert {row["region_code"]: row["quantity"] for row in plan["demand_by_region"]} == {GUANGDONG: 4}


def test_who_may_not_pledge_for_an_organisation_is_refused_and_nothing_changes(world):
    campaign = open_campaign(world)
    client, address_id, organization_id = make_org_pledger(GUANGDONG)
    stranger, stranger_address = make_pledger("500101")
    other_client, other_address, _ = make_org_pledger(GUANGDONG)  # a member of another organisation
    pending = make_organization(status="pending", home_region_code=GUANGDONG)
    suspended = make_organization(status="suspended", home_region_code=GUANGDONG)
    small = make_organization(home_region_code=GUANGDONG)
    for organization in (pending, suspended):
        pledging_member(organization, _user_of(client))
    pledging_member(small, _user_of(client), limit_fen=4 * PRICE_A - 1)  # a fen short of the 4 units pledged
    no_taxpayer_id = make_organization(home_region_code=GUANGDONG, taxpayer_id=None)
    pledging_member(no_taxpayer_id, _user_of(client))
    prepaid_client, prepaid_address, prepaid_id = make_org_pledger(GUANGDONG, terms="prepaid")
    before = _snapshot(campaign["id"])

    cases = [
        (stranger, stranger_address, {"organization_id": organization_id}, 404, None),
        (other_client, other_address, {"organization_id": organization_id}, 404, None),
        (client, address_id, {"organization_id": pending.id}, 409, "organization_not_approved"),
        (client, address_id, {"organization_id": suspended.id}, 409, "organization_suspended"),
        (client, address_id, {"organization_id": small.id}, 403, "over_spending_limit"),
        (client, address_id, {"payment": "terms"}, 422, "organization_required"),
        (client, address_id, {"fapiao_type": "normal"}, 422, "organization_required"),
        (client, address_id, {"organization_id": organization_id, "fapiao_type": "普通"}, 422, None),
        (client, address_id, {"organization_id": no_taxpayer_id.id, "fapiao_type": "special"}, 422,
         "special_fapiao_needs_taxpayer_id"),
        (prepaid_client, prepaid_address, {"organization_id": prepaid_id, "payment": "terms"}, 409,
         "no_payment_terms"),
        (client, address_id, {"organization_id": 0}, 422, None),
        (client, address_id, {"organization_id": "1"}, 422, None),
        (client, address_id, {"organization_id": organization_id, "payment": "cheque"}, 422, None),
    ]
    for who, address, fields, status, code in cases:
        assert_problem(pledge(who, campaign["id"], address, 4, **fields), status, code)
    assert _snapshot(campaign["id"]) == before


def test_an_organisation_with_an_overdue_invoice_pledges_by_card_but_not_on_terms(world):
    campaign = open_campaign(world)
    client, address_id, organization_id = make_org_pledger(GUANGDONG)
    organization = make_organization(home_region_code=GUANGDONG)
    buyer = add_member(organization, "buyer", limit_fen=10 * PRICE_A)
    make_overdue(requisition(buyer, organization, [(world.sku_a, 1)]))
    pledging_member(organization, _user_of(client))
    before = _snapshot(campaign["id"])

    assert_problem(pledge(client, campaign["id"], address_id, 2, organization_id=organization.id, payment="terms"),
                   409, "overdue_invoices")
    assert _snapshot(campaign["id"]) == before
    assert pledge(client, campaign["id"], address_id, 2, organization_id=organization.id).status_code == 201


def test_the_per_buyer_limit_counts_an_organisations_pledges_together_and_a_members_own_apart(world):
    campaign = open_campaign(world, per_buyer_limit=5)
    first, first_address, organization_id = make_org_pledger(GUANGDONG)
    second, second_address = make_pledger("500101")
    pledging_member(_organization(organization_id), _user_of(second))

    assert pledge(first, campaign["id"], first_address, 3, organization_id=organization_id).status_code == 201
    problem = assert_problem(pledge(second, campaign["id"], second_address, 3, organization_id=organization_id),
                             409, "per_buyer_limit")
    assert problem["errors"]["quantity"] == ["At most 2."]
    assert pledge(second, campaign["id"], second_address, 2, organization_id=organization_id).status_code == 201
    # The members' own pledges are theirs, apart from the organisation's.
    assert pledge(first, campaign["id"], first_address, 5).status_code == 201
    assert campaign_row(campaign["id"]).pledged_quantity == 10


def test_a_pledge_on_terms_pays_nothing_now_is_cut_without_refund_and_invoiced_for_its_allotment(world):
    campaign = open_campaign(world, minimum_quantity=10, allocation_policy="pro_rata")
    canteen, canteen_address, organization_id = make_org_pledger(GUANGDONG, terms="net_30")
    shopper, shopper_address = make_pledger("500101")

    response = pledge(canteen, campaign["id"], canteen_address, 4, organization_id=organization_id, payment="terms",
                      fapiao_type="special", key="canteen-1")
    assert response.status_code == 201, response.json
    assert response.json["payment"] is None
    # The organisation's 专用发票 is asked for, with its own details, from the lead supplier.
    [fapiao] = canteen.get(f"/api/v1/orders/{response.json['order']['id']}/fapiao").json
    assert (fapiao["type"], fapiao["supplier_id"], fapiao["status"]) == ("special", world.supplier_a, "requested")
    assert fapiao["buyer_details"]["taxpayer_id"] == _organization(organization_id).taxpayer_id
    on_terms = response.json["order"]["id"]
    order = load_order(on_terms)
    assert (order.status, order.payment_plan, order.payment_terms, order.deposit_fen, order.expires_at) == (
        "approved", "on_terms", "net_30", 0, None)
    assert order.shipping_hold  # approved, yet it ships from the harvest
    # The same key with the same body answers the same pledge; with another organisation it is refused.
    again = pledge(canteen, campaign["id"], canteen_address, 4, organization_id=organization_id, payment="terms",
                   fapiao_type="special", key="canteen-1")
    assert (again.status_code, again.json["order"]["id"]) == (201, on_terms)
    assert_problem(pledge(canteen, campaign["id"], canteen_address, 4, payment="terms", key="canteen-1"), 422,
                   "idempotency_key_reused")
    card = paid_pledge(shopper, campaign["id"], shopper_address, 6)

    end_window(campaign["id"])
    assert close_due_campaigns() == {"succeeded": 1}  # 6 paid + 4 on terms reach the minimum of 10
    assert load_order(on_terms).status == "approved"

    response = allocate(world, campaign["id"], 5)  # pro rata: 3 of 6, 2 of 4
    assert response.status_code == 200, response.json
    rows = {row["order_id"]: row for row in response.json["pledges"]}
    assert (rows[on_terms]["allocated"], rows[on_terms]["refund_fen"], rows[on_terms]["balance_fen"]) == (2, 0, 0)
    assert rows[on_terms]["institution"] is True
    assert rows[card]["refund_fen"] == 3 * DEPOSIT_A and rows[card]["balance_fen"] > 0
    order = load_order(on_terms)
    assert (order.lines[0].quantity, order.paid_fen, order.refunded_fen) == (2, 0, 0)
    invoice = invoice_of(order)
    assert invoice.amount_fen == order.total_fen == 2 * PRICE_A + order.shipping_fen
    assert invoice.organization_id == organization_id and invoice.number.startswith("INV")
    assert (invoice.due_on - invoice.issued_on).days == 30

    # It ships now (hold lifted), and the organisation pays its invoice by transfer.
    ship_and_deliver(world, canteen.get(f"/api/v1/orders/{on_terms}").json)
    assert load_order(on_terms).status == "delivered"
    assert pay_by_transfer(load_order(on_terms)).paid_fen == invoice.amount_fen


def test_a_pledge_on_terms_of_a_failed_campaign_or_withdrawn_is_cancelled_with_nothing_to_refund(world):
    campaign = open_campaign(world, minimum_quantity=50)
    client, address_id, organization_id = make_org_pledger(GUANGDONG)
    withdrawn = pledge(client, campaign["id"], address_id, 3, organization_id=organization_id,
                       payment="terms").json["order"]["id"]
    kept = pledge(client, campaign["id"], address_id, 4, organization_id=organization_id,
                  payment="terms").json["order"]["id"]
    response = client.post(f"/api/v1/campaigns/{campaign['id']}/pledges/{withdrawn}/withdraw")
    assert response.status_code == 200, response.json
    assert campaign_row(campaign["id"]).pledged_quantity == 4

    end_window(campaign["id"])
    assert close_due_campaigns() == {"failed": 1}
    for order_id in (withdrawn, kept):
        order = load_order(order_id)
        assert (order.status, order.paid_fen, order.refunded_fen) == ("cancelled", 0, 0)
        assert refunds_of(order_id) == []


def _user_of(client) -> int:
    return client.get("/api/v1/auth/me").json["user"]["id"]


def _organization(organization_id: int):
    from shop.procurement.models import Organization

    return db.session.get(Organization, organization_id)
