"""Users and callers: who has an account, who is calling, and the rules about roles and emails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["customer", "creator", "admin"]
ROLES: tuple[Role, ...] = ("customer", "creator", "admin")
# Roles anybody may give themselves at registration; an admin is made by an operator.
SELF_SERVICE_ROLES: tuple[Role, ...] = ("customer", "creator")


def normalise_email(value: str) -> str:
    """Trimmed and lower-cased: the one form an email is stored, guarded and looked up in."""
    return value.strip().lower()


@dataclass(frozen=True)
class User:
    id: str
    email: str  # normalised
    password_hash: str  # argon2id PHC string; never leaves the auth service
    role: str
    display_name: str | None
    created_at: str

    def __repr__(self) -> str:  # never show the hash
        return f"User(id={self.id!r}, role={self.role!r})"


@dataclass(frozen=True)
class Credentials:
    """What logging in needs of an account (the email guard keeps a copy of it)."""

    user_id: str
    role: str
    password_hash: str  # argon2id PHC string; never leaves the auth service

    def __repr__(self) -> str:  # never show the hash
        return f"Credentials(user_id={self.user_id!r}, role={self.role!r})"


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the verified access token says."""

    user_id: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_creator(self) -> bool:
        return self.role == "creator"


@dataclass(frozen=True)
class RefreshToken:
    """A refresh token as stored: only its SHA-256 ``digest``; ``spent_at`` once rotated."""

    digest: str
    user_id: str
    family_id: str
    issued_at: str
    expires_at: int  # epoch seconds
    spent_at: str | None = None

    def is_live(self, now: int) -> bool:
        """Not yet expired (the table's TTL deletes late, so expiry is checked here)."""
        return self.expires_at > now


@dataclass(frozen=True)
class TokenFamily:
    """The refresh tokens of one login; revoked on logout or when a spent token is presented again."""

    id: str
    user_id: str
    created_at: str
    revoked_at: str | None = None
