"""Refunds: the creator (or an admin) refunds a paid order in full or in part, exactly once.

``request_refund`` checks who may refund (``market.domain.refund``: the creator within the refund
window and only while the wallet covers the net debit; an admin always), then ONE wallet
transaction reserves the refund's net debit in the creator's wallet (``reserved``: payouts cannot
take it meanwhile), writes the refund (``requested``) with its open marker and its
``Idempotency-Key``, and commits its amount to the order's refund totals (never more than what
remains). Then the gateway is asked to refund and its refund id is stored: the answer is ``pending``.

When the gateway's answer is lost (a timeout after the gateway did the work, or the function
stopped mid-call), the refund is found again by asking the gateway for the refunds of the
transaction (``list_refunds``) and matching amount and currency to ours; a claim item makes sure one
gateway refund is matched to one refund of ours only. That happens at once in the request, on a
replay with the same key, on every refund event of the transaction (matched by the transaction,
whatever the refund's age), and in the scheduled refund reconciler (``reconcile_refunds``), which
sweeps the open refunds. A refund the gateway still does not list ``refund_unclear_after_minutes``
after it was requested was never made: it fails and frees its amount. While one refund of an order
waits for that answer, another refund of the order is refused (409), so a retry without a key
cannot refund twice.

When the gateway reports the refund processed, ``settle_refund`` writes ONE transaction:

- the refund open -> ``processed`` (conditioned: a repeated event debits nothing), its marker gone;
- the order -> ``refunded`` or ``partially_refunded`` with ``refunded_amount`` increased
  (conditioned on the amount read, so two refunds never start from the same amount);
- the creator's wallet: ``refund`` -amount and ``refund_fee_reversal`` +the platform fee's share
  of it on ``available`` (the creator gives back the net share), and the reservation released.
  The fee share is cumulative (``pro_rata(refunded so far) - pro_rata(refunded before)``), so a
  sequence of partial refunds returns exactly the whole fee. This is the only change allowed to
  take ``available`` below zero; payouts stop until it is positive again. (A refund of a sale still
  in its hold period is debited from ``available`` too: the hold later releases the sale's net.)
  Lifetime totals: ``lifetime_refunds`` +amount, ``lifetime_fees`` -fee share, ``lifetime_net``
  -(amount - fee share), so that net = gross - fees - refunds;
- the day counters of the refund's day (the dashboard): ``refunds`` +amount, ``fees`` -fee share,
  ``net`` -(amount - fee share); ``sales`` and ``gross`` keep what was sold.

A failed refund gives its amount and reservation back. ``refund.needs-attention`` puts the refund in
``needs_attention`` (still open and reserved; admins see it in ``GET /orders/{id}/refunds``) until
the gateway processes or fails it. A full refund revokes the order's download grants (a partial
refund keeps access). Webhook bodies are never trusted: every event is checked with the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from aws_lambda_powertools.metrics import MetricUnit

from market import clock, ids
from market.domain.errors import Conflict, Forbidden, NotFound, TransientError
from market.domain.order import Order
from market.domain.refund import (
    Refund,
    RefundNotAllowed,
    RefundSplit,
    check_refund_window,
    requires_cover,
    reservation_release,
    split_refund,
)
from market.domain.user import Caller
from market.domain.wallet import InsufficientFunds
from market.gateways.base import GatewayApiError, RefundResult
from market.gateways.registry import get_gateway
from market.observability import get_metrics, logger
from market.repositories import orders as orders_repo
from market.repositories import refunds as refunds_repo
from market.repositories import stats as stats_repo
from market.repositories import wallets as wallets_repo
from market.repositories.idempotency import IdempotentRequest, idempotency_op, replayed_resource_id
from market.repositories.transactions import OperationRejected, TxOp, write
from market.repositories.worklists import Marker
from market.services import worklists
from market.settings import get_settings

IDEMPOTENCY_SCOPE = "refunds"
# Refunds younger than this are left to the request that is still waiting for the gateway's answer.
RECONCILE_AFTER = timedelta(minutes=2)


class NotRefundable(Conflict):
    slug = "not-refundable"


class RefundInProgress(Conflict):
    """409: another refund of the order is waiting for the gateway's answer."""

    slug = "refund-in-progress"


