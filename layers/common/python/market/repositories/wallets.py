"""Wallet balances and their ledger: every change is one conditional DynamoDB transaction.

``apply_change`` reads the balance, computes the new one and the ledger entries (each with
its ``balance_after``), and writes them together with the caller's own operations (an order
status change, an exactly-once guard...) in ONE ``TransactWriteItems``, conditioned on the
balance's ``version``. A concurrent change makes the version check fail and the whole thing
is recomputed from a fresh read, so no update is ever lost and the ledger always sums to the
balance. A failed condition of the caller's own operations is reported by name.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from market import clock, ids
from market.cursors import decode_cursor, encode_cursor
from market.errors import Conflict, TransientError
from market.models.base import cancellation_codes, transact_write
from market.models.wallet import BUCKETS, HoldItem, LedgerEntryItem, WalletBalanceItem, balance_sk, holds_pk, wallet_pk
from market.observability import logger

LIFETIME_FIELDS = ("lifetime_gross", "lifetime_fees", "lifetime_net", "lifetime_paid_out", "lifetime_refunds")


@dataclass(frozen=True)
class Balance:
    creator_id: str
    currency: str
    available: int = 0
    pending: int = 0
    on_hold: int = 0
    lifetime_gross: int = 0
    lifetime_fees: int = 0
    lifetime_net: int = 0
    lifetime_paid_out: int = 0
    lifetime_refunds: int = 0
    version: int = 0

    def bucket(self, name: str) -> int:
        return int(getattr(self, name))


@dataclass(frozen=True)
class Movement:
    """One ledger entry: ``amount`` (signed) into ``bucket``."""

    type: str
    bucket: str
    amount: int
    order_id: str | None = None
    payout_id: str | None = None

    def __post_init__(self) -> None:
        if self.bucket not in BUCKETS:
            raise ValueError(f"unknown bucket {self.bucket}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("ledger amounts are integers in minor units")


@dataclass(frozen=True)
class WalletChange:
    creator_id: str
    currency: str
    movements: Sequence[Movement]
    lifetime: dict[str, int] = field(default_factory=dict)
    # Only refunds may take ``available`` below zero (recorded as such); payouts never can.
    allow_negative_available: bool = False


@dataclass(frozen=True)
class TxOp:
    """One more item of the transaction, named so a failed condition can be told apart."""

    name: str
    add: Callable[[TransactWrite], None]


class InsufficientFunds(Conflict):
    slug = "insufficient-balance"

    def __init__(self, detail: str = "The available balance does not cover this amount.") -> None:
        super().__init__(detail)


class OperationRejected(Exception):
    """A caller's operation failed its condition: the transaction wrote nothing."""

    def __init__(self, failed: set[str]) -> None:
        super().__init__(f"conditions failed: {sorted(failed)}")
        self.failed = failed


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    type: str
    bucket: str
    amount: int
    currency: str
    order_id: str | None
    payout_id: str | None
    created_at: str
    balance_after: int


@dataclass(frozen=True)
class LedgerPage:
    items: list[LedgerEntry]
    next_cursor: str | None


# ---------------------------------------------------------------- reads


def _to_balance(item: WalletBalanceItem) -> Balance:
    return Balance(
        creator_id=item.creator_id,
        currency=item.currency,
        available=int(item.available or 0),
        pending=int(item.pending or 0),
        on_hold=int(item.on_hold or 0),
        lifetime_gross=int(item.lifetime_gross or 0),
        lifetime_fees=int(item.lifetime_fees or 0),
        lifetime_net=int(item.lifetime_net or 0),
        lifetime_paid_out=int(item.lifetime_paid_out or 0),
        lifetime_refunds=int(item.lifetime_refunds or 0),
        version=int(item.version or 0),
    )


def get_balance(creator_id: str, currency: str) -> Balance:
    try:
        item = WalletBalanceItem.get(wallet_pk(creator_id), balance_sk(currency), consistent_read=True)
    except DoesNotExist:
        return Balance(creator_id=creator_id, currency=currency)
    return _to_balance(item)


