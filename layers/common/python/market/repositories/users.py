"""Users: create with a unique email (one transaction), read by id or email, replace a password hash."""

from __future__ import annotations

import time

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from market.errors import Conflict, TransientError
from market.models.base import transact_write
from market.models.user import EMAIL_SK, USER_SK, EmailGuardItem, UserItem, email_pk, user_pk

# A concurrent transaction on the same guard cancels ours with TransactionConflict; try
# again so the loser sees the winner's guard and answers 409 rather than 503.
_CONFLICT_RETRIES = 4


class EmailTaken(Conflict):
    slug = "email-taken"

    def __init__(self) -> None:
        super().__init__("An account with this email already exists.")


def new_user_item(
    *, user_id: str, email: str, password_hash: str, role: str, display_name: str | None, created_at: str
) -> UserItem:
    return UserItem(
        user_pk(user_id),
        USER_SK,
        user_id=user_id,
        email=email,
        password_hash=password_hash,
        role=role,
        display_name=display_name,
        created_at=created_at,
    )


def create_user(user: UserItem) -> None:
    """Write the user and its email guard in one transaction; ``EmailTaken`` if the email is registered."""
    guard = EmailGuardItem(email_pk(user.email), EMAIL_SK, user_id=user.user_id)
    for attempt in range(_CONFLICT_RETRIES + 1):
        try:
            with transact_write() as tx:
                tx.save(guard, condition=EmailGuardItem.PK.does_not_exist())
                tx.save(user, condition=UserItem.PK.does_not_exist())
        except TransactWriteError as error:
            codes = [reason.code if reason else None for reason in error.cancellation_reasons]
            if codes and codes[0] == "ConditionalCheckFailed":
                raise EmailTaken from error
            if "TransactionConflict" in codes and attempt < _CONFLICT_RETRIES:
                time.sleep(0.02 * (2**attempt))  # backoff before retrying a conflicting transaction
                continue
            if "TransactionConflict" in codes:
                raise TransientError("The registration conflicted with another; try again.") from error
            raise
        return


def email_registered(email: str) -> bool:
    """Whether a guard exists for the email (a cheap early 409; the transaction stays the real guard)."""
    try:
        EmailGuardItem.get(email_pk(email), EMAIL_SK, attributes_to_get=["PK"])
    except DoesNotExist:
        return False
    return True


def get_user(user_id: str) -> UserItem | None:
    try:
        return UserItem.get(user_pk(user_id), USER_SK)
    except DoesNotExist:
        return None


def find_by_email(email: str) -> UserItem | None:
    """The user owning the (normalised) email, through its guard."""
    try:
        guard = EmailGuardItem.get(email_pk(email), EMAIL_SK)
    except DoesNotExist:
        return None
    return get_user(guard.user_id)


def replace_password_hash(user: UserItem, new_hash: str) -> bool:
    """Store a rehashed password unless the hash changed meanwhile; whether it was stored."""
    old_hash = user.password_hash
    try:
        user.update(
            actions=[UserItem.password_hash.set(new_hash)],
            condition=UserItem.PK.exists() & (UserItem.password_hash == old_hash),
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
