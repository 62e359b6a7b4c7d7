"""Who sees and issues a fapiao: the issuing supplier's members (issuing is manager level), the order's buyer, and
the members of its organisation that may see every requisition (a buyer-role member sees its own). Everyone else
gets 404, as for a missing one. Lists load what they show up front."""
from __future__ import annotations

import pytest

from shop.procurement import organizations
from shop.suppliers.services import add_member
from tests.fapiao.factories import API, PDF, fapiao_of, issue_body, procurement_order, retail_order, ship
from tests.orders.factories import api_as, place
from tests.procurement.factories import add_member as add_org_member
from tests.procurement.factories import admin_of, make_organization
from tests.support import assert_problem, count_statements, make_user


def supplier_member(world, role: str):
    user = make_user()
    add_member(user=world.owner_a, supplier_id=world.supplier_a, email=user.email, role=role)
    return user


def issue(client, fapiao_id: int, amount_fen: int):
    return client.post(f"{API}/fapiao/{fapiao_id}/issue", json=issue_body(amount_fen))


def amount_of(client, fapiao_id: int) -> int:
    return client.get(f"{API}/fapiao/{fapiao_id}").json["invoiceable_fen"]


# --- suppliers ----------------------------------------------------------------------------------------------


def test_another_supplier_sees_nothing_of_it(world):
    order = retail_order(world, [(world.sku_a, 1)])
    fapiao_id = fapiao_of(order, world.supplier_a)
    other = api_as(world.owner_b)
    assert_problem(other.get(f"{API}/fapiao/{fapiao_id}"), 404, "not_found")
    assert_problem(issue(other, fapiao_id, 100), 404, "not_found")
    assert_problem(other.get(f"{API}/fapiao?supplier_id={world.supplier_a}"), 404, "not_found")
    assert other.get(f"{API}/fapiao").json == {"items": [], "next_cursor": None}
    amount = amount_of(api_as(world.owner_a), fapiao_id)
    assert issue(api_as(world.owner_a), fapiao_id, amount).status_code == 200
    assert_problem(other.get(f"{API}/fapiao/{fapiao_id}/file"), 404, "not_found")


def test_staff_read_but_only_managers_and_owners_issue(world):
    order = retail_order(world, [(world.sku_a, 1)])
    fapiao_id = fapiao_of(order, world.supplier_a)
    staff = api_as(supplier_member(world, "staff"))
    assert [f["id"] for f in staff.get(f"{API}/fapiao?supplier_id={world.supplier_a}").json["items"]] == [fapiao_id]
    amount = amount_of(staff, fapiao_id)
    body = assert_problem(issue(staff, fapiao_id, amount), 403, "role_required")
    assert body["required_role"] == "manager"
    assert staff.get(f"{API}/fapiao/{fapiao_id}").json["status"] == "requested"
    manager = api_as(supplier_member(world, "manager"))
    assert issue(manager, fapiao_id, amount).status_code == 200
    assert staff.get(f"{API}/fapiao/{fapiao_id}/file").get_data() == PDF


def test_an_unpaid_orders_request_is_not_the_suppliers_business_yet(world, buyer):
    order = place(buyer, world.address_id, [(world.sku_a, 1)], fapiao={"type": "normal", "title": "个人"})
    fapiao_id = fapiao_of(order, world.supplier_a)
    owner = api_as(world.owner_a)
    assert owner.get(f"{API}/fapiao").json["items"] == []
    assert_problem(owner.get(f"{API}/fapiao/{fapiao_id}"), 404, "not_found")
    assert_problem(issue(owner, fapiao_id, 100), 404, "not_found")
    assert buyer.get(f"{API}/fapiao/{fapiao_id}").json["status"] == "requested"  # the buyer sees its request


# --- retail buyers ------------------------------------------------------------------------------------------


def test_another_buyer_gets_404_everywhere_and_the_buyer_cannot_issue(world, buyer):
    order = retail_order(world, [(world.sku_a, 1)])
    fapiao_id = fapiao_of(order, world.supplier_a)
    assert issue(api_as(world.owner_a), fapiao_id, amount_of(buyer, fapiao_id)).status_code == 200
    stranger = api_as(make_user())
    assert_problem(stranger.get(f"{API}/orders/{order['id']}/fapiao"), 404, "not_found")
    assert_problem(stranger.get(f"{API}/fapiao/{fapiao_id}"), 404, "not_found")
    assert_problem(stranger.get(f"{API}/fapiao/{fapiao_id}/file"), 404, "not_found")
    assert_problem(issue(buyer, fapiao_id, 100), 404, "not_found")
    assert buyer.get(f"{API}/fapiao/{fapiao_id}/file").get_data() == PDF


def test_an_order_without_a_fapiao_request_lists_none(world, buyer):
    order = place(buyer, world.address_id, [(world.sku_a, 1)])
    assert buyer.get(f"{API}/orders/{order['id']}/fapiao").json == []
    assert_problem(buyer.get(f"{API}/fapiao/99999"), 404, "not_found")


# --- organisations ------------------------------------------------------------------------------------------


@pytest.fixture
def hospital(world):
    """An organisation with a buyer and an approver; the buyer's special-fapiao order, paid and shipped by A."""
    institution = make_organization()
    org_buyer = add_org_member(institution, "buyer")
    approver = add_org_member(institution, "approver")
    order = procurement_order(institution, org_buyer, [(world.sku_a, 3)])
    ship(world.owner_a, order, world.supplier_a)
    return institution, org_buyer, approver, order, fapiao_of(order, world.supplier_a)


