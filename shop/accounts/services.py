"""Account verbs. Each owns its transaction and raises ShopError subclasses."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop.accounts import passwords
from shop.accounts.models import ApiToken, User
from shop.database import utcnow
from shop.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from shop.extensions import db

TOKEN_PREFIX = "shp_"
TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=5)  # last_used_at is a hint; don't write on every request


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_password(password: str, email: str | None, field: str = "password") -> None:
    problems = passwords.password_problems(password, email=email)
    if problems:
        raise ValidationFailed("The password is too weak.", code="weak_password", errors={field: problems})


def _check_region(code: str | None) -> None:
    if code is None:
        return
    from shop.regions.services import get_region  # regions does not import accounts: no cycle

    get_region(code=code, field="home_region_code")


def register_user(*, email: str, password: str, display_name: str, mobile: str | None = None,
                  home_region_code: str | None = None) -> User:
    normalised = normalise_email(email)
    _check_password(password, normalised)
    _check_region(home_region_code)
    user = User(email=email.strip(), email_normalized=normalised, display_name=display_name.strip(), mobile=mobile,
                password_hash=passwords.hash_password(password), home_region_code=home_region_code)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("An account with this email already exists.", code="email_taken")
    return user


# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH: dict[str, str] = {}


def authenticate(*, email: str, password: str) -> User:
    user = db.session.scalar(select(User).where(User.email_normalized == normalise_email(email)))
    if user is None:
        dummy = _DUMMY_HASH.setdefault("h", passwords.hash_password(secrets.token_urlsafe(16)))
        passwords.verify_password(dummy, password)
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    if not passwords.verify_password(user.password_hash, password) or not user.is_active:
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        db.session.commit()
    return user


def end_all_sessions(*, user: User) -> None:
    user.session_version += 1
    db.session.commit()


def change_password(*, user: User, current_password: str, new_password: str) -> User:
    if not passwords.verify_password(user.password_hash, current_password):
        raise ValidationFailed("The current password is wrong.", code="wrong_password",
                               errors={"current_password": ["Wrong password."]})
    _check_password(new_password, user.email_normalized, field="new_password")
    user.password_hash = passwords.hash_password(new_password)
    user.session_version += 1  # every session issued before now ends
    db.session.commit()
    return user


def update_profile(*, user: User, changes: dict) -> User:
    if "home_region_code" in changes:
        _check_region(changes["home_region_code"])
    for field in ("display_name", "mobile", "home_region_code"):
        if field in changes:
            setattr(user, field, changes[field])
    db.session.commit()
    return user


def load_session_user(session_id: str) -> User | None:
    """Flask-Login user loader: the id is "<user id>:<session version>"."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version) or not user.is_active:
        return None
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, user: User, name: str) -> tuple[ApiToken, str]:
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip(), token_hash=_hash_token(plain), prefix=plain[:10])
    db.session.add(token)
    db.session.commit()
    return token, plain


def list_tokens(*, user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_token(*, user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token


def user_from_token(plain: str) -> User | None:
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(plain)))
    if token is None or not token.is_usable():
        return None
    user = db.session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        token.last_used_at = now
        db.session.commit()
    return user


def create_admin(*, email: str, password: str, display_name: str = "Platform admin") -> User:
    existing = db.session.scalar(select(User).where(User.email_normalized == normalise_email(email)))
    if existing:
        existing.is_platform_admin = True
        db.session.commit()
        return existing
    user = register_user(email=email, password=password, display_name=display_name)
    user.is_platform_admin = True
    db.session.commit()
    return user
