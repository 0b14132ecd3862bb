"""Refunds: the creator (or an admin) refunds a paid order in full or in part, exactly once.

``request_refund`` reserves the amount (never more than what remains of the order), asks the
gateway to refund it and stores the gateway's refund id: the answer is ``pending``. When the
gateway reports the refund processed (``refund.processed`` through the payments queue, or its
own answer), ``settle_refund`` writes ONE transaction:

- the refund ``pending`` -> ``processed`` (conditioned: a repeated event debits nothing);
- the order -> ``refunded`` or ``partially_refunded`` with ``refunded_amount`` increased
  (conditioned on the amount read, so two refunds never start from the same amount);
- the creator's wallet: ``refund`` -amount and ``refund_fee_reversal`` +the platform fee's share
  of it on ``available`` (the creator gives back the net share). The fee share is cumulative
  (``pro_rata(refunded so far) - pro_rata(refunded before)``), so a sequence of partial refunds
  returns exactly the whole fee. This is the only change allowed to take ``available`` below
  zero; payouts stop until it is positive again. (A refund of a sale still in its hold period
  is debited from ``available`` too: the hold later releases the sale's net into it.)
  Lifetime totals: ``lifetime_refunds`` +amount, ``lifetime_fees`` -fee share, ``lifetime_net``
  -(amount - fee share), so that net = gross - fees - refunds;
- the day counters of the refund's day (the dashboard): ``refunds`` +amount, ``fees`` -fee share,
  ``net`` -(amount - fee share); ``sales`` and ``gross`` keep what was sold.

A full refund then revokes the order's download grants (a partial refund keeps access).
Webhook bodies are never trusted: every event is checked with ``get_refund``.
"""

from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools.metrics import MetricUnit

from market import clock, ids
from market.domain.errors import Conflict, Forbidden, NotFound, TransientError
from market.domain.order import Order
from market.domain.refund import Refund, RefundSplit, split_refund
from market.domain.user import Caller
from market.gateways.base import GatewayApiError, RefundResult
from market.gateways.registry import get_gateway
from market.observability import get_metrics, logger
from market.repositories import orders as orders_repo
from market.repositories import refunds as refunds_repo
from market.repositories import stats as stats_repo
from market.repositories import wallets as wallets_repo
from market.repositories.transactions import OperationRejected, TxOp

# A refund still ``requested`` this recently is waiting for the gateway's answer: an event that
# arrives first is retried (SQS) until the gateway's refund id is stored.
WAIT_FOR_GATEWAY_ANSWER = timedelta(minutes=5)


class NotRefundable(Conflict):
    slug = "not-refundable"


def _metric(name: str) -> None:
    get_metrics().add_metric(name=f"Refund_{name}", unit=MetricUnit.Count, value=1)


# ---------------------------------------------------------------- the request


def request_refund(caller: Caller, order_id: str, amount: int | None) -> Refund:
    """Refund ``amount`` (default: all that remains) of a paid order; answers the refund, usually pending."""
    order = orders_repo.get_order(order_id)
    if order is None or not order.visible_to(caller):
        raise NotFound("No order with this id.")
    if not order.refundable_by(caller):
        raise Forbidden("Only the product's creator or an admin can refund an order.")
    if not order.is_refundable:
        raise NotRefundable(f"An order that is {order.status} cannot be refunded.")
    refund = _reserve(caller, order, amount)
    gateway = get_gateway(order.gateway)
    try:
        result = gateway.refund(reference=order.reference, amount=refund.amount, currency=order.currency)
    except GatewayApiError as error:
        refunds_repo.close_failed(refund, f"refused by the gateway: {error.gateway_message}"[:500])
        logger.warning("refund refused by gateway", order_id=order.id, refund_id=refund.id)
        _metric("refused")
        raise
    except TransientError:
        # The gateway may or may not have taken it: the amount stays reserved for an operator.
        refunds_repo.note_unclear(refund, "the gateway did not answer; check the refund at the gateway")
        logger.error("refund outcome unknown", order_id=order.id, refund_id=refund.id)
        raise
    refunds_repo.attach_gateway_refund(refund, result.id)
    logger.info("refund requested", order_id=order.id, refund_id=refund.id, amount=refund.amount)
    _metric("requested")
    stored = refunds_repo.get_refund(order.id, refund.id) or refund
    if result.status != "pending":
        _apply(order, stored, result)
        _after_settlement(order.id)
        stored = refunds_repo.get_refund(order.id, refund.id) or stored
    return stored


def _reserve(caller: Caller, order: Order, amount: int | None, attempts: int = 5) -> Refund:
    for _ in range(attempts):
        totals = refunds_repo.get_totals(order.id)
        remaining = totals.remaining(order).amount
        wanted = remaining if amount is None else amount
        if remaining <= 0:
            raise NotRefundable("Nothing of this order is left to refund.")
        if wanted > remaining:
            raise NotRefundable(f"Only {remaining} of this order is left to refund.")
        now = clock.iso(clock.now())
        refund = Refund(
            id=ids.new_id("rf_"),
            order_id=order.id,
            creator_id=order.creator_id,
            gateway=order.gateway,
            gateway_refund_id=None,
            amount=wanted,
            currency=order.currency,
            status="requested",
            requested_by=caller.user_id,
            failure_reason=None,
            created_at=now,
            updated_at=now,
            processed_at=None,
        )
        if refunds_repo.reserve(refund, totals):
            return refund
    raise Conflict("Another refund of this order is being requested; try again.")


