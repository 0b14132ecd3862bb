"""Idempotency keys: ``IDEMPOTENCY#<scope>#<caller>#<key>`` / ``IDEMPOTENCY`` -> the resource created.

The key's item is written in the same transaction as the resource it created (conditioned on
not existing), with a hash of the request. A replay of the same request finds the resource; the
same key with another request raises ``IdempotencyKeyReused`` (422). Keys live 24 hours (TTL).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from market import clock
from market.domain.errors import Conflict, ValidationFailed
from market.models.order import IDEMPOTENCY_SK, IdempotencyItem, idempotency_pk
from market.repositories.transactions import TxOp

IDEMPOTENCY_TTL_SECONDS = 24 * 3600


class IdempotencyKeyReused(ValidationFailed):
    """The same Idempotency-Key came with a different request."""

    def __init__(self) -> None:
        super().__init__([], "This Idempotency-Key was used with a different request.")


class IdempotencyKeyInUse(Conflict):
    """A concurrent request with the same Idempotency-Key holds the key, and what it creates is not visible yet."""

    slug = "idempotency-key-in-use"

    def __init__(self) -> None:
        super().__init__(
            "Another request with this Idempotency-Key is still being processed; retry shortly.",
            headers={"Retry-After": "1"},
        )


@dataclass(frozen=True)
class IdempotentRequest:
    """A request made with an ``Idempotency-Key``: ``request`` is what a replay must repeat exactly."""

    scope: str
    caller_id: str
    key: str
    request: dict[str, Any]

    @property
    def pk(self) -> str:
        return idempotency_pk(self.scope, self.caller_id, self.key)

    @property
    def request_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.request, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def idempotency_op(request: IdempotentRequest, *, resource_id: str, created_at: str) -> TxOp:
    """A transaction item claiming the key for ``resource_id``; it fails if the key was claimed."""
    item = IdempotencyItem(
        request.pk,
        IDEMPOTENCY_SK,
        scope=request.scope,
        request_hash=request.request_hash,
        resource_id=resource_id,
        created_at=created_at,
        expires_at=clock.epoch_seconds() + IDEMPOTENCY_TTL_SECONDS,
    )
    # An expired key may still be in the table (TTL deletes lazily): it no longer counts.
    condition = IdempotencyItem.PK.does_not_exist() | (IdempotencyItem.expires_at < clock.epoch_seconds())
    return TxOp("idempotency", lambda tx: tx.save(item, condition=condition))


def replayed_resource_id(request: IdempotentRequest) -> str | None:
    """The id of what an earlier request with this key created (None if none or expired).

    Raises ``IdempotencyKeyReused`` when the stored request differs from ``request``.
    """
    try:
        record = IdempotencyItem.get(request.pk, IDEMPOTENCY_SK, consistent_read=True)
    except DoesNotExist:
        return None
    if record.expires_at is not None and int(record.expires_at) < clock.epoch_seconds():
        return None
    if record.request_hash != request.request_hash:
        raise IdempotencyKeyReused
    return str(record.resource_id)
