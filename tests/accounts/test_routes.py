"""HTTP behaviour of /api/v1/auth: registration, sign-in, sessions, CSRF, API tokens."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from shop.accounts.models import ApiToken, User
from shop.extensions import db
from tests.support import PASSWORD, make_user, unique_email, assert_problem, PROBLEM_JSON

AUTH = "/api/v1/auth"


def register_body(**overrides):
    body = {"email": unique_email(), "password": PASSWORD, "display_name": "Tester"}
    body.update(overrides)
    return body


def user_by_email(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email_normalized == email.lower()))


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def token_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ApiToken))


def session_cookie(app, test_client):
    cookie = test_client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def client_with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    return other


# --- registration -------------------------------------------------------------------------------------------


def test_register_creates_user_and_never_returns_password(client):
    body = register_body(email="Alice.Register@Example.test", display_name="Alice")
    response = client.post(f"{AUTH}/register", json=body)
    assert response.status_code == 201, response.json
    data = response.json
    assert data["email"] == "Alice.Register@Example.test"
    assert data["display_name"] == "Alice"
    assert data["is_platform_admin"] is False
    assert "password" not in data and "password_hash" not in data
    text = response.get_data(as_text=True)
    assert PASSWORD not in text and "argon2" not in text

    user = user_by_email("alice.register@example.test")
    assert user is not None
    assert user.id == data["id"]
    assert user.email == "Alice.Register@Example.test"
    assert user.password_hash != PASSWORD


@pytest.mark.parametrize("variant", ["dup@example.test", "DUP@EXAMPLE.TEST", "Dup@Example.Test"])
def test_duplicate_email_in_any_case_is_409(client, variant):
    assert client.post(f"{AUTH}/register", json=register_body(email="dup@example.test")).status_code == 201
    response = client.post(f"{AUTH}/register", json=register_body(email=variant))
    assert_problem(response, 409, "email_taken")
    assert user_count() == 1


@pytest.mark.parametrize("password", ["short9!", "Abc12345!"])
def test_short_password_is_weak(client, password):
    body = register_body(password=password)
    response = client.post(f"{AUTH}/register", json=body)
    problem = assert_problem(response, 422, "weak_password")
    assert problem["errors"]["password"]
    assert user_by_email(body["email"]) is None


@pytest.mark.parametrize("password", ["password123", "1234567890", "PASSWORD123"])
def test_common_password_is_weak(client, password):
    body = register_body(password=password)
    problem = assert_problem(client.post(f"{AUTH}/register", json=body), 422, "weak_password")
    assert "password" in problem["errors"]
    assert user_by_email(body["email"]) is None


def test_unknown_field_is_rejected_and_named(client):
    body = register_body(nickname="Al")
    response = client.post(f"{AUTH}/register", json=body)
    problem = assert_problem(response, 422, "validation_error")
    assert "nickname" in problem["errors"]
    assert user_by_email(body["email"]) is None


@pytest.mark.parametrize("field,value", [("is_platform_admin", True), ("id", 999)])
def test_read_only_fields_are_rejected(client, field, value):
    body = register_body(**{field: value})
    response = client.post(f"{AUTH}/register", json=body)
    problem = assert_problem(response, 422, "validation_error")
    assert field in problem["errors"]
    user = user_by_email(body["email"])
    assert user is None or not user.is_platform_admin
    assert db.session.scalar(select(func.count()).select_from(User).where(User.is_platform_admin.is_(True))) == 0


@pytest.mark.parametrize("field,value", [("display_name", 5), ("email", 12), ("password", ["x" * 12]),
                                         ("display_name", None)])
def test_wrong_types_are_rejected(client, field, value):
    body = register_body(**{field: value})
    problem = assert_problem(client.post(f"{AUTH}/register", json=body), 422, "validation_error")
    assert field in problem["errors"]
    assert user_count() == 0


def test_missing_required_fields(client):
    problem = assert_problem(client.post(f"{AUTH}/register", json={}), 422, "validation_error")
    assert {"email", "password", "display_name"} <= set(problem["errors"])


@pytest.mark.parametrize("mobile", ["12345", "+1 202 555 0143", "2025550143", "not a number"])
def test_invalid_mobile_is_rejected(client, mobile):
    body = register_body(mobile=mobile)
    problem = assert_problem(client.post(f"{AUTH}/register", json=body), 422, "validation_error")
    assert "mobile" in problem["errors"]
    assert user_by_email(body["email"]) is None


@pytest.mark.parametrize("mobile", ["13812345678", "+86 138 1234 5678", "138-1234-5678"])
def test_cn_mobile_is_stored_in_e164(client, mobile):
    body = register_body(mobile=mobile)
    response = client.post(f"{AUTH}/register", json=body)
    assert response.status_code == 201, response.json
    assert response.json["mobile"] == "+8613812345678"
    assert user_by_email(body["email"]).mobile == "+8613812345678"


@pytest.mark.parametrize("code", ["999999", "abc", "5001011"])
def test_unknown_home_region_is_rejected(client, code):
    body = register_body(home_region_code=code)
    problem = assert_problem(client.post(f"{AUTH}/register", json=body), 422, problem_code_for(code))
    assert "home_region_code" in problem["errors"]
    assert user_by_email(body["email"]) is None


def problem_code_for(code: str) -> str:
    return "invalid_region" if re.fullmatch(r"\d{6}", code) else "validation_error"


def test_known_home_region_is_stored(client):
    body = register_body(home_region_code="500237")
    response = client.post(f"{AUTH}/register", json=body)
    assert response.status_code == 201, response.json
    assert response.json["home_region_code"] == "500237"
    assert user_by_email(body["email"]).home_region_code == "500237"


@pytest.mark.parametrize("raw", ['{"email": "a@example.test", ', "not json", '{"email": }'])
def test_malformed_json_is_400(client, raw):
    response = client.raw.post(f"{AUTH}/register", data=raw, content_type="application/json")
    problem = assert_problem(response, 400, "malformed_json")
    for key in ("type", "title", "detail"):
        assert key in problem
    assert user_count() == 0


def test_body_over_max_content_length_is_413(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit
    body = register_body(display_name="x" * (limit + 10))
    response = client.post(f"{AUTH}/register", json=body)
    assert_problem(response, 413, "payload_too_large")
    assert user_count() == 0


def test_password_hash_is_argon2id_with_owasp_parameters(client):
    body = register_body()
    assert client.post(f"{AUTH}/register", json=body).status_code == 201
    stored = user_by_email(body["email"]).password_hash
    assert stored.startswith("$argon2id$")
    match = re.search(r"\$m=(\d+),t=(\d+),p=(\d+)\$", stored)
    assert match, stored
    m, t, p = map(int, match.groups())
    assert m >= 19456
    assert t >= 2
    assert p >= 1


# --- login and sessions -------------------------------------------------------------------------------------


def test_login_returns_user_and_csrf_and_me_works(client):
    user = make_user()
    response = client.login_as(user)
    assert response.json["user"]["email"] == user.email
    assert response.json["csrf_token"]
    assert "password" not in response.json["user"]
    me = client.get(f"{AUTH}/me")
    assert me.status_code == 200
    assert me.json["user"]["id"] == user.id
    assert me.json["csrf_token"] == client.csrf


def test_login_email_is_case_insensitive(client):
    user = make_user(email="MixedCase@Example.test")
    client.login("mixedcase@EXAMPLE.test")
    assert client.get(f"{AUTH}/me").json["user"]["id"] == user.id


def test_me_without_credentials_is_401(client):
    assert_problem(client.get(f"{AUTH}/me"), 401, "unauthorized")


def test_session_cookie_flags(app, client):
    user = make_user()
    response = client.login_as(user)
    name = app.config["SESSION_COOKIE_NAME"]
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookies[0].split(";")[1:]}
    assert "httponly" in attributes
    assert attributes.get("samesite", "").lower() == "samesite=lax"


def test_unknown_email_and_wrong_password_look_identical(client):
    user = make_user()
    unknown = client.post(f"{AUTH}/login", json={"email": unique_email("nobody"), "password": PASSWORD})
    wrong = client.post(f"{AUTH}/login", json={"email": user.email, "password": PASSWORD + "x"})
    first = assert_problem(unknown, 401, "invalid_credentials")
    second = assert_problem(wrong, 401, "invalid_credentials")
    first.pop("request_id")
    second.pop("request_id")
    assert first == second


def test_login_rate_limit_same_email(client):
    user = make_user()
    for i in range(5):
        response = client.post(f"{AUTH}/login", json={"email": user.email, "password": "wrong-password-1"},
                                environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"})
        assert_problem(response, 401, "invalid_credentials")
    # Different address, same account (other letter case): blocked, even with the right password.
    response = client.post(f"{AUTH}/login", json={"email": user.email.upper(), "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.0.0.99"})
    problem = assert_problem(response, 429, "rate_limited")
    for key in ("type", "title", "detail"):
        assert key in problem
    # Another account from yet another address is unaffected.
    other = make_user()
    response = client.post(f"{AUTH}/login", json={"email": other.email, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert response.status_code == 200


def test_login_rate_limit_same_address(client):
    for _ in range(5):
        response = client.post(f"{AUTH}/login", json={"email": unique_email("spray"), "password": "wrong-password-1"},
                               environ_base={"REMOTE_ADDR": "10.0.2.1"})
        assert_problem(response, 401, "invalid_credentials")
    user = make_user()
    response = client.post(f"{AUTH}/login", json={"email": user.email, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.0.2.1"})
    assert_problem(response, 429, "rate_limited")
    response = client.post(f"{AUTH}/login", json={"email": user.email, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.0.2.2"})
    assert response.status_code == 200


def test_session_cookie_replayed_after_logout_is_401(app, client):
    user = make_user()
    client.login_as(user)
    stolen = session_cookie(app, client.raw)
    replay = client_with_cookie(app, stolen)
    assert replay.get(f"{AUTH}/me").status_code == 200  # the copy works while the session lives

    assert client.post(f"{AUTH}/logout").status_code == 204
    assert_problem(client.get(f"{AUTH}/me"), 401, "unauthorized")
    assert_problem(replay.get(f"{AUTH}/me"), 401, "unauthorized")


def test_logout_ends_every_session_of_the_user(make_client):
    user = make_user()
    first, second = make_client(), make_client()
    first.login_as(user)
    second.login_as(user)
    assert second.get(f"{AUTH}/me").status_code == 200
    assert first.post(f"{AUTH}/logout").status_code == 204
    assert_problem(second.get(f"{AUTH}/me"), 401, "unauthorized")


def test_logout_requires_sign_in(client):
    assert_problem(client.post(f"{AUTH}/logout"), 401, "unauthorized")


def test_password_change_ends_older_sessions(app, client, make_client):
    user = make_user()
    client.login_as(user)
    old_copy = client_with_cookie(app, session_cookie(app, client.raw))
    other_device = make_client()
    other_device.login_as(user)

    new_password = "a-brand-new-secret-42"
    response = client.post(f"{AUTH}/password", json={"current_password": PASSWORD, "new_password": new_password})
    assert response.status_code == 200, response.json
    client.csrf = response.json["csrf_token"]

    me = client.get(f"{AUTH}/me")
    assert me.status_code == 200
    assert me.json["user"]["id"] == user.id
    assert client.post(f"{AUTH}/tokens", json={"name": "after change"}).status_code == 201
    assert_problem(old_copy.get(f"{AUTH}/me"), 401, "unauthorized")
    assert_problem(other_device.get(f"{AUTH}/me"), 401, "unauthorized")

    assert_problem(make_client().post(f"{AUTH}/login", json={"email": user.email, "password": PASSWORD}),
                   401, "invalid_credentials")
    make_client().login(user.email, new_password)


def test_password_change_with_wrong_current_password(client, make_client):
    user = make_user()
    client.login_as(user)
    response = client.post(f"{AUTH}/password",
                           json={"current_password": "not-my-password-1", "new_password": "another-good-one-7"})
    problem = assert_problem(response, 422, "wrong_password")
    assert "current_password" in problem["errors"]
    assert client.get(f"{AUTH}/me").status_code == 200  # the session survives
    make_client().login(user.email, PASSWORD)


def test_password_change_to_weak_password(client, make_client):
    user = make_user()
    client.login_as(user)
    response = client.post(f"{AUTH}/password", json={"current_password": PASSWORD, "new_password": "password123"})
    problem = assert_problem(response, 422, "weak_password")
    assert "new_password" in problem["errors"]
    make_client().login(user.email, PASSWORD)


# --- CSRF ---------------------------------------------------------------------------------------------------


def test_cookie_post_without_csrf_header_is_403(client):
    user = make_user()
    client.login_as(user)
    csrf, client.csrf = client.csrf, None
    response = client.post(f"{AUTH}/tokens", json={"name": "ci"})
    assert_problem(response, 403, "csrf_failed")
    assert token_count() == 0

    response = client.post(f"{AUTH}/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": "wrong" + csrf})
    assert_problem(response, 403, "csrf_failed")
    assert token_count() == 0

    client.csrf = csrf
    assert client.post(f"{AUTH}/tokens", json={"name": "ci"}).status_code == 201
    assert token_count() == 1


def test_cookie_patch_and_logout_without_csrf_header_are_403(client):
    user = make_user(display_name="Before")
    client.login_as(user)
    csrf, client.csrf = client.csrf, None
    assert_problem(client.patch(f"{AUTH}/me", json={"display_name": "After"}), 403, "csrf_failed")
    assert_problem(client.post(f"{AUTH}/logout"), 403, "csrf_failed")
    assert user_by_email(user.email).display_name == "Before"
    client.csrf = csrf
    assert client.get(f"{AUTH}/me").status_code == 200


# --- personal API tokens ------------------------------------------------------------------------------------


def create_token(client, name="integration"):
    response = client.post(f"{AUTH}/tokens", json={"name": name})
    assert response.status_code == 201, response.json
    return response.json


def test_token_is_shown_once_and_listed_by_prefix(client):
    user = make_user()
    client.login_as(user)
    created = create_token(client, "erp")
    plain = created["token"]
    assert plain.startswith("shp_") and len(plain) > 20
    assert created["prefix"] == plain[:len(created["prefix"])]
    assert len(created["prefix"]) < len(plain)

    listing = client.get(f"{AUTH}/tokens")
    assert listing.status_code == 200
    assert [t["id"] for t in listing.json] == [created["id"]]
    assert listing.json[0]["prefix"] == created["prefix"]
    assert listing.json[0]["name"] == "erp"
    assert "token" not in listing.json[0]
    assert plain not in listing.get_data(as_text=True)

    stored = db.session.scalar(select(ApiToken).where(ApiToken.id == created["id"]))
    assert stored.token_hash != plain and plain not in stored.token_hash


def test_bearer_token_authenticates_and_needs_no_csrf(client, make_client):
    user = make_user()
    client.login_as(user)
    plain = create_token(client)["token"]

    api = make_client()
    api.token = plain
    me = api.get(f"{AUTH}/me")
    assert me.status_code == 200
    assert me.json["user"]["id"] == user.id
    assert api.post(f"{AUTH}/tokens", json={"name": "made with bearer"}).status_code == 201
    assert token_count() == 2


def test_bearer_wins_over_cookie_and_skips_csrf(client):
    """A cookie-signed-in client sending a Bearer token is authenticated by the token; no CSRF header needed."""
    cookie_user = make_user()
    token_user = make_user()
    client.login_as(cookie_user)
    from shop.accounts.services import create_token as service_create_token

    _, plain = service_create_token(user=token_user, name="other")
    client.csrf = None
    client.token = plain
    assert client.get(f"{AUTH}/me").json["user"]["id"] == token_user.id
    response = client.post(f"{AUTH}/tokens", json={"name": "via bearer"})
    assert response.status_code == 201
    owner = db.session.scalar(select(ApiToken.user_id).where(ApiToken.id == response.json["id"]))
    assert owner == token_user.id


def test_revoked_token_is_401(client, make_client):
    user = make_user()
    client.login_as(user)
    created = create_token(client)
    api = make_client()
    api.token = created["token"]
    assert api.get(f"{AUTH}/me").status_code == 200

    response = client.delete(f"{AUTH}/tokens/{created['id']}")
    assert response.status_code == 200
    assert response.json["revoked_at"] is not None
    assert_problem(api.get(f"{AUTH}/me"), 401, "invalid_token")
    assert_problem(api.post(f"{AUTH}/tokens", json={"name": "x"}), 401, "invalid_token")
    assert token_count() == 1


def test_revoking_someone_elses_token_is_404(client, make_client):
    owner, intruder = make_user(), make_user()
    client.login_as(owner)
    created = create_token(client)

    other = make_client()
    other.login_as(intruder)
    assert_problem(other.delete(f"{AUTH}/tokens/{created['id']}"), 404, "not_found")
    assert_problem(other.delete(f"{AUTH}/tokens/{created['id'] + 1000}"), 404, "not_found")
    assert other.get(f"{AUTH}/tokens").json == []

    api = make_client()
    api.token = created["token"]
    assert api.get(f"{AUTH}/me").json["user"]["id"] == owner.id


@pytest.mark.parametrize("header", ["Bearer garbage", "Bearer shp_" + "A" * 43, "Bearer " + "x" * 500])
def test_garbage_bearer_is_401(client, header):
    make_user()
    response = client.get(f"{AUTH}/me", headers={"Authorization": header})
    assert_problem(response, 401, "invalid_token")


def test_tokens_require_sign_in(client):
    assert_problem(client.get(f"{AUTH}/tokens"), 401, "unauthorized")
    assert_problem(client.post(f"{AUTH}/tokens", json={"name": "x"}), 401, "unauthorized")
    assert token_count() == 0


# --- profile ------------------------------------------------------------------------------------------------


def test_patch_me_updates_profile(client):
    user = make_user(display_name="Old name")
    client.login_as(user)
    response = client.patch(f"{AUTH}/me", json={"display_name": "New name", "home_region_code": "500101",
                                                "mobile": "13812345678"})
    assert response.status_code == 200, response.json
    assert response.json["display_name"] == "New name"
    assert response.json["home_region_code"] == "500101"
    assert response.json["mobile"] == "+8613812345678"
    stored = user_by_email(user.email)
    assert (stored.display_name, stored.home_region_code, stored.mobile) == ("New name", "500101", "+8613812345678")


@pytest.mark.parametrize("changes,field", [({"home_region_code": "999999"}, "home_region_code"),
                                           ({"home_region_code": "12"}, "home_region_code"),
                                           ({"display_name": ""}, "display_name"),
                                           ({"mobile": "12345"}, "mobile"),
                                           ({"is_platform_admin": True}, "is_platform_admin")])
def test_patch_me_validates(client, changes, field):
    user = make_user(display_name="Unchanged", home_region_code="500237")
    client.login_as(user)
    response = client.patch(f"{AUTH}/me", json={**changes, "display_name": changes.get("display_name", "Changed")})
    assert response.status_code == 422
    assert response.mimetype == PROBLEM_JSON
    assert field in response.json["errors"]
    stored = user_by_email(user.email)
    assert stored.display_name == "Unchanged"
    assert stored.home_region_code == "500237"
    assert not stored.is_platform_admin


def test_patch_me_requires_sign_in(client):
    assert_problem(client.patch(f"{AUTH}/me", json={"display_name": "x"}), 401, "unauthorized")

