"""Refunds and the per-order refund totals (keys in ``market.models.refund``).

- ``reserve`` writes a new refund (``requested``) and adds its amount to the order's committed
  total in one transaction conditioned on the total's version: concurrent requests can never
  commit more than the order's amount.
- ``processed_op`` and ``order_refunded_op`` ride in the wallet transaction that debits the
  creator (``market.services.refunds``); ``close_failed`` gives the reserved amount back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from market import clock
from market.models.base import transact_write
from market.models.order import OrderItem
from market.models.refund import (
    OPEN_STATUSES,
    TOTALS_SK,
    RefundItem,
    RefundTotalsItem,
    refund_sk,
    refunds_pk,
)
from market.repositories.orders import Order, order_key
from market.repositories.wallets import TxOp


@dataclass(frozen=True)
class Refund:
    id: str
    order_id: str
    creator_id: str
    gateway: str
    gateway_refund_id: str | None
    amount: int
    currency: str
    status: str
    requested_by: str
    failure_reason: str | None
    created_at: str
    updated_at: str
    processed_at: str | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class RefundTotals:
    committed: int
    version: int


def _to_refund(item: RefundItem) -> Refund:
    return Refund(
        id=item.refund_id,
        order_id=item.order_id,
        creator_id=item.creator_id,
        gateway=item.gateway,
        gateway_refund_id=item.gateway_refund_id,
        amount=int(item.amount),
        currency=item.currency,
        status=item.status,
        requested_by=item.requested_by,
        failure_reason=item.failure_reason,
        created_at=item.created_at,
        updated_at=item.updated_at,
        processed_at=item.processed_at,
    )


def _key(order_id: str, refund_id: str) -> RefundItem:
    return RefundItem(refunds_pk(order_id), refund_sk(refund_id))


def _totals_key(order_id: str) -> RefundTotalsItem:
    return RefundTotalsItem(refunds_pk(order_id), TOTALS_SK)


# ---------------------------------------------------------------- reads


def get_totals(order_id: str) -> RefundTotals:
    try:
        item = RefundTotalsItem.get(refunds_pk(order_id), TOTALS_SK, consistent_read=True)
    except DoesNotExist:
        return RefundTotals(committed=0, version=0)
    return RefundTotals(committed=int(item.committed or 0), version=int(item.version or 0))


def get_refund(order_id: str, refund_id: str) -> Refund | None:
    try:
        return _to_refund(RefundItem.get(refunds_pk(order_id), refund_sk(refund_id), consistent_read=True))
    except DoesNotExist:
        return None


def list_order_refunds(order_id: str) -> list[Refund]:
    items = RefundItem.query(refunds_pk(order_id), RefundItem.SK.startswith("REFUND#"), consistent_read=True)
    return [_to_refund(item) for item in items]


# ---------------------------------------------------------------- writes


def reserve(refund: Refund, totals: RefundTotals) -> bool:
    """Write ``refund`` and commit its amount; False when the totals changed since they were read."""
    item = RefundItem(
        refunds_pk(refund.order_id),
        refund_sk(refund.id),
        refund_id=refund.id,
        order_id=refund.order_id,
        creator_id=refund.creator_id,
        gateway=refund.gateway,
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status,
        requested_by=refund.requested_by,
        created_at=refund.created_at,
        updated_at=refund.updated_at,
    )
    condition = (
        RefundTotalsItem.version.does_not_exist() if totals.version == 0 else RefundTotalsItem.version == totals.version
    )
    try:
        with transact_write() as tx:
            tx.save(item, condition=RefundItem.PK.does_not_exist())
            tx.update(
                _totals_key(refund.order_id),
                actions=[
                    RefundTotalsItem.order_id.set(refund.order_id),
                    RefundTotalsItem.committed.set(totals.committed + refund.amount),
                    RefundTotalsItem.version.set(totals.version + 1),
                ],
                condition=condition,
            )
    except TransactWriteError as error:
        if any(
            r is not None and r.code in ("ConditionalCheckFailed", "TransactionConflict")
            for r in error.cancellation_reasons
        ):
            return False
        raise
    return True


def attach_gateway_refund(refund: Refund, gateway_refund_id: str) -> bool:
    """``requested`` -> ``pending`` with the gateway's refund id; False if it had moved on."""
    try:
        _key(refund.order_id, refund.id).update(
            actions=[
                RefundItem.gateway_refund_id.set(gateway_refund_id),
                RefundItem.status.set("pending"),
                RefundItem.updated_at.set(clock.iso(clock.now())),
            ],
            condition=RefundItem.status == "requested",
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def note_unclear(refund: Refund, reason: str) -> None:
    """Record why a refund stays ``requested`` (the gateway's answer was lost); its amount stays reserved."""
    _key(refund.order_id, refund.id).update(
        actions=[RefundItem.failure_reason.set(reason), RefundItem.updated_at.set(clock.iso(clock.now()))],
        condition=RefundItem.status == "requested",
    )


def close_failed(refund: Refund, reason: str) -> bool:
    """An open refund -> ``failed``, and its amount is no longer committed; False if it was not open."""
    now = clock.iso(clock.now())
    try:
        with transact_write() as tx:
            tx.update(
                _key(refund.order_id, refund.id),
                actions=[
                    RefundItem.status.set("failed"),
                    RefundItem.failure_reason.set(reason),
                    RefundItem.updated_at.set(now),
                ],
                condition=RefundItem.status.is_in(*OPEN_STATUSES),
            )
            tx.update(
                _totals_key(refund.order_id),
                actions=[RefundTotalsItem.committed.add(-refund.amount), RefundTotalsItem.version.add(1)],
                condition=RefundTotalsItem.PK.exists(),
            )
    except TransactWriteError as error:
        if any(r is not None and r.code == "ConditionalCheckFailed" for r in error.cancellation_reasons):
            return False
        raise
    return True


def processed_op(refund: Refund) -> TxOp:
    """A transaction item moving an open refund to ``processed`` (the exactly-once guard)."""
    now = clock.iso(clock.now())
    actions: list[Any] = [
        RefundItem.status.set("processed"),
        RefundItem.processed_at.set(now),
        RefundItem.updated_at.set(now),
    ]
    condition = RefundItem.status.is_in(*OPEN_STATUSES)
    key = _key(refund.order_id, refund.id)
    return TxOp("refund", lambda tx: tx.update(key, actions=actions, condition=condition))


def order_refunded_op(order: Order, amount: int) -> TxOp:
    """A transaction item adding ``amount`` to the order's refunded amount and setting its status.

    Conditioned on the status and on the refunded amount read, so two refunds processed at once
    cannot both start from the same amount (the loser retries from a fresh read).
    """
    refunded = order.refunded_amount + amount
    new_status = "refunded" if refunded >= order.amount else "partially_refunded"
    actions: list[Any] = [
        OrderItem.status.set(new_status),
        OrderItem.refunded_amount.set(refunded),
        OrderItem.updated_at.set(clock.iso(clock.now())),
    ]
    same_amount = (
        OrderItem.refunded_amount.does_not_exist() | (OrderItem.refunded_amount == 0)
        if order.refunded_amount == 0
        else OrderItem.refunded_amount == order.refunded_amount
    )
    condition = OrderItem.status.is_in("paid", "partially_refunded") & same_amount
    return TxOp("order", lambda tx: tx.update(order_key(order.id), actions=actions, condition=condition))
