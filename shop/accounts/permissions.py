"""The one authorization helper every domain reuses: objects the user may not see answer 404."""
from __future__ import annotations

from typing import TypeVar

from shop.accounts.auth import authenticated_user
from shop.errors import Forbidden, NotFound

T = TypeVar("T")


def require_platform_admin():
    user = authenticated_user()
    if not user.is_platform_admin:
        raise Forbidden("Platform administrators only.", code="admin_only")
    return user


def visible_or_404(obj: T | None, allowed: bool, what: str = "object") -> T:
    """Object-level authorization: someone else's object is indistinguishable from a missing one."""
    if obj is None or not allowed:
        raise NotFound(f"No such {what}.")
    return obj
