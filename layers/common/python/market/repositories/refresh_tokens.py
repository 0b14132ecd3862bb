"""Refresh tokens, kept as SHA-256 digests in families: issue, rotate (one transaction), revoke."""

from __future__ import annotations

import hashlib

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from market.ids import new_id
from market.models.base import cancellation_codes, transact_write
from market.models.refresh_token import (
    FAMILY_SK,
    REFRESH_SK,
    RefreshTokenItem,
    TokenFamilyItem,
    family_pk,
    refresh_pk,
)


class RotationRefused(Exception):
    """The presented token cannot be rotated: ``reason`` is ``spent`` (reuse) or ``revoked``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def digest(token: str) -> str:
    """What is stored in place of a refresh token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _token_item(
    token_digest: str, *, user_id: str, family_id: str, issued_at: str, expires_at: int
) -> RefreshTokenItem:
    return RefreshTokenItem(
        refresh_pk(token_digest),
        REFRESH_SK,
        user_id=user_id,
        family_id=family_id,
        issued_at=issued_at,
        expires_at=expires_at,
    )


def start_family(user_id: str, token_digest: str, *, issued_at: str, expires_at: int) -> str:
    """A new family (one login) holding its first token; returns the family id."""
    family_id = new_id("fam_")
    family = TokenFamilyItem(
        family_pk(family_id), FAMILY_SK, user_id=user_id, created_at=issued_at, expires_at=expires_at
    )
    token = _token_item(token_digest, user_id=user_id, family_id=family_id, issued_at=issued_at, expires_at=expires_at)
    with transact_write() as tx:
        tx.save(family, condition=TokenFamilyItem.PK.does_not_exist())
        tx.save(token, condition=RefreshTokenItem.PK.does_not_exist())
    return family_id


def get_token(token_digest: str) -> RefreshTokenItem | None:
    try:
        return RefreshTokenItem.get(refresh_pk(token_digest), REFRESH_SK, consistent_read=True)
    except DoesNotExist:
        return None


def get_family(family_id: str) -> TokenFamilyItem | None:
    try:
        return TokenFamilyItem.get(family_pk(family_id), FAMILY_SK, consistent_read=True)
    except DoesNotExist:
        return None


def rotate(old: RefreshTokenItem, new_digest: str, *, issued_at: str, expires_at: int) -> None:
    """Spend ``old`` and store its successor in the same family, in one transaction.

    ``RotationRefused("spent")`` when ``old`` was spent already (or is being spent by a
    concurrent rotation), ``RotationRefused("revoked")`` when its family is revoked.
    """
    successor = _token_item(
        new_digest, user_id=old.user_id, family_id=old.family_id, issued_at=issued_at, expires_at=expires_at
    )
    family = TokenFamilyItem(family_pk(old.family_id), FAMILY_SK)
    tx = transact_write()
    try:
        with tx:
            tx.label = "old"
            tx.update(
                old,
                actions=[RefreshTokenItem.spent_at.set(issued_at)],
                condition=RefreshTokenItem.PK.exists() & RefreshTokenItem.spent_at.does_not_exist(),
            )
            tx.label = "family"
            tx.update(
                family,
                actions=[TokenFamilyItem.expires_at.set(expires_at)],
                condition=TokenFamilyItem.PK.exists() & TokenFamilyItem.revoked_at.does_not_exist(),
            )
            tx.label = "successor"
            tx.save(successor, condition=RefreshTokenItem.PK.does_not_exist())
    except TransactWriteError as error:
        codes = cancellation_codes(tx, error)
        if "ConditionalCheckFailed" in codes.get("family", set()):
            raise RotationRefused("revoked") from error
        if codes.get("old") or any("TransactionConflict" in found for found in codes.values()):
            raise RotationRefused("spent") from error
        raise


def revoke_family(family_id: str, *, revoked_at: str) -> None:
    """Mark the family revoked (keeps the first revocation time); a family already gone is left alone."""
    try:
        TokenFamilyItem(family_pk(family_id), FAMILY_SK).update(
            actions=[TokenFamilyItem.revoked_at.set(TokenFamilyItem.revoked_at | revoked_at)],
            condition=TokenFamilyItem.PK.exists(),
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