def list_balances(creator_id: str) -> list[Balance]:
    items = WalletBalanceItem.query(
        wallet_pk(creator_id), WalletBalanceItem.SK.startswith("BALANCE#"), consistent_read=True
    )
    return sorted((_to_balance(item) for item in items), key=lambda b: b.currency)


def _to_entry(item: LedgerEntryItem) -> LedgerEntry:
    return LedgerEntry(
        id=item.entry_id,
        type=item.type,
        bucket=item.bucket,
        amount=int(item.amount),
        currency=item.currency,
        order_id=item.order_id,
        payout_id=item.payout_id,
        created_at=item.created_at,
        balance_after=int(item.balance_after),
    )


def list_ledger(creator_id: str, limit: int, cursor: str | None) -> LedgerPage:
    """Entries newest first, cursor-paged."""
    scope = f"ledger:{creator_id}"
    start = decode_cursor(cursor, scope)
    result = LedgerEntryItem.query(
        wallet_pk(creator_id),
        LedgerEntryItem.SK.startswith("LEDGER#"),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=start,
    )
    items = [_to_entry(item) for item in result]
    return LedgerPage(items=items, next_cursor=encode_cursor(result.last_evaluated_key, scope))


def ledger_sums(creator_id: str) -> dict[tuple[str, str], int]:
    """Sum of the ledger per (currency, bucket)."""
    sums: dict[tuple[str, str], int] = {}
    for item in LedgerEntryItem.query(
        wallet_pk(creator_id), LedgerEntryItem.SK.startswith("LEDGER#"), consistent_read=True
    ):
        key = (item.currency, item.bucket)
        sums[key] = sums.get(key, 0) + int(item.amount)
    return sums


def check_wallet(creator_id: str) -> list[str]:
    """Every way the wallet's balances differ from its ledger (empty when they agree)."""
    sums = ledger_sums(creator_id)
    problems = []
    currencies = {currency for currency, _ in sums} | {b.currency for b in list_balances(creator_id)}
    for currency in sorted(currencies):
        balance = get_balance(creator_id, currency)
        for bucket in BUCKETS:
            expected = sums.get((currency, bucket), 0)
            if balance.bucket(bucket) != expected:
                problems.append(
                    f"{creator_id} {currency} {bucket}: balance {balance.bucket(bucket)} != ledger sum {expected}"
                )
    return problems


def all_wallet_owners() -> list[str]:
    """Every creator with a wallet (an operator's check scans; no request path calls this)."""
    owners = set()
    for item in WalletBalanceItem.scan(WalletBalanceItem.SK.startswith("BALANCE#")):
        owners.add(item.creator_id)
    return sorted(owners)


# ---------------------------------------------------------------- the one way balances change


def _compute(current: Balance, change: WalletChange) -> tuple[dict[str, int], list[LedgerEntryItem]]:
    values = {bucket: current.bucket(bucket) for bucket in BUCKETS}
    values.update({name: int(getattr(current, name)) for name in LIFETIME_FIELDS})
    now = clock.iso(clock.now())
    entries = []
    for movement in change.movements:
        values[movement.bucket] += movement.amount
        entry_id = ids.new_id("le_")
        entries.append(
            LedgerEntryItem(
                wallet_pk(change.creator_id),
                f"LEDGER#{now}#{entry_id}",
                entry_id=entry_id,
                creator_id=change.creator_id,
                type=movement.type,
                bucket=movement.bucket,
                amount=movement.amount,
                currency=change.currency,
                balance_after=values[movement.bucket],
                order_id=movement.order_id,
                payout_id=movement.payout_id,
                created_at=now,
            )
        )
    for name, delta in change.lifetime.items():
        if name not in LIFETIME_FIELDS:
            raise ValueError(f"unknown lifetime field {name}")
        values[name] += delta
    if values["on_hold"] < 0 or values["pending"] < 0:
        raise InsufficientFunds("The wallet does not hold this amount.")
    if values["available"] < 0 and values["available"] < current.available and not change.allow_negative_available:
        raise InsufficientFunds()
    return values, entries


