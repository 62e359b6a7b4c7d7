"""The one authorization helper every domain reuses: objects the user may not see answer 404."""
from __future__ import annotations

from typing import TypeVar

from shop.accounts.auth import authenticated_user
from shop.error_codes import ADMIN_ONLY
from shop.errors import Forbidden, NotFound, Unauthorized

T = TypeVar("T")


def require_platform_admin():
    return ensure_platform_admin(authenticated_user())


def ensure_platform_admin(actor):
    """Operator-only verbs: 401 without a user, 403 admin_only for anyone else."""
    if actor is None:
        raise Unauthorized()
    if not actor.is_platform_admin:
        raise Forbidden("Platform administrators only.", code=ADMIN_ONLY)
    return actor


def visible_or_404(obj: T | None, allowed: bool, what: str = "object") -> T:
    """Object-level authorization: someone else's object is indistinguishable from a missing one."""
    if obj is None or not allowed:
        raise NotFound(f"No such {what}.")
    return obj
