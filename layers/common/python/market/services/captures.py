"""Captured money that settles no order goes back to the buyer, exactly once.

The gateway captured a payment that cannot settle its order: another amount or currency than the
order's (an under- or over-payment, a currency swap), or a payment on a checkout attempt the order
no longer uses. Captured money never rests on an order that is not paid or refunded, so it is
refunded in full through the gateway at once:

- a ``capture`` refund (``market.domain.refund``) with an id made from the gateway's transaction id,
  so a repeated event, the reconciler and the buyer's ``/verify`` never return it twice; it moves no
  wallet, order or refund-total money: the order was never credited;
- the ``CapturedUnsettled`` metric (an alarm in ``template.yaml`` watches it) and an error log line
  ``captured payment not settled`` with the order, reference, amount and reason: what an operator
  alerts on. A return the gateway refuses logs ``captured payment could not be returned``;
- the refund follows the path of any refund: a lost answer is found in the gateway's listing, the
  refund reconciler sweeps it until the gateway processes it (so no caller has to retry for it).
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from market import clock
from market.domain.errors import TransientError
from market.domain.order import Order
from market.domain.refund import Refund
from market.gateways.base import GatewayApiError, VerifiedPayment
from market.observability import get_metrics, logger
from market.repositories import refunds as refunds_repo
from market.services import refunds

SYSTEM = "system"


def capture_refund_id(verified: VerifiedPayment) -> str:
    """One return per captured transaction."""
    return f"rfc_{verified.gateway}_{verified.gateway_id}"


def return_capture(order: Order, verified: VerifiedPayment, reason: str) -> Refund | None:
    """Refund the whole captured payment ``verified`` of ``order``; the refund (``None`` if it was refused)."""
    refund_id = capture_refund_id(verified)
    existing = refunds_repo.get_refund(order.id, refund_id)
    if existing is not None:
        if existing.awaits_gateway_answer:
            try:
                refunds.reconcile_refund(order, existing)
            except TransientError:
                logger.warning("captured payment return unclear", order_id=order.id, refund_id=refund_id)
        return refunds_repo.get_refund(order.id, refund_id) or existing
    now = clock.iso(clock.now())
    refund = Refund(
        id=refund_id,
        order_id=order.id,
        creator_id=order.creator_id,
        gateway=verified.gateway,
        amount=verified.amount,
        currency=verified.currency,
        status="requested",
        requested_by=SYSTEM,
        created_at=now,
        updated_at=now,
        kind="capture",
        reference=verified.reference,
    )
    get_metrics().add_metric(name="CapturedUnsettled", unit=MetricUnit.Count, value=1)
    logger.error(
        "captured payment not settled",
        order_id=order.id,
        reference=verified.reference,
        amount=verified.amount,
        currency=verified.currency,
        order_amount=order.amount,
        order_currency=order.currency,
        reason=reason,
    )
    if not refunds_repo.create(refund):
        return refunds_repo.get_refund(order.id, refund_id)  # another path is returning it now
    try:
        return refunds.ask_gateway(order, refund)
    except GatewayApiError:
        return None  # closed as failed, logged and counted for an operator (refunds.close_failed)
    except TransientError:
        # Its open marker is in the refund reconciler's worklist: it is asked again until it resolves.
        logger.warning("captured payment return unclear", order_id=order.id, refund_id=refund_id)
        return refunds_repo.get_refund(order.id, refund_id)
