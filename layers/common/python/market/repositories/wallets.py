"""Wallet balances and their ledger: every change is one conditional DynamoDB transaction.

``apply_change`` reads the balance, lets the domain compute the new one and its ledger entries
(``Balance.apply``), and writes them together with the caller's own operations (an order status
change, an exactly-once guard...) in ONE ``TransactWriteItems``, conditioned on the balance's
``version``. A concurrent change makes the version check fail and the whole thing is recomputed
from a fresh read, so no update is ever lost and the ledger always sums to the balance. A failed
condition of the caller's own operations is reported by name (``OperationRejected``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from market import clock, ids
from market.cursors import decode_cursor, encode_cursor
from market.domain.errors import TransientError
from market.domain.wallet import Balance, Hold, LedgerEntry, WalletChange, ledger_differences
from market.models.base import from_domain, to_domain
from market.models.wallet import HoldItem, LedgerEntryItem, WalletBalanceItem, balance_sk, holds_pk, wallet_pk
from market.observability import logger
from market.repositories.transactions import (
    CONDITION_FAILED,
    LabelledTransactWrite,
    OperationRejected,
    TxOp,
    backoff,
    cancellation,
    transact_write,
)

_BALANCE_FIELDS = tuple(spec.name for spec in fields(Balance) if spec.name not in ("creator_id", "currency", "version"))


@dataclass(frozen=True)
class LedgerPage:
    items: list[LedgerEntry]
    next_cursor: str | None


# ---------------------------------------------------------------- reads


def get_balance(creator_id: str, currency: str) -> Balance:
    try:
        item = WalletBalanceItem.get(wallet_pk(creator_id), balance_sk(currency), consistent_read=True)
    except DoesNotExist:
        return Balance(creator_id=creator_id, currency=currency)
    return to_domain(item, Balance)


def list_balances(creator_id: str) -> list[Balance]:
    items = WalletBalanceItem.query(
        wallet_pk(creator_id), WalletBalanceItem.SK.startswith("BALANCE#"), consistent_read=True
    )
    return sorted((to_domain(item, Balance) for item in items), key=lambda b: b.currency)


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
    items = [to_domain(item, LedgerEntry) for item in result]
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
    return ledger_differences(creator_id, list_balances(creator_id), ledger_sums(creator_id))


def all_wallet_owners() -> list[str]:
    """Every creator with a wallet (an operator's check scans; no request path calls this)."""
    owners = set()
    for item in WalletBalanceItem.scan(WalletBalanceItem.SK.startswith("BALANCE#")):
        owners.add(item.creator_id)
    return sorted(owners)


# ---------------------------------------------------------------- the one way balances change


def _ledger_item(entry: LedgerEntry) -> LedgerEntryItem:
    return from_domain(LedgerEntryItem(wallet_pk(entry.creator_id), f"LEDGER#{entry.created_at}#{entry.id}"), entry)


def apply_change(change: WalletChange, ops: Sequence[TxOp] = (), *, max_attempts: int = 12) -> Balance:
    """Apply ``change`` and ``ops`` in one transaction; returns the new balance.

    Raises ``OperationRejected`` when one of ``ops`` fails its condition (nothing written),
    ``InsufficientFunds`` when the change would overdraw, ``TransientError`` when the wallet
    stays contended past ``max_attempts``.
    """
    # The caller's items go into the transaction before the balance is read, and a refused balance
    # update hands back the balance that beat it (ALL_OLD): the window between reading the balance and
    # writing it stays as short as it can, and a retry costs no extra read.
    current: Balance | None = None
    for attempt in range(max_attempts):
        tx = transact_write()
        try:
            with tx:
                for op in ops:
                    tx.label = op.name
                    op.add(tx)
                if current is None:
                    current = get_balance(change.creator_id, change.currency)
                now = clock.iso(clock.now())
                after, entries = current.apply(change, now=now, new_entry_id=lambda: ids.new_id("le_"))
                wallet = WalletBalanceItem(wallet_pk(change.creator_id), balance_sk(change.currency))
                actions: list[Any] = [
                    WalletBalanceItem.creator_id.set(change.creator_id),
                    WalletBalanceItem.currency.set(change.currency),
                    WalletBalanceItem.version.set(after.version),
                    WalletBalanceItem.updated_at.set(now),
                ]
                actions += [getattr(WalletBalanceItem, name).set(getattr(after, name)) for name in _BALANCE_FIELDS]
                condition = (
                    WalletBalanceItem.version.does_not_exist()
                    if current.version == 0
                    else WalletBalanceItem.version == current.version
                )
                tx.label = "wallet"
                tx.update(wallet, actions=actions, condition=condition, return_values="ALL_OLD")
                tx.label = "ledger"
                for entry in entries:
                    tx.save(_ledger_item(entry), condition=LedgerEntryItem.PK.does_not_exist())
        except TransactWriteError as error:
            outcome = cancellation(tx, error)
            rejected = outcome.rejected - {"wallet"}
            if rejected:
                raise OperationRejected(rejected) from error
            if "wallet" in outcome.codes or outcome.conflicted:
                # Someone else changed the wallet first: recompute from what beat us (or read again).
                current = _balance_that_won(tx, error)
                backoff(attempt)
                continue
            logger.error(
                "wallet transaction refused",
                reasons={name: sorted(found) for name, found in outcome.codes.items()},
                error_code=error.cause_response_code,
                error_message=error.cause_response_message,
            )
            raise
        return after
    raise TransientError("The wallet is busy; try again.")


def _balance_that_won(tx: LabelledTransactWrite, error: TransactWriteError) -> Balance | None:
    """The balance a refused wallet update met (its ALL_OLD item), or None when the reason carries none."""
    for label, reason in zip(tx.labels(), error.cancellation_reasons, strict=False):
        if label == "wallet" and reason is not None and reason.code == CONDITION_FAILED and reason.raw_item:
            return to_domain(WalletBalanceItem.from_raw_data(reason.raw_item), Balance)
    return None


# ---------------------------------------------------------------- holds (sales waiting in ``pending``)


def hold_op(creator_id: str, currency: str, order_id: str, amount: int, release_at: datetime) -> TxOp:
    """A transaction item recording that ``amount`` of a sale becomes available at ``release_at``."""
    release = clock.iso(release_at)
    hold = Hold(creator_id=creator_id, currency=currency, order_id=order_id, amount=amount, release_at=release)
    item = from_domain(HoldItem(holds_pk(release[:10]), f"{release}#{order_id}"), hold)
    return TxOp("hold", lambda tx: tx.save(item, condition=HoldItem.PK.does_not_exist()))


def due_holds(day: str, now_iso: str) -> list[Hold]:
    """Holds of ``day`` whose release time has passed."""
    items = HoldItem.query(holds_pk(day), HoldItem.SK <= f"{now_iso}~", consistent_read=True)  # noqa: SIM300 - a pynamodb condition
    return [to_domain(item, Hold, day=day, sort_key=item.SK) for item in items if item.release_at <= now_iso]


def release_hold_op(hold: Hold) -> TxOp:
    """A transaction item consuming a hold exactly once (the release job's guard)."""
    item = HoldItem(holds_pk(hold.day), hold.sort_key)
    return TxOp("hold", lambda tx: tx.delete(item, condition=HoldItem.PK.exists()))
