"""Password hashing with argon2id (argon2-cffi), parameters from the settings.

argon2 is imported inside these functions, so only the auth function ever loads it:
importing this module costs nothing.

Passwords are NFKC-normalised before hashing and before checking, so the same
password typed on two keyboards (composed or decomposed accents, full-width digits)
matches itself.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

from market.settings import get_settings

if TYPE_CHECKING:
    from argon2 import PasswordHasher

# Hashed once per container and checked whenever a login names an unknown email, so that
# the unknown-email answer costs one argon2 verification, as the wrong-password answer does.
_DUMMY_PASSWORD = "not-a-real-password: timing equaliser"  # noqa: S105 - not a secret


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost_kib: int, parallelism: int) -> PasswordHasher:
    from argon2 import PasswordHasher, Type  # only the auth function loads argon2

    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost_kib,
        parallelism=parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def _current_hasher() -> PasswordHasher:
    settings = get_settings()
    return _hasher(settings.argon2_time_cost, settings.argon2_memory_cost_kib, settings.argon2_parallelism)


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_cost_kib: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_cost_kib, parallelism).hash(_DUMMY_PASSWORD)


def _normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """An argon2id PHC string (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``) with the current parameters."""
    return _current_hasher().hash(_normalise(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; False for a mismatch or an unreadable hash."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_current_hasher().verify(password_hash, _normalise(password)))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than the current settings (rehash on login)."""
    return bool(_current_hasher().check_needs_rehash(password_hash))


def prepare() -> None:
    """Build the hasher and the dummy hash now, so neither login path pays for them on its own."""
    settings = get_settings()
    _dummy_hash(settings.argon2_time_cost, settings.argon2_memory_cost_kib, settings.argon2_parallelism)


def burn_verification(password: str) -> None:
    """Spend one verification on a dummy hash: the answer for an unknown email takes as long as a wrong password."""
    settings = get_settings()
    dummy = _dummy_hash(settings.argon2_time_cost, settings.argon2_memory_cost_kib, settings.argon2_parallelism)
    verify_password(dummy, password)