def apply_change(change: WalletChange, ops: Sequence[TxOp] = (), *, max_attempts: int = 12) -> Balance:
    """Apply ``change`` and ``ops`` in one transaction; returns the new balance.

    Raises ``OperationRejected`` when one of ``ops`` fails its condition (nothing written),
    ``InsufficientFunds`` when the change would overdraw, ``TransientError`` when the wallet
    stays contended past ``max_attempts``.
    """
    for attempt in range(max_attempts):
        current = get_balance(change.creator_id, change.currency)
        values, entries = _compute(current, change)
        wallet = WalletBalanceItem(wallet_pk(change.creator_id), balance_sk(change.currency))
        actions: list[Any] = [
            WalletBalanceItem.creator_id.set(change.creator_id),
            WalletBalanceItem.currency.set(change.currency),
            WalletBalanceItem.version.set(current.version + 1),
            WalletBalanceItem.updated_at.set(clock.iso(clock.now())),
        ]
        actions += [getattr(WalletBalanceItem, name).set(value) for name, value in values.items()]
        condition = (
            WalletBalanceItem.version.does_not_exist()
            if current.version == 0
            else WalletBalanceItem.version == current.version
        )
        tx = transact_write()
        try:
            with tx:
                for op in ops:
                    tx.label = op.name
                    op.add(tx)
                tx.label = "wallet"
                tx.update(wallet, actions=actions, condition=condition)
                tx.label = "ledger"
                for entry in entries:
                    tx.save(entry, condition=LedgerEntryItem.PK.does_not_exist())
        except TransactWriteError as error:
            codes = cancellation_codes(tx, error)
            rejected = {name for name, found in codes.items() if "ConditionalCheckFailed" in found} - {"wallet"}
            if rejected:
                raise OperationRejected(rejected) from error
            contended = "wallet" in codes or any("TransactionConflict" in found for found in codes.values())
            if contended:
                # Someone else changed the wallet first: read again and recompute.
                time.sleep(min(0.5, 0.01 * (2**attempt)) * random.random())  # noqa: S311 - jitter, not crypto
                continue
            logger.error(
                "wallet transaction refused",
                reasons={name: sorted(found) for name, found in codes.items()},
                error_code=error.cause_response_code,
                error_message=error.cause_response_message,
            )
            raise
        return Balance(
            creator_id=change.creator_id,
            currency=change.currency,
            version=current.version + 1,
            **values,
        )
    raise TransientError("The wallet is busy; try again.")


# ---------------------------------------------------------------- holds (sales waiting in ``pending``)


def hold_op(creator_id: str, currency: str, order_id: str, amount: int, release_at: datetime) -> TxOp:
    """A transaction item recording that ``amount`` of a sale becomes available at ``release_at``."""
    release = clock.iso(release_at)
    item = HoldItem(
        holds_pk(release[:10]),
        f"{release}#{order_id}",
        creator_id=creator_id,
        currency=currency,
        order_id=order_id,
        amount=amount,
        release_at=release,
    )
    return TxOp("hold", lambda tx: tx.save(item, condition=HoldItem.PK.does_not_exist()))


@dataclass(frozen=True)
class Hold:
    creator_id: str
    currency: str
    order_id: str
    amount: int
    release_at: str
    day: str
    sort_key: str


def due_holds(day: str, now_iso: str) -> list[Hold]:
    """Holds of ``day`` whose release time has passed."""
    items = HoldItem.query(holds_pk(day), HoldItem.SK <= f"{now_iso}~", consistent_read=True)  # noqa: SIM300 - a pynamodb condition
    return [
        Hold(i.creator_id, i.currency, i.order_id, int(i.amount), i.release_at, day, i.SK)
        for i in items
        if i.release_at <= now_iso
    ]


def release_hold_op(hold: Hold) -> TxOp:
    """A transaction item consuming a hold exactly once (the release job's guard)."""
    item = HoldItem(holds_pk(hold.day), hold.sort_key)
    return TxOp("hold", lambda tx: tx.delete(item, condition=HoldItem.PK.exists()))
