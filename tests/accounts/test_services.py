"""shop.accounts.services called directly (the autouse fixture in tests/conftest.py pushes an app context)."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from shop.accounts import services
from shop.accounts.models import ApiToken, User
from shop.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from shop.extensions import db
from tests.support import PASSWORD, make_user, unique_email


def test_register_user_normalises_and_hashes():
    user = services.register_user(email="  Bob.Smith@Example.TEST ", password=PASSWORD, display_name="  Bob  ",
                                  mobile="+8613812345678", home_region_code="500101")
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert stored.email == "Bob.Smith@Example.TEST"
    assert stored.email_normalized == "bob.smith@example.test"
    assert stored.display_name == "Bob"
    assert stored.home_region_code == "500101"
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    assert stored.is_platform_admin is False
    assert stored.session_version == 1


def test_register_user_rejects_duplicate_email_any_case():
    services.register_user(email="same@example.test", password=PASSWORD, display_name="A")
    with pytest.raises(Conflict) as excinfo:
        services.register_user(email="SAME@example.TEST", password=PASSWORD, display_name="B")
    assert excinfo.value.code == "email_taken"
    assert len(db.session.scalars(select(User)).all()) == 1


@pytest.mark.parametrize("password", ["short", "password123", "aaaaaaaaaaaa", "ababababab"])
def test_register_user_rejects_weak_passwords(password):
    email = unique_email()
    with pytest.raises(ValidationFailed) as excinfo:
        services.register_user(email=email, password=password, display_name="Weak")
    assert excinfo.value.code == "weak_password"
    assert "password" in excinfo.value.errors
    assert db.session.scalar(select(User).where(User.email_normalized == email)) is None


def test_register_user_rejects_email_name_as_password():
    with pytest.raises(ValidationFailed) as excinfo:
        services.register_user(email="longusername1@example.test", password="LongUserName1", display_name="X")
    assert excinfo.value.code == "weak_password"


def test_register_user_rejects_unknown_region():
    with pytest.raises(ValidationFailed) as excinfo:
        services.register_user(email=unique_email(), password=PASSWORD, display_name="X", home_region_code="999999")
    assert "home_region_code" in excinfo.value.errors


def test_authenticate():
    user = make_user(email="Auth.Me@example.test")
    assert services.authenticate(email="auth.me@EXAMPLE.test", password=PASSWORD).id == user.id
    for email, password in [("auth.me@example.test", PASSWORD + "!"), ("nobody@example.test", PASSWORD)]:
        with pytest.raises(Unauthorized) as excinfo:
            services.authenticate(email=email, password=password)
        assert excinfo.value.code == "invalid_credentials"


def test_authenticate_refuses_inactive_account():
    user = make_user()
    user.is_active_account = False
    db.session.commit()
    with pytest.raises(Unauthorized):
        services.authenticate(email=user.email, password=PASSWORD)


def test_change_password():
    user = make_user()
    new_password = "fresh-secret-passphrase-3"
    version = user.session_version
    services.change_password(user=user, current_password=PASSWORD, new_password=new_password)
    assert user.session_version == version + 1
    assert services.authenticate(email=user.email, password=new_password).id == user.id
    with pytest.raises(Unauthorized):
        services.authenticate(email=user.email, password=PASSWORD)


def test_change_password_needs_current_password():
    user = make_user()
    old_hash, version = user.password_hash, user.session_version
    with pytest.raises(ValidationFailed) as excinfo:
        services.change_password(user=user, current_password="not-it-at-all-1", new_password="fresh-secret-42")
    assert excinfo.value.code == "wrong_password"
    db.session.expire_all()
    assert user.password_hash == old_hash
    assert user.session_version == version


def test_change_password_rejects_weak_new_password():
    user = make_user()
    with pytest.raises(ValidationFailed) as excinfo:
        services.change_password(user=user, current_password=PASSWORD, new_password="1234567890")
    assert excinfo.value.code == "weak_password"
    assert "new_password" in excinfo.value.errors
    assert services.authenticate(email=user.email, password=PASSWORD).id == user.id


def test_load_session_user_and_end_all_sessions():
    user = make_user()
    session_id = user.get_id()
    assert session_id == f"{user.id}:{user.session_version}"
    assert services.load_session_user(session_id).id == user.id

    services.end_all_sessions(user=user)
    assert services.load_session_user(session_id) is None
    fresh_id = user.get_id()
    assert fresh_id != session_id
    assert services.load_session_user(fresh_id).id == user.id

    services.change_password(user=user, current_password=PASSWORD, new_password="yet-another-secret-5")
    assert services.load_session_user(fresh_id) is None
    assert services.load_session_user(user.get_id()).id == user.id


@pytest.mark.parametrize("session_id", ["", "1", "x:1", "1:x", "1:", ":1", "999999:1", "-1:1", "1:-1"])
def test_load_session_user_rejects_malformed_ids(session_id):
    make_user()
    assert services.load_session_user(session_id) is None


def test_load_session_user_refuses_inactive_account():
    user = make_user()
    session_id = user.get_id()
    user.is_active_account = False
    db.session.commit()
    assert services.load_session_user(session_id) is None


def test_token_is_stored_hashed():
    user = make_user()
    token, plain = services.create_token(user=user, name=" ci ")
    db.session.expire_all()
    stored = db.session.get(ApiToken, token.id)
    assert stored.name == "ci"
    assert stored.token_hash != plain
    assert plain not in stored.token_hash
    assert stored.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain.startswith(stored.prefix) and len(stored.prefix) < len(plain)
    assert stored.revoked_at is None


def test_user_from_token_and_revoke():
    user = make_user()
    token, plain = services.create_token(user=user, name="ci")
    other_token, other_plain = services.create_token(user=user, name="other")
    assert services.user_from_token(plain).id == user.id
    assert token.last_used_at is not None
    assert services.user_from_token(plain + "x") is None
    assert services.user_from_token("") is None

    services.revoke_token(user=user, token_id=token.id)
    assert services.user_from_token(plain) is None
    assert services.user_from_token(other_plain).id == user.id
    assert [t.id for t in services.list_tokens(user=user)] == [token.id, other_token.id]


def test_revoke_token_of_another_user_is_not_found():
    owner, intruder = make_user(), make_user()
    token, plain = services.create_token(user=owner, name="ci")
    with pytest.raises(NotFound):
        services.revoke_token(user=intruder, token_id=token.id)
    with pytest.raises(NotFound):
        services.revoke_token(user=owner, token_id=token.id + 1000)
    assert services.user_from_token(plain).id == owner.id
    assert services.list_tokens(user=intruder) == []


def test_revoke_is_idempotent():
    user = make_user()
    token, plain = services.create_token(user=user, name="ci")
    first = services.revoke_token(user=user, token_id=token.id).revoked_at
    second = services.revoke_token(user=user, token_id=token.id).revoked_at
    assert first is not None and first == second
    assert services.user_from_token(plain) is None


def test_token_of_inactive_user_does_not_authenticate():
    user = make_user()
    _, plain = services.create_token(user=user, name="ci")
    user.is_active_account = False
    db.session.commit()
    assert services.user_from_token(plain) is None


def test_create_admin_promotes_existing_user():
    user = make_user()
    admin = services.create_admin(email=user.email.upper(), password="ignored-password-1")
    assert admin.id == user.id
    assert admin.is_platform_admin is True
    assert services.authenticate(email=user.email, password=PASSWORD).id == user.id


def test_update_profile_validates_region():
    user = make_user(display_name="Before")
    with pytest.raises(ValidationFailed) as excinfo:
        services.update_profile(user=user, changes={"display_name": "After", "home_region_code": "999999"})
    assert "home_region_code" in excinfo.value.errors
    db.session.expire_all()
    assert user.display_name == "Before"
    services.update_profile(user=user, changes={"home_region_code": "500237"})
    db.session.expire_all()
    assert user.home_region_code == "500237"
