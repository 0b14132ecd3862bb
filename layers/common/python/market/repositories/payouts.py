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
from market.models.payout import (
    IN_FLIGHT_STATUSES,
    PAYOUT_SK,
    PayoutAccountItem,
    PayoutItem,
    creator_payouts_pk,
    payout_account_sk,
    payout_pk,
)
from market.models.wallet import wallet_pk
from market.repositories.wallets import TxOp


@dataclass(frozen=True)
class Payout:
    id: str
    creator_id: str
    amount: int
    currency: str
    status: str
    gateway: str
    recipient_code: str
    account_masked: str | None
    bank_code: str | None
    transfer_code: str | None
    failure_reason: str | None
    created_at: str
    updated_at: str
    paid_at: str | None


@dataclass(frozen=True)
class PayoutPage:
    items: list[Payout]
    next_cursor: str | None


@dataclass(frozen=True)
class PayoutAccount:
    creator_id: str
    currency: str
    gateway: str
    bank_code: str
    bank_name: str | None
    account_masked: str
    account_name: str
    recipient_code: str
    updated_at: str


def _to_payout(item: PayoutItem) -> Payout:
    return Payout(
        id=item.payout_id,
        creator_id=item.creator_id,
        amount=int(item.amount),
        currency=item.currency,
        status=item.status,
        gateway=item.gateway,
        recipient_code=item.recipient_code,
        account_masked=item.account_masked,
        bank_code=item.bank_code,
        transfer_code=item.transfer_code,
        failure_reason=item.failure_reason,
        created_at=item.created_at,
        updated_at=item.updated_at,
        paid_at=item.paid_at,
    )


def _key(payout_id: str) -> PayoutItem:
    return PayoutItem(payout_pk(payout_id), PAYOUT_SK)


# ---------------------------------------------------------------- payouts


def create_payout_op(payout: Payout) -> TxOp:
    """A transaction item writing a new payout (never over an existing one)."""
    item = PayoutItem(
        payout_pk(payout.id),
        PAYOUT_SK,
        GSI1PK=creator_payouts_pk(payout.creator_id),
        GSI1SK=f"{payout.created_at}#{payout.id}",
        payout_id=payout.id,
        creator_id=payout.creator_id,
        amount=payout.amount,
        currency=payout.currency,
        status=payout.status,
        gateway=payout.gateway,
        recipient_code=payout.recipient_code,
        account_masked=payout.account_masked,
        bank_code=payout.bank_code,
        created_at=payout.created_at,
        updated_at=payout.updated_at,
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
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get_payout(payout_id: str) -> Payout | None:
    try:
        return _to_payout(PayoutItem.get(payout_pk(payout_id), PAYOUT_SK, consistent_read=True))
    except DoesNotExist:
        return None


def list_creator_payouts(creator_id: str, limit: int, cursor: str | None) -> PayoutPage:
    """The creator's payouts, newest first, cursor-paged."""
    scope = f"payouts:{creator_id}"
    start = decode_cursor(cursor, scope)
    result = PayoutItem.gsi1.query(
        creator_payouts_pk(creator_id), scan_index_forward=False, limit=limit, last_evaluated_key=start
    )
    items = [_to_payout(item) for item in result]
    return PayoutPage(items=items, next_cursor=encode_cursor(result.last_evaluated_key, scope))


def in_flight_totals(creator_id: str) -> dict[str, int]:
    """Per currency, the amount of the creator's payouts still pending or processing (an audit read)."""
    totals: dict[str, int] = {}
    for item in PayoutItem.gsi1.query(creator_payouts_pk(creator_id)):
        if item.status in IN_FLIGHT_STATUSES:
            totals[item.currency] = totals.get(item.currency, 0) + int(item.amount)
    return totals


# ---------------------------------------------------------------- payout accounts


def _to_account(item: PayoutAccountItem) -> PayoutAccount:
    return PayoutAccount(
        creator_id=item.creator_id,
        currency=item.currency,
        gateway=item.gateway,
        bank_code=item.bank_code,
        bank_name=item.bank_name,
        account_masked=item.account_masked,
        account_name=item.account_name,
        recipient_code=item.recipient_code,
        updated_at=item.updated_at,
    )


def save_account(account: PayoutAccount) -> PayoutAccount:
    PayoutAccountItem(
        wallet_pk(account.creator_id),
        payout_account_sk(account.currency),
        creator_id=account.creator_id,
        currency=account.currency,
        gateway=account.gateway,
        bank_code=account.bank_code,
        bank_name=account.bank_name,
        account_masked=account.account_masked,
        account_name=account.account_name,
        recipient_code=account.recipient_code,
        updated_at=account.updated_at,
    ).save()
    return account


def get_account(creator_id: str, currency: str) -> PayoutAccount | None:
    try:
        item = PayoutAccountItem.get(wallet_pk(creator_id), payout_account_sk(currency), consistent_read=True)
    except DoesNotExist:
        return None
    return _to_account(item)


def list_accounts(creator_id: str) -> list[PayoutAccount]:
    items = PayoutAccountItem.query(
        wallet_pk(creator_id), PayoutAccountItem.SK.startswith("PAYOUT_ACCOUNT#"), consistent_read=True
    )
    return [_to_account(item) for item in items]
