"""User items: the profile and the email guard that makes an email unique.

- user: PK ``USER#<id>``, SK ``PROFILE``; user_id, email (normalised), password_hash (argon2id
  PHC string), role, display_name, created_at.
- email guard: PK ``EMAIL#<normalised email>``, SK ``EMAIL``; user_id.

Both are written in one transaction, each with ``attribute_not_exists(PK)``: a second
registration of an email fails on the guard and writes nothing.
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute

from market.models.base import TableModel

USER_SK = "PROFILE"
EMAIL_SK = "EMAIL"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def email_pk(email: str) -> str:
    return f"EMAIL#{email}"


class UserItem(TableModel):
    id = UnicodeAttribute(attr_name="user_id")
    email = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    role = UnicodeAttribute()
    display_name = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()  # ISO 8601 UTC with Z


class EmailGuardItem(TableModel):
    user_id = UnicodeAttribute()
