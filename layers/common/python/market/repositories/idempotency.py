"""Idempotency keys: ``IDEMPOTENCY#<scope>#<caller>#<key>`` / ``IDEMPOTENCY`` -> the resource created.

The key's item is written in the same transaction as the resource it created (conditioned on
not existing), with a hash of the request. A replay of the same request finds the resource; the
same key with another request raises ``IdempotencyKeyReused`` (422). Keys live 24 hours (TTL).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from market import clock
from market.errors import ValidationFailed
from market.models.order import IDEMPOTENCY_SK, IdempotencyItem, idempotency_pk

IDEMPOTENCY_TTL_SECONDS = 24 * 3600


class IdempotencyKeyReused(ValidationFailed):
    """The same Idempotency-Key came with a different request."""

    def __init__(self) -> None:
        super().__init__([], "This Idempotency-Key was used with a different request.")


def request_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def add_idempotency_key(
    tx: TransactWrite,
    *,
    scope: str,
    caller_id: str,
    key: str,
    request: dict[str, Any],
    resource_id: str,
    created_at: str,
) -> None:
    """In ``tx``: claim ``key`` for ``resource_id``; the transaction fails if the key was claimed."""
    tx.save(
        IdempotencyItem(
            idempotency_pk(scope, caller_id, key),
            IDEMPOTENCY_SK,
            scope=scope,
            request_hash=request_hash(request),
            resource_id=resource_id,
            created_at=created_at,
            expires_at=clock.epoch_seconds() + IDEMPOTENCY_TTL_SECONDS,
        ),
        # An expired key may still be in the table (TTL deletes lazily): it no longer counts.
        condition=IdempotencyItem.PK.does_not_exist() | (IdempotencyItem.expires_at < clock.epoch_seconds()),
    )


def replayed_resource_id(scope: str, caller_id: str, key: str, request: dict[str, Any]) -> str | None:
    """The id of what an earlier request with this key created (None if none or expired).

    Raises ``IdempotencyKeyReused`` when the stored request differs from ``request``.
    """
    try:
        record = IdempotencyItem.get(idempotency_pk(scope, caller_id, key), IDEMPOTENCY_SK, consistent_read=True)
    except DoesNotExist:
        return None
    if record.expires_at is not None and int(record.expires_at) < clock.epoch_seconds():
        return None
    if record.request_hash != request_hash(request):
        raise IdempotencyKeyReused
    return str(record.resource_id)
