"""User items: the profile and the email guard that makes an email unique.

- user: PK ``USER#<id>``, SK ``PROFILE``; user_id, email (normalised), password_hash (argon2id
  PHC string), role, display_name, created_at.
- email guard: PK ``EMAIL#<normalised email>``, SK ``EMAIL``; user_id, and a copy of what logging
  in needs (role, password_hash), so that a login reads one item, not the guard and then the user.

Both are written in one transaction, each with ``attribute_not_exists(PK)``: a second
registration of an email fails on the guard and writes nothing. A password rehash updates both
in one transaction. (A guard written before the copy existed has user_id only: login then reads
the user as well.)
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
    # The login's copy of the user (market.repositories.logins).
    role = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute(null=True)
