"""Refunds and the per-order refund totals (keys in ``market.models.refund``).

- ``reserve`` writes a new refund (``requested``) and adds its amount to the order's committed
  total in one transaction conditioned on the total's version: concurrent requests can never
  commit more than the order's amount.
- ``processed_op`` and ``order_refunded_op`` ride in the wallet transaction that debits the
  creator (``market.services.refunds``); ``close_failed`` gives the reserved amount back.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from market import clock
from market.domain.errors import TransientError
from market.domain.order import Order
from market.domain.refund import OPEN_STATUSES, Refund, RefundTotals
from market.models.base import from_domain, to_domain
from market.models.order import OrderItem
from market.models.refund import (
    TOTALS_SK,
    RefundItem,
    RefundTotalsItem,
    refund_sk,
    refunds_pk,
)
from market.repositories.orders import order_key
from market.repositories.transactions import OperationRejected, TxOp, condition_failed, write


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
    return to_domain(item, RefundTotals)


def get_refund(order_id: str, refund_id: str) -> Refund | None:
    try:
        return to_domain(RefundItem.get(refunds_pk(order_id), refund_sk(refund_id), consistent_read=True), Refund)
    except DoesNotExist:
        return None


def list_order_refunds(order_id: str) -> list[Refund]:
    items = RefundItem.query(refunds_pk(order_id), RefundItem.SK.startswith("REFUND#"), consistent_read=True)
    return [to_domain(item, Refund) for item in items]


# ---------------------------------------------------------------- writes


def reserve(refund: Refund, totals: RefundTotals) -> bool:
    """Write ``refund`` and commit its amount; False when the totals changed since they were read."""
    item = from_domain(RefundItem(refunds_pk(refund.order_id), refund_sk(refund.id)), refund)
    condition = (
        RefundTotalsItem.version.does_not_exist() if totals.version == 0 else RefundTotalsItem.version == totals.version
    )
    actions: list[Any] = [
        RefundTotalsItem.order_id.set(refund.order_id),
        RefundTotalsItem.committed.set(totals.committed + refund.amount),
        RefundTotalsItem.version.set(totals.version + 1),
    ]
    try:
        # A conflict means another request is reserving now: the caller reads the totals again.
        write(
            [
                TxOp("refund", lambda tx: tx.save(item, condition=RefundItem.PK.does_not_exist())),
                TxOp(
                    "totals", lambda tx: tx.update(_totals_key(refund.order_id), actions=actions, condition=condition)
                ),
            ],
            conflict_retries=0,
        )
    except (OperationRejected, TransientError):
        return False
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
        if condition_failed(error):
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
    refund_actions: list[Any] = [
        RefundItem.status.set("failed"),
        RefundItem.failure_reason.set(reason),
        RefundItem.updated_at.set(now),
    ]
    totals_actions: list[Any] = [RefundTotalsItem.committed.add(-refund.amount), RefundTotalsItem.version.add(1)]
    try:
        write(
            [
                TxOp(
                    "refund",
                    lambda tx: tx.update(
                        _key(refund.order_id, refund.id),
                        actions=refund_actions,
                        condition=RefundItem.status.is_in(*OPEN_STATUSES),
                    ),
                ),
                TxOp(
                    "totals",
                    lambda tx: tx.update(
                        _totals_key(refund.order_id), actions=totals_actions, condition=RefundTotalsItem.PK.exists()
                    ),
                ),
            ]
        )
    except OperationRejected:
        return False
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