def test_the_supplier_issues_a_special_fapiao_to_the_organisation(world, hospital):
    institution, org_buyer, approver, order, fapiao_id = hospital
    owner = api_as(world.owner_a)
    listed = owner.get(f"{API}/fapiao?supplier_id={world.supplier_a}").json["items"]
    assert [(f["id"], f["type"], f["organization_id"]) for f in listed] == [(fapiao_id, "special", institution.id)]
    assert listed[0]["buyer_details"]["taxpayer_id"] == institution.credit_code
    response = issue(owner, fapiao_id, listed[0]["invoiceable_fen"])
    assert response.status_code == 200, response.json
    for reader in (org_buyer, approver, admin_of(institution)):
        assert api_as(reader).get(f"{API}/fapiao/{fapiao_id}/file").get_data() == PDF


def test_approvers_and_admins_list_all_buyers_their_own(world, hospital):
    institution, org_buyer, approver, order, fapiao_id = hospital
    other_buyer = add_org_member(institution, "buyer")
    theirs = procurement_order(institution, other_buyer, [(world.sku_b, 1)])
    their_fapiao = fapiao_of(theirs, world.supplier_b)
    url = f"{API}/organizations/{institution.id}/fapiao"

    def listed(user, query: str = ""):
        response = api_as(user).get(url + query)
        assert response.status_code == 200, response.json
        return [f["id"] for f in response.json["items"]]

    assert listed(approver) == listed(admin_of(institution)) == [their_fapiao, fapiao_id]
    assert listed(org_buyer) == [fapiao_id] and listed(other_buyer) == [their_fapiao]
    assert listed(approver, "?status=issued") == []
    assert_problem(api_as(other_buyer).get(f"{API}/fapiao/{fapiao_id}"), 404, "not_found")
    assert api_as(approver).get(f"{API}/fapiao/{fapiao_id}").json["order_id"] == order["id"]
    assert_problem(api_as(approver).get(url + "?status=lost"), 422, "validation_error")


def test_members_of_another_organisation_and_strangers_get_404(world, hospital):
    institution, org_buyer, approver, order, fapiao_id = hospital
    assert issue(api_as(world.owner_a), fapiao_id, amount_of(api_as(world.owner_a), fapiao_id)).status_code == 200
    elsewhere = make_organization(name="南京市第二医院")
    outsider_approver = add_org_member(elsewhere, "approver")
    for user in (admin_of(elsewhere), outsider_approver, make_user()):
        client = api_as(user)
        assert_problem(client.get(f"{API}/organizations/{institution.id}/fapiao"), 404, "not_found")
        assert_problem(client.get(f"{API}/fapiao/{fapiao_id}"), 404, "not_found")
        assert_problem(client.get(f"{API}/fapiao/{fapiao_id}/file"), 404, "not_found")
    assert api_as(admin_of(elsewhere)).get(f"{API}/organizations/{elsewhere.id}/fapiao").json["items"] == []
    platform_admin = api_as(make_user(admin=True))  # operators are not the buyer's organisation either
    assert_problem(platform_admin.get(f"{API}/fapiao/{fapiao_id}/file"), 404, "not_found")


def test_a_buyer_member_who_left_still_sees_the_fapiao_of_its_own_order(world, hospital):
    """The order's buyer is a reader in its own right; leaving ends the organisation list, not that."""
    institution, org_buyer, approver, order, fapiao_id = hospital
    member = organizations.membership(user=org_buyer, organization_id=institution.id)
    organizations.remove_member(user=org_buyer, organization_id=institution.id, member_id=member.id)
    client = api_as(org_buyer)
    assert_problem(client.get(f"{API}/organizations/{institution.id}/fapiao"), 404, "not_found")
    assert client.get(f"{API}/fapiao/{fapiao_id}").json["id"] == fapiao_id


# --- statement counts ---------------------------------------------------------------------------------------


def _count(client, url: str) -> tuple[int, int]:
    client.get(url)  # warm-up: the token's first use records last_used_at, a write the next calls skip
    statements, response = count_statements(lambda: client.get(url))
    assert response.status_code == 200, response.json
    return statements, len(response.json["items"])


def test_list_statements_do_not_grow_with_the_page(world):
    institution = make_organization()
    buyer = add_org_member(institution, "buyer", limit_fen=1_000_000)  # within it: each approved at once
    for _ in range(6):  # two suppliers each: 12 fapiao, of both suppliers, for the organisation
        order = procurement_order(institution, buyer, [(world.sku_a, 1), (world.sku_b, 1)])
        ship(world.owner_a, order, world.supplier_a)
    owner, admin = api_as(world.owner_a), api_as(admin_of(institution))
    fapiao_ids = [f["id"] for f in owner.get(f"{API}/fapiao").json["items"]]
    assert issue(owner, fapiao_ids[0], amount_of(owner, fapiao_ids[0])).status_code == 200
    for client, url, total in ((owner, f"{API}/fapiao", 6),
                               (admin, f"{API}/organizations/{institution.id}/fapiao", 12)):
        small, n_small = _count(client, f"{url}?limit=2")
        large, n_large = _count(client, f"{url}?limit={total}")
        assert (n_small, n_large) == (2, total)
        assert small == large, url