# ---------------------------------------------------------------- gateway events


def on_refund_event(gateway_name: str, reference: str, refund_id: str | None = None) -> int:
    """Check every open refund of the order behind ``reference`` with the gateway; apply what changed.

    Returns how many refunds were settled or closed. Raises ``TransientError`` (the queue retries)
    while a refund just requested has not yet stored the gateway's refund id.
    """
    order = orders_repo.order_for_reference(gateway_name, reference)
    if order is None:
        logger.warning("refund event for no order", gateway=gateway_name, reference=reference)
        return 0
    open_refunds = [r for r in refunds_repo.list_order_refunds(order.id) if r.is_open]
    known = [
        (r, r.gateway_refund_id)
        for r in open_refunds
        if r.gateway_refund_id and (refund_id is None or r.gateway_refund_id == refund_id)
    ]
    changed = 0
    gateway = get_gateway(gateway_name)
    for refund, gateway_refund_id in known:
        result = gateway.get_refund(gateway_refund_id)
        if _apply(order, refund, result):
            changed += 1
    _after_settlement(order.id)
    recent = clock.iso(clock.now() - WAIT_FOR_GATEWAY_ANSWER)
    waiting = [
        r for r in open_refunds if r.gateway_refund_id is None and r.failure_reason is None and r.created_at >= recent
    ]
    if waiting and not changed:
        raise TransientError("A refund of this order is waiting for the gateway's answer.")
    if not known and not waiting:
        logger.info("refund event with no open refund", order_id=order.id)
    return changed


def _apply(order: Order, refund: Refund, result: RefundResult) -> bool:
    """Apply the gateway's word on one refund; True when it settled or closed it now."""
    if (
        result.transaction_reference != order.reference
        or result.amount != refund.amount
        or result.currency != refund.currency
    ):
        logger.error("gateway refund does not match", order_id=order.id, refund_id=refund.id)
        _metric("mismatch")
        return False
    if result.status == "processed":
        return settle_refund(order.id, refund)
    if result.status == "failed":
        closed = refunds_repo.close_failed(refund, f"failed at the gateway ({result.gateway_status})")
        if closed:
            logger.info("refund failed", order_id=order.id, refund_id=refund.id)
            _metric("failed")
        return closed
    return False


def settle_refund(order_id: str, refund: Refund, *, attempts: int = 6) -> bool:
    """The one transaction of a processed refund; False when it was already settled."""
    for _ in range(attempts):
        order = orders_repo.get_order(order_id)
        if order is None:
            raise NotFound("No order with this id.")
        if order.refunded_amount + refund.amount > order.amount:
            logger.error("refund exceeds the order", order_id=order.id, refund_id=refund.id)
            return False
        split = split_refund(order, refund.amount)
        ops = [
            refunds_repo.processed_op(refund),
            refunds_repo.order_refunded_op(order, refund.amount),
            _counters_op(order, split),
        ]
        try:
            balance = wallets_repo.apply_change(split.wallet_change(order), ops)
        except OperationRejected as rejected:
            if "refund" in rejected.failed:
                logger.info("refund already settled", order_id=order_id, refund_id=refund.id)
                return False
            if "order" in rejected.failed:
                continue  # another refund of this order settled first: read it again
            raise
        logger.info(
            "refund settled",
            order_id=order.id,
            refund_id=refund.id,
            amount=refund.amount,
            fee_back=split.fee_back.amount,
            available_after=balance.available,
        )
        _metric("processed")
        if balance.available < 0:
            logger.warning("wallet below zero after refund", creator_id=order.creator_id, currency=order.currency)
        return True
    raise TransientError("The order is busy; try again.")


def _counters_op(order: Order, split: RefundSplit) -> TxOp:
    day = clock.iso(clock.now())[:10]
    return TxOp(
        "counters",
        lambda tx: stats_repo.add_to_counters(
            tx,
            creator_id=order.creator_id,
            product_id=order.product_id,
            product_title=order.product_title,
            currency=order.currency,
            day=day,
            refunds=split.amount.amount,
            fees=-split.fee_back.amount,
            net=-split.debit.amount,
        ),
    )


def _after_settlement(order_id: str) -> None:
    """A fully refunded order loses its download links (again on a repeat: revoking is idempotent)."""
    order = orders_repo.get_order(order_id)
    if order is not None and order.status == "refunded":
        revoke_grants(order.id)


def revoke_grants(order_id: str) -> None:
    from market.services.downloads import revoke_order_grants  # lazy: only refunds that end access need it

    revoke_order_grants(order_id)