def _metric(name: str) -> None:
    get_metrics().add_metric(name=f"Refund_{name}", unit=MetricUnit.Count, value=1)


# ---------------------------------------------------------------- the request


@dataclass(frozen=True)
class RefundRequest:
    caller: Caller
    order_id: str
    amount: int | None
    idempotency_key: str | None = None

    def idempotency(self) -> IdempotentRequest | None:
        if not self.idempotency_key:
            return None
        fingerprint = {"order_id": self.order_id, "amount": self.amount}
        return IdempotentRequest(IDEMPOTENCY_SCOPE, self.caller.user_id, self.idempotency_key, fingerprint)


def request_refund(caller: Caller, order_id: str, amount: int | None, idempotency_key: str | None = None) -> Refund:
    """Refund ``amount`` (default: all that remains) of a paid order; answers the refund, usually pending.

    With ``idempotency_key``, the same key and body answer the same refund; another body is a 422.
    """
    request = RefundRequest(caller, order_id, amount, idempotency_key)
    idempotency = request.idempotency()
    if idempotency is not None:
        replayed = _replayed(idempotency, order_id)
        if replayed is not None:
            return replayed
    order = orders_repo.get_order(order_id)
    if order is None or not order.visible_to(caller):
        raise NotFound("No order with this id.")
    if not order.refundable_by(caller):
        raise Forbidden("Only the product's creator or an admin can refund an order.")
    if order.is_free:
        raise NotRefundable("A free order took no payment: there is nothing to refund.")
    if not order.is_refundable:
        raise NotRefundable(f"An order that is {order.status} cannot be refunded.")
    check_refund_window(order, caller, clock.now(), get_settings().refund_window_days)
    refund, created = _reserve(caller, order, amount, idempotency)
    if not created:
        return refund  # what the same key made a moment ago
    return ask_gateway(order, refund)


def _replayed(idempotency: IdempotentRequest, order_id: str) -> Refund | None:
    refund_id = replayed_resource_id(idempotency)
    refund = refunds_repo.get_refund(order_id, refund_id) if refund_id else None
    if refund is not None and refund.awaits_gateway_answer:
        order = orders_repo.get_order(order_id)
        if order is not None:
            try:
                reconcile_refund(order, refund)
            except TransientError:
                logger.warning("refund still unclear on replay", order_id=order_id, refund_id=refund.id)
            refund = refunds_repo.get_refund(order_id, refund.id) or refund
    return refund


def _reserve(
    caller: Caller, order: Order, amount: int | None, idempotency: IdempotentRequest | None
) -> tuple[Refund, bool]:
    """The new refund, reserved (True); or the refund the same key made a moment ago (False)."""
    for _ in range(5):
        totals = refunds_repo.get_totals(order.id)
        remaining = totals.remaining(order).amount
        wanted = remaining if amount is None else amount
        if remaining <= 0:
            raise NotRefundable("Nothing of this order is left to refund.")
        if wanted > remaining:
            raise NotRefundable(f"Only {remaining} of this order is left to refund.")
        if any(r.awaits_gateway_answer and not r.is_capture for r in refunds_repo.list_order_refunds(order.id)):
            raise RefundInProgress(
                "A refund of this order is waiting for the gateway's answer; try again in a few minutes "
                "(or repeat the request with the same Idempotency-Key)."
            )
        split = split_refund(order, wanted)
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
            reserved_debit=max(0, split.debit.amount),
            kind="sale",
            reference=order.reference,
        )
        ops = refunds_repo.reserve_ops(refund, totals)
        if idempotency is not None:
            ops.append(idempotency_op(idempotency, resource_id=refund.id, created_at=now))
        try:
            wallets_repo.apply_change(split.reservation(order, require_cover=requires_cover(caller)), ops)
        except OperationRejected as rejected:
            if idempotency is not None and "idempotency" in rejected.failed:
                replayed = _replayed(idempotency, order.id)
                if replayed is not None:
                    return replayed, False
            if "totals" in rejected.failed:
                continue  # another refund of this order committed first: read the totals again
            raise
        except InsufficientFunds as short:
            _metric("not_covered")
            raise RefundNotAllowed(
                "The wallet's available and pending balance does not cover this refund's net debit; "
                "ask an admin to refund this order."
            ) from short
        return refund, True
    raise Conflict("Another refund of this order is being requested; try again.")


