"""Refresh tokens and their families (rotation with reuse detection).

- refresh token: PK ``REFRESH#<sha256 hex of the token>``, SK ``REFRESH``; user_id, family_id,
  issued_at, spent_at (set when rotated), expires_at (TTL).
- token family: PK ``FAMILY#<family id>``, SK ``FAMILY``; user_id, created_at, revoked_at (set
  on reuse or logout), expires_at (TTL, moved forward by each rotation).

The token itself is never stored, only its SHA-256. A spent token stays until its TTL,
so presenting it again is recognised as reuse and revokes the family.
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute

from market.models.base import TableModel

REFRESH_SK = "REFRESH"
FAMILY_SK = "FAMILY"


def refresh_pk(token_digest: str) -> str:
    return f"REFRESH#{token_digest}"


def family_pk(family_id: str) -> str:
    return f"FAMILY#{family_id}"


class RefreshTokenItem(TableModel):
    user_id = UnicodeAttribute()
    family_id = UnicodeAttribute()
    issued_at = UnicodeAttribute()
    spent_at = UnicodeAttribute(null=True)


class TokenFamilyItem(TableModel):
    user_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)
