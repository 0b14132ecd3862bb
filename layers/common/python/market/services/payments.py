"""Settlement: a payment the gateway verified becomes a paid order and a wallet credit, exactly once.

Every path that learns of a payment (the webhook through the payments queue, the buyer's
``POST /orders/{id}/verify``, the reconciler) ends in ``settle_order``, which never trusts a
webhook body for value: it asks the gateway, checks status, amount, currency, reference and
mode, and then writes ONE transaction: the order pending->paid, the transaction record (its
``attribute_not_exists`` put is the exactly-once guard), the creator's wallet and ledger, the
sales counters, and the removal of the pending marker. Afterwards, and also when the guard
shows it was already settled, the order goes to the delivery queue, so a crash between the
two steps still delivers.

Money at the edges:
- a verified success settles a ``failed`` or ``expired`` order too (a buyer paying on the same
  page after a decline, or late): credited once, delivered;
- a verified success of another amount or currency than the order's is never settled: the order
  is ``failed`` and the captured money goes back through the gateway (``market.services.captures``:
  a capture refund, the ``CapturedUnsettled`` metric and an error log an operator can alert on),
  as does a success on a checkout attempt the order no longer uses;
- ``paid_at`` is the gateway's time of payment, never earlier than the order's ``created_at``;
- a success for a reference no order has is recorded as an early event.

The reconciler (``reconcile_pending``) sweeps the pending markers within a time budget from a
persisted cursor (``market.services.worklists``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from market import clock, messages
from market.domain.errors import TransientError
from market.domain.money import FeePolicy, Money
from market.domain.order import Order
from market.domain.wallet import sale_change
from market.gateways.base import GatewayNotFound, VerifiedPayment
from market.gateways.registry import get_gateway
from market.observability import get_metrics, logger
from market.repositories import orders as orders_repo
from market.repositories import stats as stats_repo
from market.repositories import wallets as wallets_repo
from market.repositories.transactions import OperationRejected, TxOp
from market.repositories.worklists import Marker
from market.services import worklists
from market.settings import Settings, get_settings


class Outcome(StrEnum):
    SETTLED = "settled"
    DUPLICATE = "duplicate"
    MISMATCH = "mismatch"
    FAILED = "failed"
    NOT_PAID = "not_paid"
    UNKNOWN_REFERENCE = "unknown_reference"
    NOT_PENDING = "not_pending"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class SettlementResult:
    outcome: Outcome
    order: Order | None
    detail: str = ""


def _metric(outcome: Outcome) -> None:
    get_metrics().add_metric(name=f"Payment_{outcome.value}", unit=MetricUnit.Count, value=1)


def fee_policy(settings: Settings) -> FeePolicy:
    return FeePolicy(bps=settings.platform_fee_bps, fixed=settings.platform_fixed_fee)


def fee_for(amount: int, currency: str, settings: Settings) -> int:
    return fee_policy(settings).fee(Money(amount, currency)).amount


def enqueue_delivery(order_id: str) -> None:
    messages.send(messages.DeliveryMessage(order_id=order_id))


def settle_reference(gateway: str, reference: str, transaction_id: str | None = None) -> SettlementResult:
    """Settle the order behind a gateway reference (the payments consumer's entry point).

    ``transaction_id`` is the gateway's id of the attempt a webhook named (a gateway may verify by it).
    """
    order = orders_repo.order_for_reference(gateway, reference)
    if order is None:
        logger.warning("payment reference unknown", gateway=gateway, reference=reference)
        orders_repo.record_early_event(gateway, reference, "payment.succeeded", None)
        _metric(Outcome.UNKNOWN_REFERENCE)
        return SettlementResult(Outcome.UNKNOWN_REFERENCE, None, "no order has this reference")
    if reference != order.reference:
        return _superseded_attempt(order, reference, transaction_id)
    return settle_order(order, transaction_id=transaction_id)


def settle_order(order: Order, *, transaction_id: str | None = None) -> SettlementResult:
    """Ask the gateway about ``order`` and settle it once. Raises ``TransientError`` to be retried."""
    if order.status == "paid" or orders_repo.transaction_exists(order.gateway, order.reference):
        return _already_settled(order)
    if not order.is_settleable:
        logger.info("order not payable", order_id=order.id, status=order.status)
        return SettlementResult(Outcome.NOT_PENDING, order, f"order is {order.status}")
    try:
        verified = get_gateway(order.gateway).verify(order.reference, transaction_id=transaction_id)
    except GatewayNotFound:
        logger.info("payment not found at gateway", order_id=order.id)
        _metric(Outcome.NOT_PAID)
        return SettlementResult(Outcome.NOT_PAID, order, "the gateway has no such payment")
    except TransientError:
        get_metrics().add_metric(name="Payment_retried", unit=MetricUnit.Count, value=1)
        logger.warning("gateway verify failed; will retry", order_id=order.id)
        raise
    if verified.status in ("failed", "reversed"):
        return _fail(order, Outcome.FAILED, f"gateway status {verified.gateway_status}")
    if verified.status != "success":
        logger.info("payment not completed", order_id=order.id, gateway_status=verified.gateway_status)
        _metric(Outcome.NOT_PAID)
        return SettlementResult(Outcome.NOT_PAID, order, f"gateway status {verified.gateway_status}")
    problem = _mismatch(order, verified)
    if problem:
        result = _fail(order, Outcome.MISMATCH, problem)
        if result.outcome == Outcome.MISMATCH and _money_differs(order, verified):
            _return_capture(order, verified, problem)
        return result
    return _settle(order, verified)


def _mismatch(order: Order, verified: VerifiedPayment) -> str | None:
    if verified.reference != order.reference:
        return "reference differs"
    if verified.currency != order.currency:
        return f"currency {verified.currency} != {order.currency}"
    if verified.amount != order.amount:
        return f"amount {verified.amount} != {order.amount}"
    # A test-mode payment must never pay a live order (and the other way round).
    expected_mode = get_settings().gateway_mode or get_gateway(order.gateway).mode
    if verified.mode is not None and expected_mode and verified.mode != expected_mode:
        return f"mode {verified.mode} != {expected_mode}"
    return None


def _money_differs(order: Order, verified: VerifiedPayment) -> bool:
    """Real money was captured for this reference, but not what the order asks (it goes back to the buyer)."""
    return verified.reference == order.reference and (
        verified.amount != order.amount or verified.currency != order.currency
    )


def _return_capture(order: Order, verified: VerifiedPayment, reason: str) -> None:
    from market.services import captures  # lazy: only a captured payment that cannot settle needs it

    captures.return_capture(order, verified, reason)


def _superseded_attempt(order: Order, reference: str, transaction_id: str | None) -> SettlementResult:
    """A payment event for a checkout attempt the order replaced: its page was never handed out, so money
    captured on it cannot settle the order; it goes back to the buyer."""
    try:
        verified = get_gateway(order.gateway).verify(reference, transaction_id=transaction_id)
    except GatewayNotFound:
        return SettlementResult(Outcome.NOT_PAID, order, "the gateway has no such payment")
    if verified.is_successful and verified.reference == reference:
        logger.warning("payment on a superseded checkout attempt", order_id=order.id, reference=reference)
        _return_capture(order, verified, "paid on a checkout attempt the order no longer uses")
    _metric(Outcome.SUPERSEDED)
    return SettlementResult(Outcome.SUPERSEDED, order, "the order uses another reference now")


def _fail(order: Order, outcome: Outcome, reason: str) -> SettlementResult:
    closed = orders_repo.close_pending(order, "failed", reason=reason)
    logger.warning("payment rejected", order_id=order.id, outcome=outcome.value, reason=reason)
    _metric(outcome)
    refreshed = orders_repo.get_order(order.id) or order
    if not closed and refreshed.status == "paid":
        return _already_settled(refreshed)
    return SettlementResult(outcome, refreshed, reason)


def _settle(order: Order, verified: VerifiedPayment, *, attempts: int = 3) -> SettlementResult:
    for _ in range(attempts):
        try:
            return _settle_once(order, verified)
        except OperationRejected as rejected:
            # The guard or the order's status condition failed: someone settled (or closed) it first.
            refreshed = orders_repo.get_order(order.id) or order
            if "guard" in rejected.failed or refreshed.status == "paid":
                return _already_settled(refreshed)
            if refreshed.is_settleable and refreshed.status != order.status:
                order = refreshed  # closed unpaid meanwhile (declined, expired): the payment still settles it
                continue
            logger.info("order closed before settlement", order_id=order.id, status=refreshed.status)
            return SettlementResult(Outcome.NOT_PENDING, refreshed, f"order is {refreshed.status}")
    raise TransientError("The order kept changing during settlement; try again.")


def _settle_once(order: Order, verified: VerifiedPayment) -> SettlementResult:
    settings = get_settings()
    fee = fee_policy(settings).fee(order.total)
    net = order.total - fee
    now = clock.now()
    paid_at = order.paid_at_for(verified.paid_at, now)
    hold_days = settings.hold_days.get(order.currency, 0)
    record = orders_repo.transaction_record(
        order,
        gateway_transaction_id=verified.gateway_id,
        gateway_fee=verified.fees,
        platform_fee=fee.amount,
        net_amount=net.amount,
        paid_at=paid_at,
    )
    ops = [
        TxOp(
            "order",
            lambda tx: orders_repo.add_close_pending(
                tx, order, "paid", paid_at=paid_at, platform_fee=fee.amount, net_amount=net.amount
            ),
        ),
        TxOp("guard", lambda tx: tx.save(record, condition=type(record).PK.does_not_exist())),
        TxOp(
            "counters",
            lambda tx: stats_repo.add_to_counters(
                tx,
                creator_id=order.creator_id,
                product_id=order.product_id,
                product_title=order.product_title,
                currency=order.currency,
                day=clock.iso(now)[:10],
                sales=1,
                gross=order.amount,
                fees=fee.amount,
                net=net.amount,
            ),
        ),
    ]
    if hold_days > 0:
        ops.append(
            wallets_repo.hold_op(
                order.creator_id, order.currency, order.id, net.amount, now + timedelta(days=hold_days)
            )
        )
    change = sale_change(order.creator_id, order.id, order.total, fee, held=hold_days > 0)
    wallets_repo.apply_change(change, ops)
    if order.status != "pending":
        logger.info("order paid after it closed", order_id=order.id, closed_as=order.status)
    logger.info("order paid", order_id=order.id, amount=order.amount, currency=order.currency, fee=fee.amount)
    _metric(Outcome.SETTLED)
    enqueue_delivery(order.id)
    return SettlementResult(Outcome.SETTLED, orders_repo.get_order(order.id) or order)


def _already_settled(order: Order) -> SettlementResult:
    logger.info("payment already settled", order_id=order.id)
    _metric(Outcome.DUPLICATE)
    # Delivery is idempotent; sending again covers a crash between settling and enqueueing.
    enqueue_delivery(order.id)
    return SettlementResult(Outcome.DUPLICATE, order)


# ---------------------------------------------------------------- reconciler


@dataclass(frozen=True)
class ReconcileReport:
    checked: int
    settled: int
    expired: int
    failed: int
    first_checks: int = 0
    sweeps_finished: int = 0


def reconcile_pending(remaining_seconds: float | None = None) -> ReconcileReport:
    """Verify orders left pending (missed webhooks) and expire the ones unpaid past the limit.

    Sweeps the pending markers (``market.services.worklists``) within the time budget: the
    setting, and no more than ``remaining_seconds`` (the Lambda's time left) less a margin.
    """
    settings = get_settings()
    now = clock.now()
    reverify_before = clock.iso(now - timedelta(minutes=settings.pending_order_reverify_minutes))
    expire_before = clock.iso(now - timedelta(hours=settings.order_expiry_hours))

    def check(marker: Marker) -> str:
        order = orders_repo.get_order(marker.subject)
        if order is None:
            return "missing"
        result = settle_order(order)
        if result.outcome in (Outcome.SETTLED, Outcome.DUPLICATE):
            return "settled"
        if (
            result.outcome == Outcome.NOT_PAID
            and marker.created_at < expire_before
            and orders_repo.close_pending(order, "expired", reason="unpaid after the payment window")
        ):
            logger.info("order expired", order_id=order.id)
            return "expired"
        return "pending"

    report = worklists.sweep(
        "pending-orders", check, cutoff=reverify_before, budget=reconciler_budget(settings, remaining_seconds), now=now
    )
    counts = report.outcomes
    result = ReconcileReport(
        checked=report.checked,
        settled=counts.get("settled", 0),
        expired=counts.get("expired", 0),
        failed=counts.get("failed", 0),
        first_checks=report.first_checks,
        sweeps_finished=report.sweeps_finished,
    )
    logger.info("reconciled pending orders", **_as_keys(result), cursor_day=report.cursor.day)
    return result


# What a scheduled run keeps for itself after its budget: a last page of gateway calls at their timeout
# (at most this much, and at most a quarter of the time left).
_RUN_MARGIN_SECONDS = 30.0


def reconciler_budget(settings: Settings, remaining_seconds: float | None) -> worklists.Budget:
    seconds = settings.reconciler_budget_seconds
    if remaining_seconds is not None:
        margin = min(_RUN_MARGIN_SECONDS, remaining_seconds / 4)
        seconds = max(1.0, min(seconds, remaining_seconds - margin))
    return worklists.Budget(
        seconds=seconds,
        concurrency=settings.reconciler_concurrency,
        fresh_share=settings.reconciler_fresh_share,
        first_lookback_days=settings.reconciler_first_lookback_days,
    )


def _as_keys(report: ReconcileReport) -> dict[str, Any]:
    return {
        "checked": report.checked,
        "settled": report.settled,
        "expired": report.expired,
        "failed": report.failed,
        "first_checks": report.first_checks,
        "sweeps_finished": report.sweeps_finished,
    }
