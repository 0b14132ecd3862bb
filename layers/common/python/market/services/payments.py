"""Settlement: a payment the gateway verified becomes a paid order and a wallet credit, exactly once.

Every path that learns of a payment (the webhook through the payments queue, the buyer's
``POST /orders/{id}/verify``, the reconciler) ends in ``settle_order``, which never trusts a
webhook body for value: it asks the gateway, checks status, amount, currency, reference and
mode, and then writes ONE transaction: the order pending->paid, the transaction record (its
``attribute_not_exists`` put is the exactly-once guard), the creator's wallet and ledger, the
sales counters, and the removal of the pending marker. Afterwards, and also when the guard
shows it was already settled, the order goes to the delivery queue, so a crash between the
two steps still delivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

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
from market.settings import Settings, get_settings


class Outcome(StrEnum):
    SETTLED = "settled"
    DUPLICATE = "duplicate"
    MISMATCH = "mismatch"
    FAILED = "failed"
    NOT_PAID = "not_paid"
    UNKNOWN_REFERENCE = "unknown_reference"
    NOT_PENDING = "not_pending"


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
        _metric(Outcome.UNKNOWN_REFERENCE)
        return SettlementResult(Outcome.UNKNOWN_REFERENCE, None, "no order has this reference")
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
        return _fail(order, Outcome.MISMATCH, problem)
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


def _fail(order: Order, outcome: Outcome, reason: str) -> SettlementResult:
    closed = orders_repo.close_pending(order, "failed", reason=reason)
    logger.warning("payment rejected", order_id=order.id, outcome=outcome.value, reason=reason)
    _metric(outcome)
    refreshed = orders_repo.get_order(order.id) or order
    if not closed and refreshed.status == "paid":
        return _already_settled(refreshed)
    return SettlementResult(outcome, refreshed, reason)


def _settle(order: Order, verified: VerifiedPayment) -> SettlementResult:
    settings = get_settings()
    fee = fee_policy(settings).fee(order.total)
    net = order.total - fee
    now = clock.now()
    paid_at = verified.paid_at or now
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
    try:
        wallets_repo.apply_change(change, ops)
    except OperationRejected as rejected:
        # The guard or the order's status condition failed: someone settled (or closed) it first.
        refreshed = orders_repo.get_order(order.id) or order
        if "guard" in rejected.failed or refreshed.status == "paid":
            return _already_settled(refreshed)
        logger.info("order closed before settlement", order_id=order.id, status=refreshed.status)
        return SettlementResult(Outcome.NOT_PENDING, refreshed, f"order is {refreshed.status}")
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


def reconcile_pending() -> ReconcileReport:
    """Verify orders left pending (missed webhooks) and expire the ones unpaid past the limit."""
    settings = get_settings()
    now = clock.now()
    reverify_before = clock.iso(now - timedelta(minutes=settings.pending_order_reverify_minutes))
    expire_before = clock.iso(now - timedelta(hours=settings.order_expiry_hours))
    days = {clock.iso(now - timedelta(days=back))[:10] for back in range(settings.order_expiry_hours // 24 + 2)}
    checked = settled = expired = failed = 0
    for day in sorted(days):
        for order_id, created_at in orders_repo.pending_orders(day, reverify_before):
            order = orders_repo.get_order(order_id)
            if order is None:
                continue
            checked += 1
            try:
                result = settle_order(order)
            except TransientError:
                failed += 1
                continue
            if result.outcome in (Outcome.SETTLED, Outcome.DUPLICATE):
                settled += 1
            elif (
                result.outcome == Outcome.NOT_PAID
                and created_at < expire_before
                and orders_repo.close_pending(order, "expired", reason="unpaid after the payment window")
            ):
                expired += 1
                logger.info("order expired", order_id=order.id)
    logger.info("reconciled pending orders", checked=checked, settled=settled, expired=expired, failed=failed)
    return ReconcileReport(checked=checked, settled=settled, expired=expired, failed=failed)
