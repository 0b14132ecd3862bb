"""Refresh tokens, kept as SHA-256 digests in families: issue, rotate (one transaction), revoke."""

from __future__ import annotations

import hashlib

from pynamodb.exceptions import DoesNotExist, UpdateError

from market.domain.errors import TransientError
from market.domain.user import RefreshToken, TokenFamily
from market.ids import new_id
from market.models.base import from_domain, to_domain
from market.models.refresh_token import (
    FAMILY_SK,
    REFRESH_SK,
    RefreshTokenItem,
    TokenFamilyItem,
    family_pk,
    refresh_pk,
)
from market.repositories.transactions import OperationRejected, TxOp, condition_failed, write


class RotationRefused(Exception):
    """The presented token cannot be rotated: ``reason`` is ``spent`` (reuse) or ``revoked``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def digest(token: str) -> str:
    """What is stored in place of a refresh token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _token_item(token: RefreshToken) -> RefreshTokenItem:
    return from_domain(RefreshTokenItem(refresh_pk(token.digest), REFRESH_SK), token)


def start_family(user_id: str, token_digest: str, *, issued_at: str, expires_at: int) -> str:
    """A new family (one login) holding its first token; returns the family id."""
    family_id, ops = family_ops(user_id, token_digest, issued_at=issued_at, expires_at=expires_at)
    write(ops)
    return family_id


def family_ops(user_id: str, token_digest: str, *, issued_at: str, expires_at: int) -> tuple[str, list[TxOp]]:
    """The transaction items of a new family and its first token (``family``, ``token``), and the family id."""
    family_id = new_id("fam_")
    family = TokenFamilyItem(
        family_pk(family_id), FAMILY_SK, user_id=user_id, created_at=issued_at, expires_at=expires_at
    )
    token = _token_item(RefreshToken(token_digest, user_id, family_id, issued_at, expires_at))
    return family_id, [
        TxOp("family", lambda tx: tx.save(family, condition=TokenFamilyItem.PK.does_not_exist())),
        TxOp("token", lambda tx: tx.save(token, condition=RefreshTokenItem.PK.does_not_exist())),
    ]


def get_token(token_digest: str) -> RefreshToken | None:
    try:
        item = RefreshTokenItem.get(refresh_pk(token_digest), REFRESH_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return to_domain(item, RefreshToken, digest=token_digest, expires_at=int(item.expires_at or 0))


def get_family(family_id: str) -> TokenFamily | None:
    try:
        item = TokenFamilyItem.get(family_pk(family_id), FAMILY_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return to_domain(item, TokenFamily, id=family_id)


def rotate(old: RefreshToken, new_digest: str, *, issued_at: str, expires_at: int) -> None:
    """Spend ``old`` and store its successor in the same family, in one transaction.

    ``RotationRefused("spent")`` when ``old`` was spent already (or is being spent by a
    concurrent rotation), ``RotationRefused("revoked")`` when its family is revoked.
    """
    successor = _token_item(RefreshToken(new_digest, old.user_id, old.family_id, issued_at, expires_at))
    old_key = RefreshTokenItem(refresh_pk(old.digest), REFRESH_SK)
    family = TokenFamilyItem(family_pk(old.family_id), FAMILY_SK)
    try:
        # No retry on a conflict: a concurrent rotation of the same token is a reuse.
        write(
            [
                TxOp(
                    "old",
                    lambda tx: tx.update(
                        old_key,
                        actions=[RefreshTokenItem.spent_at.set(issued_at)],
                        condition=RefreshTokenItem.PK.exists() & RefreshTokenItem.spent_at.does_not_exist(),
                    ),
                ),
                TxOp(
                    "family",
                    lambda tx: tx.update(
                        family,
                        actions=[TokenFamilyItem.expires_at.set(expires_at)],
                        condition=TokenFamilyItem.PK.exists() & TokenFamilyItem.revoked_at.does_not_exist(),
                    ),
                ),
                TxOp("successor", lambda tx: tx.save(successor, condition=RefreshTokenItem.PK.does_not_exist())),
            ],
            conflict_retries=0,
        )
    except OperationRejected as rejected:
        if "family" in rejected.failed:
            raise RotationRefused("revoked") from rejected
        raise RotationRefused("spent") from rejected
    except TransientError as conflicted:
        raise RotationRefused("spent") from conflicted


def revoke_family(family_id: str, *, revoked_at: str) -> None:
    """Mark the family revoked (keeps the first revocation time); a family already gone is left alone."""
    try:
        TokenFamilyItem(family_pk(family_id), FAMILY_SK).update(
            actions=[TokenFamilyItem.revoked_at.set(TokenFamilyItem.revoked_at | revoked_at)],
            condition=TokenFamilyItem.PK.exists(),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
