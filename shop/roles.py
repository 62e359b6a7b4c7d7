"""Ranked member roles, shared by suppliers and organisations: a role may do everything the roles below it may,
and each action names the least role that may do it (so a 403 can say which role would be needed)."""
from __future__ import annotations


class RoleLadder:
    def __init__(self, order: tuple[str, ...], permissions: dict[str, str]) -> None:
        unknown = set(permissions.values()) - set(order)
        if unknown:
            raise ValueError(f"permissions name roles that are not on the ladder: {unknown}")
        self.order = order                              # lowest first
        self.roles = tuple(reversed(order))             # highest first, as forms list them
        self.permissions = permissions

    def rank(self, role: str | None) -> int:
        return self.order.index(role) + 1 if role in self.order else 0

    def required_role(self, action: str) -> str:
        return self.permissions[action]  # a KeyError is a programming error: every check names a listed action

    def allows(self, role: str | None, action: str) -> bool:
        return self.rank(role) >= self.rank(self.required_role(action))
