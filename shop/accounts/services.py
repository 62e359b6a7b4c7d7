"""Account verbs. Each write is one unit of work (shop.transaction) and raises ShopError subclasses."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select

from shop.accounts import passwords
from shop.accounts.models import ApiToken, User
from shop.database import utcnow
from shop.errors import NotFound, Unauthorized, ValidationFailed
from shop.extensions import db
from shop.transaction import transaction

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
    """A new account; 409 email_taken when the address (any letter case) already has one. Joins the caller's
    unit of work when there is one (create_admin, the demo loader)."""
    normalised = normalise_email(email)
    _check_password(password, normalised)
    password_hash = passwords.hash_password(password)  # slow on purpose: before the unit, not holding its lock
    with transaction(conflict="email_taken", conflict_detail="An account with this email already exists."):
        _check_region(home_region_code)
        user = User(email=email.strip(), email_normalized=normalised, display_name=display_name.strip(),
                    mobile=mobile, password_hash=password_hash, home_region_code=home_region_code)
        db.session.add(user)
    return user


# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH: dict[str, str] = {}


def get_user(*, user_id: int) -> User | None:
    """For other domains telling a user something (a read, in the caller's transaction)."""
    return db.session.get(User, user_id)


def find_user_by_email(email: str) -> User | None:
    """For other domains adding members by email (a read, in the caller's transaction)."""
    return db.session.scalar(select(User).where(User.email_normalized == normalise_email(email)))


def authenticate(*, email: str, password: str) -> User:
    user = db.session.scalar(select(User).where(User.email_normalized == normalise_email(email)))
    if user is None:
        dummy = _DUMMY_HASH.setdefault("h", passwords.hash_password(secrets.token_urlsafe(16)))
        passwords.verify_password(dummy, password)
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    if not passwords.verify_password(user.password_hash, password) or not user.is_active:
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    if passwords.needs_rehash(user.password_hash):
        password_hash = passwords.hash_password(password)
        with transaction():
            user = db.session.get(User, user.id)
            user.password_hash = password_hash
    return user


def end_all_sessions(*, user: User) -> None:
    with transaction():
        user = db.session.get(User, user.id)
        user.session_version += 1


def change_password(*, user: User, current_password: str, new_password: str) -> User:
    if not passwords.verify_password(user.password_hash, current_password):
        raise ValidationFailed("The current password is wrong.", code="wrong_password",
                               errors={"current_password": ["Wrong password."]})
    _check_password(new_password, user.email_normalized, field="new_password")
    password_hash = passwords.hash_password(new_password)
    with transaction():
        user = db.session.get(User, user.id)
        user.password_hash = password_hash
        user.session_version += 1  # every session issued before now ends
    return user


def update_profile(*, user: User, changes: dict) -> User:
    with transaction():
        user = db.session.get(User, user.id)
        if "home_region_code" in changes:
            _check_region(changes["home_region_code"])
        for field in ("display_name", "mobile", "home_region_code"):
            if field in changes:
                setattr(user, field, changes[field])
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
    with transaction():
        token = ApiToken(user_id=user.id, name=name.strip(), token_hash=_hash_token(plain), prefix=plain[:10])
        db.session.add(token)
    return token, plain


def list_tokens(*, user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_token(*, user: User, token_id: int) -> ApiToken:
    with transaction():
        token = db.session.get(ApiToken, token_id)
        if token is None or token.user_id != user.id:
            raise NotFound("No such token.")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
    return token


def user_from_token(plain: str) -> User | None:
    """Every authenticated API request reads this; it writes (a unit of work of its own) only to touch
    last_used_at, at most every TOKEN_TOUCH_INTERVAL."""
    # One statement for both rows: this runs before every token-authenticated request.
    row = db.session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                             .where(ApiToken.token_hash == _hash_token(plain))).first()
    if row is None:
        return None
    token, user = row
    if not token.is_usable() or not user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        token_id = token.id
        with transaction():
            token = db.session.get(ApiToken, token_id)  # re-read in the unit: another request may have touched it
            if token is not None and (token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL):
                token.last_used_at = now
    return user


def create_admin(*, email: str, password: str, display_name: str = "Platform admin") -> User:
    """Make the account with this email a platform admin, registering it first when there is none."""
    with transaction():
        user = db.session.scalar(select(User).where(User.email_normalized == normalise_email(email)))
        if user is None:
            user = register_user(email=email, password=password, display_name=display_name)  # joins this unit
        user.is_platform_admin = True
    return user
