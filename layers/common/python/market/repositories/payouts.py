"""Payouts and payout accounts (keys in ``market.models.payout``).

A payout's creation and each of its later status changes are ``TxOp``s that ride in the wallet
transaction moving its money (``market.repositories.wallets.apply_change``): the status
condition is what makes a repeated transfer event a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from market import clock
from market.cursors import decode_cursor, encode_cursor
from market.domain.payout import Payout, PayoutAccount
from market.models.base import from_domain, to_domain
from market.models.payout import (
    PAYOUT_SK,
    PayoutAccountItem,
    PayoutItem,
    creator_payouts_pk,
    payout_account_sk,
    payout_pk,
)
from market.models.wallet import wallet_pk
from market.repositories.transactions import TxOp, condition_failed


@dataclass(frozen=True)
class PayoutPage:
    items: list[Payout]
    next_cursor: str | None


def _payout(item: PayoutItem) -> Payout:
    return to_domain(item, Payout)


def _key(payout_id: str) -> PayoutItem:
    return PayoutItem(payout_pk(payout_id), PAYOUT_SK)


# ---------------------------------------------------------------- payouts


def create_payout_op(payout: Payout) -> TxOp:
    """A transaction item writing a new payout (never over an existing one)."""
    item = from_domain(
        PayoutItem(
            payout_pk(payout.id),
            PAYOUT_SK,
            GSI1PK=creator_payouts_pk(payout.creator_id),
            GSI1SK=f"{payout.created_at}#{payout.id}",
        ),
        payout,
    )
    return TxOp("payout", lambda tx: tx.save(item, condition=PayoutItem.PK.does_not_exist()))


def status_op(
    payout_id: str,
    *,
    from_statuses: Sequence[str],
    to_status: str,
    failure_reason: str | None = None,
    transfer_code: str | None = None,
) -> TxOp:
    """A transaction item moving a payout from one of ``from_statuses`` to ``to_status``."""
    now = clock.iso(clock.now())
    actions: list[Any] = [PayoutItem.status.set(to_status), PayoutItem.updated_at.set(now)]
    if to_status == "paid":
        actions.append(PayoutItem.paid_at.set(now))
    if failure_reason is not None:
        actions.append(PayoutItem.failure_reason.set(failure_reason))
    if transfer_code is not None:
        actions.append(PayoutItem.transfer_code.set(transfer_code))
    condition = PayoutItem.status.is_in(*from_statuses)
    return TxOp("payout", lambda tx: tx.update(_key(payout_id), actions=actions, condition=condition))


def mark_processing(payout_id: str, transfer_code: str | None) -> bool:
    """``pending`` -> ``processing`` once the transfer is initiated; False if it had moved on already."""
    actions: list[Any] = [PayoutItem.status.set("processing"), PayoutItem.updated_at.set(clock.iso(clock.now()))]
    if transfer_code:
        actions.append(PayoutItem.transfer_code.set(transfer_code))
    try:
        _key(payout_id).update(actions=actions, condition=PayoutItem.status == "pending")
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def get_payout(payout_id: str) -> Payout | None:
    try:
        return _payout(PayoutItem.get(payout_pk(payout_id), PAYOUT_SK, consistent_read=True))
    except DoesNotExist:
        return None


def list_creator_payouts(creator_id: str, limit: int, cursor: str | None) -> PayoutPage:
    """The creator's payouts, newest first, cursor-paged."""
    scope = f"payouts:{creator_id}"
    start = decode_cursor(cursor, scope)
    result = PayoutItem.gsi1.query(
        creator_payouts_pk(creator_id), scan_index_forward=False, limit=limit, last_evaluated_key=start
    )
    items = [_payout(item) for item in result]
    return PayoutPage(items=items, next_cursor=encode_cursor(result.last_evaluated_key, scope))


def in_flight_totals(creator_id: str) -> dict[str, int]:
    """Per currency, the amount held in ``on_hold`` by the creator's payouts still in flight (an audit read):
    only payouts of the old model hold money there."""
    totals: dict[str, int] = {}
    for item in PayoutItem.gsi1.query(creator_payouts_pk(creator_id)):
        payout = _payout(item)
        if payout.in_flight and payout.held:
            totals[payout.currency] = totals.get(payout.currency, 0) + payout.amount
    return totals


# ---------------------------------------------------------------- payout accounts


def save_account(account: PayoutAccount) -> PayoutAccount:
    from_domain(PayoutAccountItem(wallet_pk(account.creator_id), payout_account_sk(account.currency)), account).save()
    return account


def get_account(creator_id: str, currency: str) -> PayoutAccount | None:
    try:
        item = PayoutAccountItem.get(wallet_pk(creator_id), payout_account_sk(currency), consistent_read=True)
    except DoesNotExist:
        return None
    return to_domain(item, PayoutAccount)


def list_accounts(creator_id: str) -> list[PayoutAccount]:
    items = PayoutAccountItem.query(
        wallet_pk(creator_id), PayoutAccountItem.SK.startswith("PAYOUT_ACCOUNT#"), consistent_read=True
    )
    return [to_domain(item, PayoutAccount) for item in items]
