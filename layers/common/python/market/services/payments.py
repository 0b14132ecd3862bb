"""Settlement: a payment the gateway verified becomes a paid order and a wallet credit, exactly once.

Every path that learns of a payment (the webhook through the payments queue, the buyer's
``POST /orders/{id}/verify``, the reconciler) ends in ``settle_order`` (one order) or
``settle_references`` (a batch of the payments queue). Both pass each order through
``check_payment``, which never trusts a webhook body for value: it asks the gateway, checks
status, amount, currency, reference and mode. Then ``_settle_group`` writes ONE transaction per
wallet: for each sale the order pending->paid, the transaction record (its ``attribute_not_exists``
put is the exactly-once guard) and the removal of the pending marker; the creator's wallet and
ledger and the sales counters once for all of them (a flash sale of one creator then costs one
balance update per batch, not per sale). Afterwards, and also when the guard shows it was already
settled, the order goes to the delivery queue, so a crash between the two steps still delivers.

Money at the edges (both paths alike):
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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from market import clock, messages
from market.domain.errors import TransientError
from market.domain.money import FeePolicy, Money
from market.domain.order import Order
from market.domain.stats import Counter
from market.domain.wallet import WalletChange, combined, sale_change
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

if TYPE_CHECKING:
    from pynamodb.transactions import TransactWrite


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

    @property
    def delivers(self) -> bool:
        """Paid now or before: the order goes (again) to the delivery queue, which is idempotent."""
        return self.order is not None and self.outcome in (Outcome.SETTLED, Outcome.DUPLICATE)


def _metric(outcome: Outcome) -> None:
    get_metrics().add_metric(name=f"Payment_{outcome.value}", unit=MetricUnit.Count, value=1)


def fee_policy(settings: Settings) -> FeePolicy:
    return FeePolicy(bps=settings.platform_fee_bps, fixed=settings.platform_fixed_fee)


def fee_for(amount: int, currency: str, settings: Settings) -> int:
    return fee_policy(settings).fee(Money(amount, currency)).amount


def delivery_message(order: Order) -> messages.DeliveryMessage:
    return messages.DeliveryMessage(order_id=order.id, product_id=order.product_id)


def enqueue_delivery(order: Order) -> None:
    messages.send(delivery_message(order))


# What a payment event names: (gateway, reference, the gateway's transaction id when it gave one).
PaymentNotice = tuple[str, str, str | None]


def settle_reference(gateway: str, reference: str, transaction_id: str | None = None) -> SettlementResult:
    """Settle the order behind a gateway reference (one message of the payments queue).

    ``transaction_id`` is the gateway's id of the attempt a webhook named (a gateway may verify by it).
    """
    order = orders_repo.order_for_reference(gateway, reference)
    if order is None:
        return _unknown_reference(gateway, reference)
    if reference != order.reference:
        return _superseded_attempt(order, reference, transaction_id)
    return settle_order(order, transaction_id=transaction_id)


def settle_order(order: Order, *, transaction_id: str | None = None) -> SettlementResult:
    """Ask the gateway about ``order`` and settle it once. Raises ``TransientError`` to be retried."""
    checked = check_payment(order, transaction_id=transaction_id)
    if isinstance(checked, Sale):
        written = _settle_group([checked])[order.id]
        if isinstance(written, TransientError):
            raise written
        checked = written
        if checked.outcome == Outcome.SETTLED:
            checked = SettlementResult(Outcome.SETTLED, orders_repo.get_order(order.id) or order)
    if checked.delivers:
        enqueue_delivery(checked.order or order)
    return checked


def settle_references(payments: Sequence[PaymentNotice]) -> list[SettlementResult | TransientError]:
    """Settle the orders behind several ``(gateway, reference, transaction_id)`` notices (a batch of
    the payments queue): the same checks as ``settle_order`` for each, then ONE transaction per creator and
    currency for all of its verified sales (``_settle_group``), and one batched send of the deliveries.

    Each entry's answer, in order: its result, or the ``TransientError`` it should be retried for
    (the gateway was unavailable for it, or its creator's wallet stayed busy). A reference given
    twice settles once (the second is a duplicate); a sale settled meanwhile by another path does
    not hold up the rest of its group; a reference of a checkout attempt the order replaced is
    answered on its own, as ``settle_reference`` answers it.
    """
    answers: list[SettlementResult | TransientError | None] = [None] * len(payments)
    lookup = orders_repo.look_up_payments([(gateway, reference) for gateway, reference, _ in payments])
    orders, settled = lookup.orders, lookup.settled
    first_of: dict[str, int] = {}  # order id -> the index that settles it
    sales: list[tuple[int, Sale]] = []
    for index, (gateway, reference, transaction_id) in enumerate(payments):
        order = orders.get((gateway, reference))
        if order is None:
            answers[index] = _unknown_reference(gateway, reference)
            continue
        if reference != order.reference:
            try:
                answers[index] = _superseded_attempt(order, reference, transaction_id)
            except TransientError as error:
                answers[index] = error
            continue
        if order.id in first_of:
            continue  # answered after the first one is
        first_of[order.id] = index
        try:
            checked = check_payment(order, settled=(gateway, reference) in settled, transaction_id=transaction_id)
        except TransientError as error:
            answers[index] = error
            continue
        if isinstance(checked, Sale):
            sales.append((index, checked))
        else:
            answers[index] = checked
    for group in _groups([sale for _, sale in sales]):
        results: dict[str, SettlementResult | TransientError]
        try:
            results = dict(_settle_group(group))
        except TransientError as error:
            results = dict.fromkeys((sale.order.id for sale in group), error)
        for sale in group:
            answers[first_of[sale.order.id]] = results[sale.order.id]
    for index, (gateway, reference, _) in enumerate(payments):
        order = orders.get((gateway, reference))
        if answers[index] is None and order is not None and order.id in first_of:
            first = answers[first_of[order.id]]
            answers[index] = first if isinstance(first, TransientError) else _already_settled(order)
    done = [answer for answer in answers if answer is not None]
    deliveries = [
        delivery_message(answer.order)
        for answer in done
        if isinstance(answer, SettlementResult) and answer.delivers and answer.order is not None
    ]
    # Delivery is idempotent; sending for duplicates too covers a crash between settling and enqueueing.
    messages.send_batch(list(deliveries))
    return done


@dataclass(frozen=True)
class Sale:
    """A payment the gateway verified for an order that may be settled: what the transaction writes."""

    order: Order
    verified: VerifiedPayment


def check_payment(
    order: Order, *, settled: bool | None = None, transaction_id: str | None = None
) -> SettlementResult | Sale:
    """Every check a payment passes before it is written (the one place both settlement paths ask):
    already settled, settleable, what the gateway says (status, reference, currency, amount, mode).

    ``settled``: whether the order's transaction record exists, when the caller read it already;
    ``transaction_id``: the gateway's id of the attempt a webhook named (a gateway may verify by it).
    Returns the ``Sale`` to write, or the result that ends the matter (a failed or mismatched
    payment closes the order here). Raises ``TransientError`` when the gateway is unavailable.
    """
    if settled is None:
        settled = order.status != "paid" and orders_repo.transaction_exists(order.gateway, order.reference)
    if order.status == "paid" or settled:
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
    return Sale(order, verified)


def _unknown_reference(gateway: str, reference: str) -> SettlementResult:
    logger.warning("payment reference unknown", gateway=gateway, reference=reference)
    orders_repo.record_early_event(gateway, reference, "payment.succeeded", None)
    _metric(Outcome.UNKNOWN_REFERENCE)
    return SettlementResult(Outcome.UNKNOWN_REFERENCE, None, "no order has this reference")


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


# ---------------------------------------------------------------- the settlement transaction

# DynamoDB's limit of items in one transaction.
TRANSACTION_ITEM_LIMIT = 100


def _groups(sales: list[Sale]) -> list[list[Sale]]:
    """The sales by wallet (creator and currency), each wallet's cut into transactions that fit
    DynamoDB's item limit (``_items``), in the order they came."""
    by_wallet: dict[tuple[str, str], list[Sale]] = {}
    for sale in sales:
        by_wallet.setdefault((sale.order.creator_id, sale.order.currency), []).append(sale)
    groups: list[list[Sale]] = []
    for wallet_sales in by_wallet.values():
        group: list[Sale] = []
        for sale in wallet_sales:
            if group and _items([*group, sale]) > TRANSACTION_ITEM_LIMIT:
                groups.append(group)
                group = []
            group.append(sale)
        groups.append(group)
    return groups


def _open_count_owner(order: Order) -> str | None:
    """The buyer whose open-order count settling ``order`` takes down (``add_close_pending``), if any."""
    return order.buyer_id if order.status == "pending" and order.buyer_id else None


def _items(sales: list[Sale]) -> int:
    """Items the transaction of ``sales`` writes: per sale the order, its guard, a hold when held,
    its ledger entries (sale, fee) and, for a pending order, its pending marker; once the wallet,
    the day counter, a product-day counter per product and an open-order count per buyer of a
    pending order."""
    held = get_settings().hold_days.get(sales[0].order.currency, 0) > 0
    per_sale = 2 + (1 if held else 0) + 2
    markers = sum(1 for sale in sales if sale.order.status == "pending")
    buyers = len({owner for sale in sales if (owner := _open_count_owner(sale.order))})
    return per_sale * len(sales) + markers + buyers + 2 + len({sale.order.product_id for sale in sales})


# How often one sale is written again because its order changed status meanwhile (as ``settle_order`` did).
_SALE_ATTEMPTS = 3


def _settle_group(sales: list[Sale]) -> dict[str, SettlementResult | TransientError]:
    """Write the sales of one wallet in ONE transaction: per sale the order ->paid (from the status
    it was read in; its marker removed and its buyer's open count taken down when it was pending),
    the transaction record (the exactly-once guard), a hold when held; once for all of them the
    wallet (every ledger entry, one balance update) and the sales counters.

    A sale whose own item is refused is looked at again on its own, the rest written again without
    waiting for it, so one duplicate never blocks the others: its guard exists or its order is paid
    (already settled); its order was closed unpaid meanwhile (declined, expired) - the verified
    payment still settles it, from its new status; otherwise it is answered ``NOT_PENDING``.
    ``TransientError`` (raised) when the wallet stays busy; as a sale's answer when its order kept
    changing.
    """
    settings = get_settings()
    results: dict[str, SettlementResult | TransientError] = {}
    attempts = dict.fromkeys((sale.order.id for sale in sales), 1)
    pending = list(sales)
    while pending:
        now = clock.now()
        ops: list[TxOp] = []
        changes: list[WalletChange] = []
        counters: list[Counter] = []
        for sale in pending:
            sale_ops, change, counter = _sale_items(sale, now, settings)
            ops += sale_ops
            changes.append(change)
            counters.append(counter)
        first = pending[0].order
        ops.append(_counters_op(first.creator_id, clock.iso(now)[:10], counters))
        ops += _open_orders_ops(pending)
        try:
            wallets_repo.apply_change(combined(changes), ops)
        except OperationRejected as rejected:
            refused = {label.split(":", 1)[1] for label in rejected.failed if ":" in label}
            if not refused:
                raise  # an item of the group itself was refused: not a duplicate, a bug
            again: list[Sale] = []
            for sale in pending:
                if sale.order.id not in refused:
                    again.append(sale)
                    continue
                answer = _rejected(sale, guard=f"guard:{sale.order.id}" in rejected.failed)
                if not isinstance(answer, Sale):
                    results[sale.order.id] = answer
                elif attempts[sale.order.id] >= _SALE_ATTEMPTS:
                    results[sale.order.id] = TransientError("The order kept changing during settlement; try again.")
                else:
                    attempts[sale.order.id] += 1
                    again.append(answer)
            pending = again
            continue
        for sale in pending:
            order = sale.order
            if order.status != "pending":
                logger.info("order paid after it closed", order_id=order.id, closed_as=order.status)
            logger.info("order paid", order_id=order.id, amount=order.amount, currency=order.currency)
            _metric(Outcome.SETTLED)
            results[order.id] = SettlementResult(Outcome.SETTLED, order)
        if len(pending) > 1:
            logger.info("sales settled together", creator_id=first.creator_id, sales=len(pending))
        break
    return results


def _open_orders_ops(sales: list[Sale]) -> list[TxOp]:
    """Each buyer's open-order count down by the pending orders of theirs that ``sales`` settle, in
    one update per buyer (two orders of one buyer may be in one transaction, which may touch an item once)."""
    closing: dict[str, int] = {}
    for sale in sales:
        owner = _open_count_owner(sale.order)
        if owner is not None:
            closing[owner] = closing.get(owner, 0) + 1
    return [_open_orders_op(n, buyer, count) for n, (buyer, count) in enumerate(closing.items())]


def _open_orders_op(n: int, buyer_id: str, count: int) -> TxOp:
    def add(tx: TransactWrite) -> None:
        orders_repo.add_open_orders(tx, buyer_id, -count)

    return TxOp(f"open-orders-{n}", add)


def _counters_op(creator_id: str, day: str, counters: list[Counter]) -> TxOp:
    def add(tx: TransactWrite) -> None:
        stats_repo.add_sales_to_counters(tx, creator_id=creator_id, day=day, sales=counters)

    return TxOp("counters", add)


def _sale_items(sale: Sale, now: datetime, settings: Settings) -> tuple[list[TxOp], WalletChange, Counter]:
    """One sale's own items of the settlement transaction (labelled ``<item>:<order id>``), its
    wallet change and its sales counter."""
    order, verified = sale.order, sale.verified
    fee = fee_policy(settings).fee(order.total)
    net = order.total - fee
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
            f"order:{order.id}",
            lambda tx: orders_repo.add_close_pending(
                tx, order, "paid", paid_at=paid_at, platform_fee=fee.amount, net_amount=net.amount, count_open=False
            ),
        ),
        TxOp(f"guard:{order.id}", lambda tx: tx.save(record, condition=type(record).PK.does_not_exist())),
    ]
    if hold_days > 0:
        hold = wallets_repo.hold_op(
            order.creator_id, order.currency, order.id, net.amount, now + timedelta(days=hold_days)
        )
        ops.append(TxOp(f"hold:{order.id}", hold.add))
    counter = Counter(
        day=clock.iso(now)[:10],
        currency=order.currency,
        product_id=order.product_id,
        product_title=order.product_title,
        sales=1,
        gross=order.amount,
        fees=fee.amount,
        net=net.amount,
    )
    return ops, sale_change(order.creator_id, order.id, order.total, fee, held=hold_days > 0), counter


def _rejected(sale: Sale, *, guard: bool) -> SettlementResult | Sale:
    """A sale whose guard or order condition failed: someone settled it first (already settled), or
    closed it unpaid meanwhile (the sale again, from the order's new status), or it cannot be paid."""
    order = sale.order
    refreshed = orders_repo.get_order(order.id) or order
    if guard or refreshed.status == "paid":
        return _already_settled(refreshed)
    if refreshed.is_settleable and refreshed.status != order.status:
        return Sale(refreshed, sale.verified)  # closed unpaid meanwhile (declined, expired): it still settles
    logger.info("order closed before settlement", order_id=order.id, status=refreshed.status)
    return SettlementResult(Outcome.NOT_PENDING, refreshed, f"order is {refreshed.status}")


def _already_settled(order: Order) -> SettlementResult:
    logger.info("payment already settled", order_id=order.id)
    _metric(Outcome.DUPLICATE)
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
