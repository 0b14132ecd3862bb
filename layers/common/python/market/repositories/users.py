"""Users: create with a unique email (one transaction), read by id, replace a password hash.

The email guard carries a copy of what logging in needs (``market.repositories.logins`` reads it).
"""

from __future__ import annotations

from collections.abc import Sequence

from pynamodb.exceptions import DoesNotExist

from market.domain.errors import Conflict
from market.domain.user import Credentials, User
from market.models.base import from_domain, to_domain
from market.models.user import EMAIL_SK, USER_SK, EmailGuardItem, UserItem, email_pk, user_pk
from market.repositories.transactions import OperationRejected, TxOp, write


class EmailTaken(Conflict):
    slug = "email-taken"

    def __init__(self) -> None:
        super().__init__("An account with this email already exists.")


def _item(user: User) -> UserItem:
    return from_domain(UserItem(user_pk(user.id), USER_SK), user)


def create_user(user: User, also: Sequence[TxOp] = ()) -> None:
    """Write the user and its email guard in one transaction (with the items ``also`` names);
    ``EmailTaken`` if only the guard's condition failed, else ``OperationRejected``.

    The transaction is also the only check (registering costs one round trip). A concurrent
    registration of the same email cancels one of the two with a conflict; ``write`` tries again,
    so the loser sees the winner's guard and answers 409.
    """
    guard = EmailGuardItem(
        email_pk(user.email), EMAIL_SK, user_id=user.id, role=user.role, password_hash=user.password_hash
    )
    item = _item(user)
    try:
        write(
            [
                TxOp("guard", lambda tx: tx.save(guard, condition=EmailGuardItem.PK.does_not_exist())),
                TxOp("user", lambda tx: tx.save(item, condition=UserItem.PK.does_not_exist())),
                *also,
            ]
        )
    except OperationRejected as rejected:
        if rejected.failed == {"guard"}:
            raise EmailTaken from rejected
        raise


def get_user(user_id: str) -> User | None:
    try:
        return to_domain(UserItem.get(user_pk(user_id), USER_SK), User)
    except DoesNotExist:
        return None


def replace_password_hash(credentials: Credentials, email: str, new_hash: str) -> bool:
    """Store a rehashed password (the user and the guard's copy, in one transaction) unless the hash
    changed meanwhile; whether it was stored."""
    user = UserItem(user_pk(credentials.user_id), USER_SK)
    guard = EmailGuardItem(email_pk(email), EMAIL_SK)
    try:
        write(
            [
                TxOp(
                    "user",
                    lambda tx: tx.update(
                        user,
                        actions=[UserItem.password_hash.set(new_hash)],
                        condition=UserItem.PK.exists() & (UserItem.password_hash == credentials.password_hash),
                    ),
                ),
                TxOp(
                    "guard",
                    lambda tx: tx.update(
                        guard,
                        actions=[EmailGuardItem.password_hash.set(new_hash), EmailGuardItem.role.set(credentials.role)],
                        condition=EmailGuardItem.user_id == credentials.user_id,
                    ),
                ),
            ]
        )
    except OperationRejected:
        return False
    return True