def ask_gateway(order: Order, refund: Refund) -> Refund:
    """Ask the gateway to make ``refund`` (written ``requested`` first) and store its answer.

    Raises ``GatewayApiError`` when the gateway refuses (the refund fails, its amount is free again)
    and ``TransientError`` when the answer is lost and the gateway does not list the refund yet.
    """
    gateway = get_gateway(refund.gateway)
    reference = refund.reference or order.reference
    try:
        result = gateway.refund(reference=reference, amount=refund.amount, currency=refund.currency)
    except GatewayApiError as error:
        close_failed(refund, f"refused by the gateway: {error.gateway_message}")
        logger.warning("refund refused by gateway", order_id=order.id, refund_id=refund.id)
        _metric("refused")
        raise
    except TransientError:
        logger.warning("refund answer lost; asking the gateway", order_id=order.id, refund_id=refund.id)
        try:
            reconcile_refund(order, refund)
        except TransientError:
            logger.warning("gateway refunds not listed", order_id=order.id, refund_id=refund.id)
        stored = refunds_repo.get_refund(order.id, refund.id)
        if stored is not None and not stored.awaits_gateway_answer:
            return stored
        refunds_repo.note_unclear(refund, "the gateway's answer was lost; the refund is being checked")
        logger.error("refund outcome unknown", order_id=order.id, refund_id=refund.id)
        _metric("unclear")
        raise TransientError(
            "The gateway did not confirm the refund; it is being checked. "
            "Repeat the request with the same Idempotency-Key to see it."
        ) from None
    _store_answer(order, refund, result)
    logger.info("refund requested", order_id=order.id, refund_id=refund.id, amount=refund.amount)
    _metric("requested")
    _after_settlement(order.id)
    return refunds_repo.get_refund(order.id, refund.id) or refund


def _store_answer(order: Order, refund: Refund, result: RefundResult) -> None:
    if refunds_repo.attach_gateway_refund(refund, result.id):
        stored = refunds_repo.get_refund(order.id, refund.id) or refund
        if result.status != "pending":
            _apply(order, stored, result)
        return
    current = refunds_repo.get_refund(order.id, refund.id)
    if current is None or not current.is_open:
        return
    if current.gateway_refund_id == result.id:
        _apply(order, current, result)  # a refund event matched it first
    elif current.awaits_gateway_answer:
        # Another of our refunds (same amount) claimed this gateway refund: ours is the other one.
        reconcile_refund(order, current)


# ---------------------------------------------------------------- asking the gateway again


def reconcile_refund(order: Order, refund: Refund, listing: list[RefundResult] | None = None) -> bool:
    """Bring one open refund in line with the gateway; True when it settled or closed now.

    Without the gateway's refund id, the refunds of the transaction (``listing``, fetched when not
    given) are matched by amount and currency to ours, oldest first, each claimed once.
    """
    if not refund.is_open:
        return False
    gateway = get_gateway(refund.gateway)
    if refund.gateway_refund_id:
        return _apply(order, refund, gateway.get_refund(refund.gateway_refund_id))
    reference = refund.reference or order.reference
    found = gateway.list_refunds(reference) if listing is None else listing
    claimed = refunds_repo.claimed_gateway_refunds(order.id)
    for candidate in found:
        if candidate.id in claimed or not _same_money(refund, reference, candidate):
            continue
        if refunds_repo.attach_gateway_refund(refund, candidate.id):
            logger.info("refund answer recovered", order_id=order.id, refund_id=refund.id, gateway_refund=candidate.id)
            _metric("recovered")
            stored = refunds_repo.get_refund(order.id, refund.id) or refund
            _apply(order, stored, candidate)
            return True
        current = refunds_repo.get_refund(order.id, refund.id)
        if current is None or not current.awaits_gateway_answer:
            return False  # stored by another path meanwhile
    unclear_after = timedelta(minutes=get_settings().refund_unclear_after_minutes)
    if refund.created_at < clock.iso(clock.now() - unclear_after):
        logger.warning("refund never made at the gateway", order_id=order.id, refund_id=refund.id)
        return close_failed(refund, "the gateway has no record of this refund")
    return False


