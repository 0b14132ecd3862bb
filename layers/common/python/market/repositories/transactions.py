"""DynamoDB transactions in one place: labelled items, their cancellation reasons, the condition check.

pynamodb sends condition checks, then deletes, then puts, then updates, whatever order they were
added in, and DynamoDB's ``CancellationReasons`` follow the order sent: a reason is traced back to
its item through the label it was added under, never by position.

- ``TxOp``: one item of a transaction, named, so the caller learns which condition failed;
- ``write(ops)``: the ops in one ``TransactWriteItems``; ``OperationRejected`` names the ops whose
  condition failed (nothing was written); a ``TransactionConflict`` (another transaction touched
  an item at the same moment: real DynamoDB does this, moto serialises) is retried, then answered
  as ``TransientError`` (503), never as an unexplained 500;
- ``cancellation(tx, error)``: the reason codes of a cancelled transaction by label (for callers
  that run their own loop, like the wallet's read-compute-write);
- ``condition_failed(error)``: whether a single-item write (or a transaction) failed its condition.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from market.domain.errors import TransientError
from market.models.base import connection

CONDITION_FAILED = "ConditionalCheckFailed"
CONFLICT = "TransactionConflict"
_SINGLE_ITEM_CONDITION_FAILED = "ConditionalCheckFailedException"
_SINGLE_ITEM_CONFLICT = "TransactionConflictException"


class LabelledTransactWrite(TransactWrite):
    """A TransactWrite that remembers a label per item, so a cancellation reason can be traced back.

    Set ``label`` before adding items; ``labels()`` gives the label of each item in the order sent.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.label = ""
        self._labels: dict[str, list[str]] = {"check": [], "delete": [], "put": [], "update": []}

    def condition_check(self, *args: Any, **kwargs: Any) -> None:
        super().condition_check(*args, **kwargs)
        self._labels["check"].append(self.label)

    def delete(self, *args: Any, **kwargs: Any) -> None:
        super().delete(*args, **kwargs)
        self._labels["delete"].append(self.label)

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        self._labels["put"].append(self.label)

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._labels["update"].append(self.label)

    def labels(self) -> list[str]:
        return [*self._labels["check"], *self._labels["delete"], *self._labels["put"], *self._labels["update"]]


def transact_write(client_request_token: str | None = None) -> LabelledTransactWrite:
    """``with transact_write() as tx: tx.save(...); tx.update(...)`` — one DynamoDB transaction."""
    return LabelledTransactWrite(connection=connection(), client_request_token=client_request_token)


@dataclass(frozen=True)
class TxOp:
    """One item of a transaction, named so a failed condition can be told apart."""

    name: str
    add: Callable[[TransactWrite], None]


class OperationRejected(Exception):
    """Ops of a transaction failed their condition: the transaction wrote nothing."""

    def __init__(self, failed: set[str]) -> None:
        super().__init__(f"conditions failed: {sorted(failed)}")
        self.failed = failed


@dataclass(frozen=True)
class Cancellation:
    """Why a transaction was cancelled: the reason codes per label (codes other than "None")."""

    codes: dict[str, set[str]] = field(default_factory=dict)

    @property
    def rejected(self) -> set[str]:
        """The labels whose condition failed."""
        return {label for label, found in self.codes.items() if CONDITION_FAILED in found}

    @property
    def conflicted(self) -> bool:
        """Another transaction touched one of the items at the same time: worth trying again."""
        return any(CONFLICT in found for found in self.codes.values())


def cancellation(tx: LabelledTransactWrite, error: TransactWriteError) -> Cancellation:
    labels = tx.labels()
    codes: dict[str, set[str]] = {}
    for index, reason in enumerate(error.cancellation_reasons):
        if reason is None or reason.code in (None, "None") or index >= len(labels):
            continue
        codes.setdefault(labels[index], set()).add(reason.code)
    return Cancellation(codes)


def condition_failed(error: PynamoDBException) -> bool:
    """A single put/update/delete refused by its condition, or a transaction with a failed condition."""
    if error.cause_response_code == _SINGLE_ITEM_CONDITION_FAILED:
        return True
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(reason is not None and reason.code == CONDITION_FAILED for reason in reasons)


def in_conflict(error: PynamoDBException) -> bool:
    """A single put/update/delete refused because a transaction holds the item at the moment (real
    DynamoDB's ``TransactionConflictException``; moto serialises and never answers it)."""
    return error.cause_response_code == _SINGLE_ITEM_CONFLICT


def backoff(attempt: int, *, base: float = 0.01, cap: float = 0.5) -> None:
    """Full-jitter exponential backoff before trying a contended write again."""
    time.sleep(min(cap, base * (2**attempt)) * random.random())  # noqa: S311 - jitter, not crypto


def write(ops: Sequence[TxOp], *, conflict_retries: int = 4, client_request_token: str | None = None) -> None:
    """Write ``ops`` in one transaction.

    Raises ``OperationRejected`` naming the ops whose condition failed, and ``TransientError`` when
    the items stay contended past ``conflict_retries``.
    """
    for attempt in range(conflict_retries + 1):
        tx = transact_write(client_request_token)
        try:
            with tx:
                for op in ops:
                    tx.label = op.name
                    op.add(tx)
        except TransactWriteError as error:
            outcome = cancellation(tx, error)
            if outcome.rejected:
                raise OperationRejected(outcome.rejected) from error
            if outcome.conflicted and attempt < conflict_retries:
                backoff(attempt)
                continue
            if outcome.conflicted:
                raise TransientError("The request conflicted with another one; try again.") from error
            raise
        return
