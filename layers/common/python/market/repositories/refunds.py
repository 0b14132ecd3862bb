"""Refunds, the per-order refund totals, gateway refund claims and open-refund markers
(keys in ``market.models.refund``).

- ``reserve_ops`` write a new refund (``requested``), its open marker and, for a sale refund, add
  its amount to the order's committed total conditioned on the total's version: concurrent requests
  can never commit more than the order's amount. They ride in the wallet transaction that reserves
  the refund's net debit (``market.services.refunds``).
- ``attach_gateway_refund`` stores the gateway's refund id with a claim item, so one gateway refund
  is never matched to two of ours.
- ``processed_op`` and ``order_refunded_op`` ride in the wallet transaction that debits the
  creator; ``close_failed_ops`` give the committed amount back. Both remove the open marker.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.transactions import TransactWrite

from market import clock
from market.domain.order import Order
from market.domain.refund import OPEN_STATUSES, Refund, RefundTotals
from market.models.base import from_domain, to_domain
from market.models.order import OrderItem
from market.models.refund import (
    TOTALS_SK,
    GatewayRefundClaimItem,
    OpenRefundMarker,
    RefundItem,
    RefundTotalsItem,
    gateway_claim_sk,
    open_refund_pk,
    refund_sk,
    refunds_pk,
)
from market.repositories.orders import order_key
from market.repositories.transactions import OperationRejected, TxOp, condition_failed, write


def _key(order_id: str, refund_id: str) -> RefundItem:
    return RefundItem(refunds_pk(order_id), refund_sk(refund_id))


def _totals_key(order_id: str) -> RefundTotalsItem:
    return RefundTotalsItem(refunds_pk(order_id), TOTALS_SK)


def _marker_key(refund: Refund) -> OpenRefundMarker:
    return OpenRefundMarker(
        open_refund_pk(refund.created_at[:10]), f"{refund.created_at}#{refund.order_id}#{refund.id}"
    )


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
    """Every refund of the order (sale and capture refunds), oldest first."""
    items = RefundItem.query(refunds_pk(order_id), RefundItem.SK.startswith("REFUND#"), consistent_read=True)
    return sorted((to_domain(item, Refund) for item in items), key=lambda refund: (refund.created_at, refund.id))


def claimed_gateway_refunds(order_id: str) -> dict[str, str]:
    """gateway refund id -> our refund id, for every gateway refund of the order matched to one of ours."""
    items = GatewayRefundClaimItem.query(
        refunds_pk(order_id), GatewayRefundClaimItem.SK.startswith("GATEWAY#"), consistent_read=True
    )
    return {item.SK.removeprefix("GATEWAY#"): item.refund_id for item in items}


# ---------------------------------------------------------------- writes


def reserve_ops(refund: Refund, totals: RefundTotals | None) -> list[TxOp]:
    """Transaction items writing ``refund`` with its open marker and (``totals`` given) committing its amount.

    ``refund`` fails when a refund with its id exists; ``totals`` when the totals changed since they were read.
    """
    item = from_domain(RefundItem(refunds_pk(refund.order_id), refund_sk(refund.id)), refund)
    marker = _marker_key(refund)
    marker.order_id = refund.order_id
    marker.refund_id = refund.id
    marker.created_at = refund.created_at

    def add_refund(tx: TransactWrite) -> None:
        tx.save(item, condition=RefundItem.PK.does_not_exist())
        tx.save(marker)

    ops = [TxOp("refund", add_refund)]
    if totals is not None:
        condition = (
            RefundTotalsItem.version.does_not_exist()
            if totals.version == 0
            else RefundTotalsItem.version == totals.version
        )
        actions: list[Any] = [
            RefundTotalsItem.order_id.set(refund.order_id),
            RefundTotalsItem.committed.set(totals.committed + refund.amount),
            RefundTotalsItem.version.set(totals.version + 1),
        ]
        ops.append(
            TxOp("totals", lambda tx: tx.update(_totals_key(refund.order_id), actions=actions, condition=condition))
        )
    return ops


def create(refund: Refund) -> bool:
    """Write a refund that commits nothing (a capture refund) with its marker; False when its id exists."""
    try:
        write(reserve_ops(refund, None))
    except OperationRejected:
        return False
    return True


def attach_gateway_refund(refund: Refund, gateway_refund_id: str) -> bool:
    """``requested`` -> ``pending`` with the gateway's refund id, claimed for this refund only.

    False when the refund had its answer already, or another refund of ours claimed this gateway refund.
    """
    now = clock.iso(clock.now())
    actions: list[Any] = [
        RefundItem.gateway_refund_id.set(gateway_refund_id),
        RefundItem.status.set("pending"),
        RefundItem.updated_at.set(now),
    ]
    condition = (RefundItem.status == "requested") & RefundItem.gateway_refund_id.does_not_exist()
    claim = GatewayRefundClaimItem(
        refunds_pk(refund.order_id), gateway_claim_sk(gateway_refund_id), refund_id=refund.id
    )
    try:
        write(
            [
                TxOp(
                    "refund",
                    lambda tx: tx.update(_key(refund.order_id, refund.id), actions=actions, condition=condition),
                ),
                TxOp("claim", lambda tx: tx.save(claim, condition=GatewayRefundClaimItem.PK.does_not_exist())),
            ]
        )
    except OperationRejected:
        return False
    return True


def mark_needs_attention(refund: Refund, note: str) -> bool:
    """An open refund the gateway cannot finish without help -> ``needs_attention``; False if it was not open."""
    try:
        _key(refund.order_id, refund.id).update(
            actions=[
                RefundItem.status.set("needs_attention"),
                RefundItem.failure_reason.set(note[:500]),
                RefundItem.updated_at.set(clock.iso(clock.now())),
            ],
            condition=RefundItem.status.is_in("requested", "pending"),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def note_unclear(refund: Refund, reason: str) -> None:
    """Record why a refund stays ``requested`` (the gateway's answer was lost); its amount stays reserved."""
    try:
        _key(refund.order_id, refund.id).update(
            actions=[RefundItem.failure_reason.set(reason), RefundItem.updated_at.set(clock.iso(clock.now()))],
            condition=RefundItem.status == "requested",
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise


def close_failed_ops(refund: Refund, reason: str) -> list[TxOp]:
    """Transaction items: an open refund -> ``failed``, its amount no longer committed, its marker gone."""
    now = clock.iso(clock.now())
    refund_actions: list[Any] = [
        RefundItem.status.set("failed"),
        RefundItem.failure_reason.set(reason[:500]),
        RefundItem.updated_at.set(now),
    ]
    marker = _marker_key(refund)

    def close(tx: TransactWrite) -> None:
        tx.update(
            _key(refund.order_id, refund.id), actions=refund_actions, condition=RefundItem.status.is_in(*OPEN_STATUSES)
        )
        tx.delete(marker)

    ops = [TxOp("refund", close)]
    if not refund.is_capture:
        totals_actions: list[Any] = [RefundTotalsItem.committed.add(-refund.amount), RefundTotalsItem.version.add(1)]
        ops.append(
            TxOp(
                "totals",
                lambda tx: tx.update(
                    _totals_key(refund.order_id), actions=totals_actions, condition=RefundTotalsItem.PK.exists()
                ),
            )
        )
    return ops


def processed_op(refund: Refund) -> TxOp:
    """A transaction item moving an open refund to ``processed`` (the exactly-once guard), its marker gone."""
    now = clock.iso(clock.now())
    actions: list[Any] = [
        RefundItem.status.set("processed"),
        RefundItem.processed_at.set(now),
        RefundItem.updated_at.set(now),
    ]
    condition = RefundItem.status.is_in(*OPEN_STATUSES)
    key = _key(refund.order_id, refund.id)
    marker = _marker_key(refund)

    def process(tx: TransactWrite) -> None:
        tx.update(key, actions=actions, condition=condition)
        tx.delete(marker)

    return TxOp("refund", process)


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