def _same_money(refund: Refund, reference: str, candidate: RefundResult) -> bool:
    return (
        candidate.transaction_reference == reference
        and candidate.amount == refund.amount
        and candidate.currency == refund.currency
    )


def _apply(order: Order, refund: Refund, result: RefundResult) -> bool:
    """Apply the gateway's word on one refund; True when it settled or closed it now."""
    if not _same_money(refund, refund.reference or order.reference, result):
        logger.error("gateway refund does not match", order_id=order.id, refund_id=refund.id)
        _metric("mismatch")
        return False
    if result.status == "processed":
        return settle_refund(order.id, refund)
    if result.status == "failed":
        closed = close_failed(refund, f"failed at the gateway ({result.gateway_status})")
        if closed:
            logger.info("refund failed", order_id=order.id, refund_id=refund.id)
            _metric("failed")
        return closed
    if result.status == "needs_attention" and refunds_repo.mark_needs_attention(
        refund, f"the gateway needs attention ({result.gateway_status})"
    ):
        logger.warning("refund needs attention", order_id=order.id, refund_id=refund.id)
        _metric("needs_attention")
    return False


def close_failed(refund: Refund, reason: str) -> bool:
    """An open refund -> ``failed``: its committed amount and its reservation are free again, once."""
    ops = refunds_repo.close_failed_ops(refund, reason)
    try:
        if refund.reserved_debit:
            wallets_repo.apply_change(reservation_release(refund), ops)
        else:
            write(ops)
    except OperationRejected:
        return False
    if refund.is_capture:
        get_metrics().add_metric(name="CapturedUnsettled", unit=MetricUnit.Count, value=1)
        logger.error(
            "captured payment could not be returned",
            order_id=refund.order_id,
            refund_id=refund.id,
            reference=refund.reference,
            amount=refund.amount,
            currency=refund.currency,
            reason=reason,
        )
    return True


# ---------------------------------------------------------------- settlement


def settle_refund(order_id: str, refund: Refund, *, attempts: int = 6) -> bool:
    """The one transaction of a processed refund; False when it was already settled."""
    if refund.is_capture:
        return _settle_capture(refund)
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
            balance = wallets_repo.apply_change(split.wallet_change(order, release=refund.reserved_debit), ops)
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


def _settle_capture(refund: Refund) -> bool:
    """A captured payment that never settled went back to the buyer: nothing else moves."""
    try:
        write([refunds_repo.processed_op(refund)])
    except OperationRejected:
        return False
    logger.info("captured payment returned", order_id=refund.order_id, refund_id=refund.id, amount=refund.amount)
    _metric("capture_returned")
    return True


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


# ---------------------------------------------------------------- gateway events


def on_refund_event(gateway_name: str, reference: str, refund_id: str | None = None, event: str = "") -> int:
    """Check every open refund of the order behind ``reference`` with the gateway; apply what changed.

    Matched by the transaction, never by age: a refund whose answer was lost is found in the gateway's
    listing. Returns how many refunds were settled or closed. An event that matches none of our refunds
    (no order has the reference, or the gateway lists a refund we never made) is recorded as early.
    """
    order = orders_repo.order_for_reference(gateway_name, reference)
    if order is None:
        logger.warning("refund event for no order", gateway=gateway_name, reference=reference)
        _early(gateway_name, reference, event, refund_id)
        return 0
    open_refunds = [r for r in refunds_repo.list_order_refunds(order.id) if r.is_open]
    gateway = get_gateway(gateway_name)
    listings: dict[str, list[RefundResult]] = {}
    changed = 0
    for refund in open_refunds:
        if refund.gateway_refund_id:
            if refund_id is None or refund.gateway_refund_id == refund_id:
                changed += reconcile_refund(order, refund)
            continue
        refund_reference = refund.reference or order.reference
        if refund_reference not in listings:
            listings[refund_reference] = gateway.list_refunds(refund_reference)
        changed += reconcile_refund(order, refund, listings[refund_reference])
    _after_settlement(order.id)
    if not changed:
        unmatched = _unmatched(order, reference, listings.get(reference))
        for gateway_refund in unmatched:
            _early(gateway_name, reference, event, gateway_refund)
        if not unmatched:
            logger.info("refund event with nothing to change", order_id=order.id)
    return changed


