"""Users: create with a unique email (one transaction), read by id or email, replace a password hash."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, UpdateError

from market.domain.errors import Conflict
from market.domain.user import User
from market.models.base import from_domain, to_domain
from market.models.user import EMAIL_SK, USER_SK, EmailGuardItem, UserItem, email_pk, user_pk
from market.repositories.transactions import OperationRejected, TxOp, condition_failed, write


class EmailTaken(Conflict):
    slug = "email-taken"

    def __init__(self) -> None:
        super().__init__("An account with this email already exists.")


def _item(user: User) -> UserItem:
    return from_domain(UserItem(user_pk(user.id), USER_SK), user)


def create_user(user: User) -> None:
    """Write the user and its email guard in one transaction; ``EmailTaken`` if the email is registered.

    A concurrent registration of the same email cancels one of the two with a conflict; ``write``
    tries again, so the loser sees the winner's guard and answers 409.
    """
    guard = EmailGuardItem(email_pk(user.email), EMAIL_SK, user_id=user.id)
    item = _item(user)
    try:
        write(
            [
                TxOp("guard", lambda tx: tx.save(guard, condition=EmailGuardItem.PK.does_not_exist())),
                TxOp("user", lambda tx: tx.save(item, condition=UserItem.PK.does_not_exist())),
            ]
        )
    except OperationRejected as rejected:
        if "guard" in rejected.failed:
            raise EmailTaken from rejected
        raise


def email_registered(email: str) -> bool:
    """Whether a guard exists for the email (a cheap early 409; the transaction stays the real guard)."""
    try:
        EmailGuardItem.get(email_pk(email), EMAIL_SK, attributes_to_get=["PK"])
    except DoesNotExist:
        return False
    return True


def get_user(user_id: str) -> User | None:
    try:
        return to_domain(UserItem.get(user_pk(user_id), USER_SK), User)
    except DoesNotExist:
        return None


def find_by_email(email: str) -> User | None:
    """The user owning the (normalised) email, through its guard."""
    try:
        guard = EmailGuardItem.get(email_pk(email), EMAIL_SK)
    except DoesNotExist:
        return None
    return get_user(guard.user_id)


def replace_password_hash(user: User, new_hash: str) -> bool:
    """Store a rehashed password unless the hash changed meanwhile; whether it was stored."""
    try:
        UserItem(user_pk(user.id), USER_SK).update(
            actions=[UserItem.password_hash.set(new_hash)],
            condition=UserItem.PK.exists() & (UserItem.password_hash == user.password_hash),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True
