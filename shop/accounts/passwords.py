"""argon2id at or above the OWASP minimum, and the weak-password rule."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

MIN_LENGTH = 10
_COMMON = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID)


def hasher() -> PasswordHasher:
    cfg = current_app.config
    return _hasher(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST_KIB"], cfg["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    return frozenset(line.strip().lower() for line in _COMMON.read_text().splitlines() if line.strip())


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        problems.append("This password is too common.")
    elif email and lowered == email.split("@")[0].lower():
        problems.append("The password must not be your email name.")
    return problems