def _unmatched(order: Order, reference: str, listing: list[RefundResult] | None) -> list[str]:
    """The gateway's refunds of ``reference`` that none of ours has claimed."""
    found = get_gateway(order.gateway).list_refunds(reference) if listing is None else listing
    claimed = refunds_repo.claimed_gateway_refunds(order.id)
    return [candidate.id for candidate in found if candidate.id not in claimed]


def _early(gateway_name: str, reference: str, event: str, subject: str | None) -> None:
    orders_repo.record_early_event(gateway_name, reference, event or "refund", subject)
    get_metrics().add_metric(name="GatewayEvent_early", unit=MetricUnit.Count, value=1)
    logger.warning("gateway event before its record", reference=reference, gateway_event=event, subject=subject)


# ---------------------------------------------------------------- the refund reconciler


@dataclass(frozen=True)
class RefundReconcileReport:
    checked: int
    settled: int
    failed: int
    first_checks: int
    sweeps_finished: int


def reconcile_refunds(remaining_seconds: float | None = None) -> RefundReconcileReport:
    """Sweep the open refunds (lost answers, lost webhooks) within the time budget, from the cursor."""
    from market.services.payments import reconciler_budget  # the one budget rule of the reconcilers

    settings = get_settings()
    now = clock.now()

    def check(marker: Marker) -> str:
        order_id, _, refund_id = marker.subject.partition("#")
        refund = refunds_repo.get_refund(order_id, refund_id)
        order = orders_repo.get_order(order_id)
        if refund is None or order is None or not refund.is_open:
            return "closed"
        changed = reconcile_refund(order, refund)
        _after_settlement(order.id)
        return "settled" if changed else "open"

    report = worklists.sweep(
        "open-refunds",
        check,
        cutoff=clock.iso(now - RECONCILE_AFTER),
        budget=reconciler_budget(settings, remaining_seconds),
        now=now,
    )
    result = RefundReconcileReport(
        checked=report.checked,
        settled=report.outcomes.get("settled", 0),
        failed=report.outcomes.get("failed", 0),
        first_checks=report.first_checks,
        sweeps_finished=report.sweeps_finished,
    )
    logger.info(
        "reconciled open refunds",
        checked=result.checked,
        settled=result.settled,
        failed=result.failed,
        first_checks=result.first_checks,
    )
    return result


# ---------------------------------------------------------------- reads


def order_refunds(caller: Caller, order_id: str) -> list[Refund]:
    """The refunds of an order (with ``needs_attention`` ones), for its product's creator and admins."""
    order = orders_repo.get_order(order_id)
    if order is None or not order.visible_to(caller):
        raise NotFound("No order with this id.")
    if not order.refundable_by(caller):
        raise Forbidden("Only the product's creator or an admin can see an order's refunds.")
    return refunds_repo.list_order_refunds(order.id)


def _after_settlement(order_id: str) -> None:
    """A fully refunded order loses its download links (again on a repeat: revoking is idempotent)."""
    order = orders_repo.get_order(order_id)
    if order is not None and order.status == "refunded":
        revoke_grants(order.id)


def revoke_grants(order_id: str) -> None:
    from market.services.downloads import revoke_order_grants  # lazy: only refunds that end access need it

    revoke_order_grants(order_id)
