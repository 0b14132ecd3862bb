"""Download grants and library entries in the single table (keys in ``market.models.grant``).

- A grant is found by the SHA-256 of its token; only the hash is stored.
- Using a grant is ONE DynamoDB transaction: a condition check that the order still gives access
  and a conditional update that decrements ``uses_left`` only while it is above zero, the grant
  has not expired and was not revoked. Two concurrent uses of a one-use grant: exactly one wins.
- Revoking flags every grant of an order (found through GSI1 ``ORDER_GRANTS#<order>``).
- A delivery claim is a conditional put: taken only when absent or when its lease has run out.
  ``begin_delivery`` takes it, in one transaction with what a delivery writes before its email:
  the order still needs the email (a condition check), the new grant and the library entry.
- The library is one query of ``LIBRARY#<buyer>``, newest payment first, with a signed cursor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from market.cursors import decode_cursor, encode_cursor
from market.domain.errors import TransientError
from market.domain.grant import Grant, LibraryEntry
from market.models.base import from_domain, to_domain
from market.models.grant import (
    CLAIM_SK,
    GRANT_SK,
    DeliveryClaimItem,
    GrantItem,
    LibraryEntryItem,
    delivery_pk,
    grant_pk,
    library_pk,
    library_sk,
    order_grants_pk,
)
from market.models.order import ORDER_SK, OrderItem, order_pk
from market.repositories.transactions import OperationRejected, TxOp, condition_failed, write


@dataclass(frozen=True)
class LibraryEntryPage:
    items: list[LibraryEntry]
    next_cursor: str | None


class UseOutcome(StrEnum):
    USED = "used"
    REFUSED = "refused"  # a condition failed: used up, expired, revoked, or the order lost access
    CONFLICT = "conflict"  # a concurrent transaction touched the same items; read again and retry


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _to_item(grant: Grant) -> GrantItem:
    item = from_domain(
        GrantItem(
            grant_pk(grant.token_hash),
            GRANT_SK,
            GSI1PK=order_grants_pk(grant.order_id),
            GSI1SK=f"{grant.created_at}#{grant.token_hash[:16]}",
        ),
        grant,
    )
    item.revoked = None  # a new grant is not revoked; revocation sets the flag
    return item


def _to_grant(item: GrantItem) -> Grant:
    return to_domain(item, Grant, token_hash=item.PK.removeprefix("GRANT#"), revoked=bool(item.revoked))


def put_grant(grant: Grant, also: Sequence[TxOp] = ()) -> None:
    """Store a new grant; with ``also``, in one transaction with those items."""
    item = _to_item(grant)
    if not also:
        item.save(condition=GrantItem.PK.does_not_exist())
        return
    write([TxOp("grant", lambda tx: tx.save(item, condition=GrantItem.PK.does_not_exist())), *also])


def put_grants(grants: Iterable[Grant]) -> None:
    """Several new grants in batched writes (the tokens are random, so no two hashes collide)."""
    with GrantItem.batch_write() as batch:
        for grant in grants:
            batch.save(_to_item(grant))


def get_grant(token_hash: str) -> Grant | None:
    try:
        return _to_grant(GrantItem.get(grant_pk(token_hash), GRANT_SK, consistent_read=True))
    except DoesNotExist:
        return None


def use_grant(token_hash: str, order_id: str, now: int, access_statuses: tuple[str, ...]) -> UseOutcome:
    """Take one use of a grant in one transaction, only while it is valid and the order gives access."""
    grant = GrantItem(grant_pk(token_hash), GRANT_SK)
    still_valid = (
        (GrantItem.uses_left > 0)
        & (GrantItem.expires_at > now)  # DynamoDB's TTL deletes late, so expiry is checked here
        & GrantItem.revoked.does_not_exist()
        & (GrantItem.order_id == order_id)
    )
    access = OrderItem.status.is_in(*access_statuses)
    try:
        write(
            [
                TxOp("order", lambda tx: tx.condition_check(OrderItem, order_pk(order_id), ORDER_SK, condition=access)),
                TxOp(
                    "grant", lambda tx: tx.update(grant, actions=[GrantItem.uses_left.add(-1)], condition=still_valid)
                ),
            ],
            conflict_retries=0,
        )
    except OperationRejected:
        return UseOutcome.REFUSED
    except TransientError:
        return UseOutcome.CONFLICT
    return UseOutcome.USED


def revoke_order_grants(order_id: str, revoked_at: str) -> int:
    """Flag every grant of an order as revoked; returns how many were revoked now.

    GSI1 is eventually consistent, so a grant minted in the same instant may be missed; using a
    grant also checks the order's status in the same transaction, which covers that case.
    """
    revoked = 0
    for item in GrantItem.gsi1.query(order_grants_pk(order_id)):
        if item.revoked:
            continue
        try:
            GrantItem(item.PK, item.SK).update(
                actions=[GrantItem.revoked.set(True), GrantItem.revoked_at.set(revoked_at)],
                condition=GrantItem.PK.exists(),
            )
        except UpdateError as error:
            if condition_failed(error):
                continue  # removed by TTL meanwhile
            raise
        revoked += 1
    return revoked


# ---------------------------------------------------------------- delivery claims

CLAIM_RETENTION_SECONDS = 24 * 3600


class DeliveryStart(StrEnum):
    STARTED = "started"  # the lease is ours; the grant and the library entry are stored
    HELD = "held"  # another consumer holds a live lease
    ORDER_CHANGED = "order_changed"  # its email was recorded meanwhile, or it no longer gives access


def begin_delivery(
    order_id: str,
    claim_id: str,
    now: int,
    lease_seconds: int,
    *,
    grant: Grant,
    library_entry: LibraryEntry | None,
    access_statuses: tuple[str, ...],
) -> DeliveryStart:
    """Take the order's delivery lease, check the order still gives access and has no email
    recorded, and store the new grant and the library entry: one transaction, all or nothing."""
    claim = DeliveryClaimItem(
        delivery_pk(order_id),
        CLAIM_SK,
        order_id=order_id,
        claimed_until=now + lease_seconds,
        claim_id=claim_id,
        expires_at=now + CLAIM_RETENTION_SECONDS,
    )
    free = DeliveryClaimItem.PK.does_not_exist() | (DeliveryClaimItem.claimed_until <= now)
    still_needed = OrderItem.status.is_in(*access_statuses) & OrderItem.delivery_email_sent_at.does_not_exist()
    grant_item = _to_item(grant)
    ops = [
        TxOp("order", lambda tx: tx.condition_check(OrderItem, order_pk(order_id), ORDER_SK, condition=still_needed)),
        TxOp("claim", lambda tx: tx.save(claim, condition=free)),
        TxOp("grant", lambda tx: tx.save(grant_item, condition=GrantItem.PK.does_not_exist())),
    ]
    if library_entry is not None:
        entry = _library_item(library_entry)
        ops.append(TxOp("library", lambda tx: tx.save(entry)))
    try:
        write(ops)
    except OperationRejected as rejected:
        if "order" in rejected.failed:
            return DeliveryStart.ORDER_CHANGED
        if "claim" in rejected.failed:
            return DeliveryStart.HELD
        raise
    return DeliveryStart.STARTED


def release_delivery(order_id: str, claim_id: str) -> None:
    """Give the lease back (after a failed send), unless someone else has taken it since."""
    try:
        DeliveryClaimItem(delivery_pk(order_id), CLAIM_SK).delete(condition=DeliveryClaimItem.claim_id == claim_id)
    except DeleteError as error:
        if not condition_failed(error):
            raise


# ---------------------------------------------------------------- library


def put_library_entry(entry: LibraryEntry) -> None:
    """Add a paid order to its buyer's library (idempotent: the same order always has the same key)."""
    _library_item(entry).save()


def _library_item(entry: LibraryEntry) -> LibraryEntryItem:
    return from_domain(LibraryEntryItem(library_pk(entry.buyer_id), library_sk(entry.paid_at, entry.order_id)), entry)


def list_library(buyer_id: str, limit: int, cursor: str | None) -> LibraryEntryPage:
    scope = f"library:{buyer_id}"
    start = decode_cursor(cursor, scope)
    result = LibraryEntryItem.query(
        library_pk(buyer_id),
        LibraryEntryItem.SK.startswith("ORDER#"),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=start,
    )
    items = [to_domain(item, LibraryEntry) for item in result]
    return LibraryEntryPage(items=items, next_cursor=encode_cursor(result.last_evaluated_key, scope))
