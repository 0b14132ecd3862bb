"""Payout accounts and payouts through gateway transfers.

- ``set_payout_account``: the gateway the creator chose for the currency (the default one if none)
  resolves the account holder's name and creates a transfer recipient; we keep the gateway, the
  recipient code and a masked number. Payouts in that currency go through that gateway.
- ``request_payout``: ONE wallet transaction takes the amount out of ``available`` (one ``payout``
  entry of -amount: the money leaves the wallet at the request, nothing sits on hold for it) and
  writes the payout (``pending``) and, when given, its idempotency key. ``apply_change`` refuses to
  take ``available`` below what refunds in flight reserved, so concurrent requests can never
  overdraw nor take money promised to a refund; a wallet below zero (after a refund) takes no payout
  at all. Then the payout id goes to the payouts queue.
- ``process_payout`` (the queue consumer): initiates the transfer with the payout id as its
  reference (retries are safe: the gateway refuses a second transfer with the same reference,
  and then we read the first one back), and marks the payout ``processing``.
- ``sync_transfer`` (transfer webhooks, through the payments queue): asks the gateway what the
  transfer's state is, never trusting the webhook, and applies it: ``success`` marks the payout
  ``paid`` (``lifetime_paid_out``; no money moves); ``failed``, or ``reversed`` (``transfer.reversed``,
  before or after the success), gives the money back to ``available`` with one ``payout_reversal``
  entry of +amount. Each is one transaction conditioned on the payout's status, so a repeated or
  out-of-order event changes nothing. (Payouts made before this ledger model held their amount in
  ``on_hold`` and still leave it there: ``Payout.held``.)
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from market import clock, ids, messages
from market.domain.errors import Conflict, FieldError, NotFound, TransientError, ValidationFailed
from market.domain.payout import Payout, PayoutAccount, mask_account_number, minimum_payout
from market.domain.wallet import InsufficientFunds
from market.gateways import choice
from market.gateways.base import GatewayApiError, GatewayNotFound, TransferResult
from market.gateways.registry import get_gateway
from market.observability import get_metrics, logger
from market.repositories import payouts as payouts_repo
from market.repositories import wallets as wallets_repo
from market.repositories.idempotency import (
    IdempotencyKeyInUse,
    IdempotentRequest,
    idempotency_op,
    replayed_resource_id,
)
from market.repositories.payouts import PayoutPage
from market.repositories.transactions import OperationRejected
from market.settings import get_settings

IDEMPOTENCY_SCOPE = "payouts"
TRANSFER_REASON = "Marketplace payout"


class NoPayoutAccount(Conflict):
    slug = "no-payout-account"


class PayoutsBlocked(Conflict):
    slug = "payouts-blocked"


def _metric(name: str) -> None:
    get_metrics().add_metric(name=f"Payout_{name}", unit=MetricUnit.Count, value=1)


def _check_currency(currency: str) -> None:
    if currency not in get_settings().supported_currencies:
        raise ValidationFailed([FieldError("currency", "This currency is not supported.")])


# ---------------------------------------------------------------- payout accounts


def set_payout_account(
    creator_id: str, *, bank_code: str, account_number: str, currency: str, gateway_name: str | None = None
) -> PayoutAccount:
    """Resolve the account with the chosen gateway, create its transfer recipient, keep it for ``currency``."""
    _check_currency(currency)
    gateway = get_gateway(choice.for_currency(gateway_name, currency).name)
    try:
        resolved = gateway.resolve_account(account_number=account_number, bank_code=bank_code)
        recipient = gateway.create_transfer_recipient(
            name=resolved.account_name, account_number=account_number, bank_code=bank_code, currency=currency
        )
    except GatewayApiError as error:
        logger.info("payout account not resolved", creator_id=creator_id, bank_code=bank_code)
        raise ValidationFailed(
            [FieldError("account_number", "This account could not be resolved with this bank.")],
            "The bank account could not be verified.",
        ) from error
    account = PayoutAccount(
        creator_id=creator_id,
        currency=currency,
        gateway=gateway.name,
        bank_code=bank_code,
        bank_name=recipient.bank_name,
        account_masked=mask_account_number(account_number),
        account_name=resolved.account_name,
        recipient_code=recipient.recipient_code,
        updated_at=clock.iso(clock.now()),
    )
    payouts_repo.save_account(account)
    logger.info("payout account set", creator_id=creator_id, currency=currency, bank_code=bank_code)
    return account


def get_payout_account(creator_id: str, currency: str | None) -> PayoutAccount:
    """The account for ``currency``, or the most recently set one when no currency is given."""
    if currency:
        account = payouts_repo.get_account(creator_id, currency)
    else:
        accounts = payouts_repo.list_accounts(creator_id)
        account = max(accounts, key=lambda a: a.updated_at) if accounts else None
    if account is None:
        raise NotFound("No payout account has been set.")
    return account


# ---------------------------------------------------------------- payouts


@dataclass(frozen=True)
class PayoutRequest:
    creator_id: str
    amount: int
    currency: str
    idempotency_key: str | None = None

    def idempotency(self) -> IdempotentRequest | None:
        if not self.idempotency_key:
            return None
        fingerprint = {"amount": self.amount, "currency": self.currency}
        return IdempotentRequest(IDEMPOTENCY_SCOPE, self.creator_id, self.idempotency_key, fingerprint)


def request_payout(request: PayoutRequest) -> Payout:
    """Hold the amount and queue the transfer. Raises 409 (insufficient, blocked, no account) or 422."""
    idempotency = request.idempotency()
    if idempotency is not None:
        replayed = _replayed(idempotency)
        if replayed is not None:
            return replayed
    _check_currency(request.currency)
    minimum = minimum_payout(request.currency)
    if request.amount < minimum.amount:
        raise ValidationFailed(
            [FieldError("amount", f"The smallest payout in {request.currency} is {minimum.amount}.")]
        )
    account = payouts_repo.get_account(request.creator_id, request.currency)
    if account is None:
        raise NoPayoutAccount(f"Set a payout account for {request.currency} first.")
    if wallets_repo.get_balance(request.creator_id, request.currency).available < 0:
        raise PayoutsBlocked("The available balance is below zero after a refund; payouts resume once it is positive.")
    now = clock.iso(clock.now())
    payout = Payout(
        id=ids.new_id("po_"),
        creator_id=request.creator_id,
        amount=request.amount,
        currency=request.currency,
        status="pending",
        gateway=account.gateway,
        recipient_code=account.recipient_code,
        account_masked=account.account_masked,
        bank_code=account.bank_code,
        created_at=now,
        updated_at=now,
        held=False,
    )
    ops = [payouts_repo.create_payout_op(payout)]
    if idempotency is not None:
        ops.append(idempotency_op(idempotency, resource_id=payout.id, created_at=now))
    try:
        wallets_repo.apply_change(payout.request_change(), ops)
    except OperationRejected as rejected:
        if idempotency is not None and "idempotency" in rejected.failed:
            # The same key won a race a moment ago: answer with what it created.
            replayed = _replayed(idempotency)
            if replayed is not None:
                return replayed
            raise IdempotencyKeyInUse from rejected  # claimed, its payout not visible yet: never a 500
        raise
    except TransientError:
        # TransactionConflicts past the wallet's retries: another request with this key may hold it.
        replayed = _replayed(idempotency) if idempotency is not None else None
        if replayed is not None:
            return replayed
        raise
    except InsufficientFunds:
        _metric("insufficient")
        raise
    logger.info("payout requested", payout_id=payout.id, amount=payout.amount, currency=payout.currency)
    _metric("requested")
    enqueue_payout(payout.id)
    return payout


def _replayed(idempotency: IdempotentRequest) -> Payout | None:
    payout_id = replayed_resource_id(idempotency)
    payout = payouts_repo.get_payout(payout_id) if payout_id else None
    if payout is not None and payout.status == "pending":
        # Covers a crash between holding the money and queueing the transfer: the consumer is idempotent.
        enqueue_payout(payout.id)
    return payout


def enqueue_payout(payout_id: str) -> None:
    messages.send(messages.PayoutMessage(payout_id=payout_id))


def list_payouts(creator_id: str, limit: int, cursor: str | None) -> PayoutPage:
    return payouts_repo.list_creator_payouts(creator_id, limit, cursor)


# ---------------------------------------------------------------- the consumer


def process_payout(payout_id: str) -> Payout | None:
    """Initiate the transfer of a pending payout (once). Raises ``TransientError`` to be retried."""
    payout = payouts_repo.get_payout(payout_id)
    if payout is None:
        logger.warning("payout unknown", payout_id=payout_id)
        return None
    if payout.status != "pending":
        logger.info("payout already initiated", payout_id=payout_id, status=payout.status)
        return payout
    gateway = get_gateway(payout.gateway)
    try:
        result = gateway.initiate_transfer(
            reference=payout.id,
            amount=payout.amount,
            currency=payout.currency,
            recipient_code=payout.recipient_code,
            reason=TRANSFER_REASON,
        )
    except GatewayApiError as refused:
        # Refused, or refused because this reference already has a transfer (a retry after an
        # unclear answer): the gateway's own record decides.
        try:
            result = gateway.verify_transfer(payout.id)
        except GatewayNotFound:
            logger.warning("transfer refused", payout_id=payout.id, reason=refused.gateway_message)
            _reverse(payout, "failed", refused.gateway_message)
            return payouts_repo.get_payout(payout.id)
    logger.info("transfer initiated", payout_id=payout.id, gateway_status=result.gateway_status)
    if result.requires_otp:
        logger.warning("transfer waits for an OTP; turn OTP off for automated payouts", payout_id=payout.id)
    payouts_repo.mark_processing(payout.id, result.transfer_code)
    _apply_transfer(payouts_repo.get_payout(payout.id) or payout, result)
    return payouts_repo.get_payout(payout.id)


# ---------------------------------------------------------------- transfer events


def sync_transfer(gateway_name: str, reference: str) -> Payout | None:
    """Apply what the gateway says about the transfer ``reference`` (= our payout id)."""
    payout = payouts_repo.get_payout(reference)
    if payout is None or payout.gateway != gateway_name:
        logger.warning("transfer event for no payout", gateway=gateway_name, reference=reference)
        return None
    try:
        result = get_gateway(gateway_name).verify_transfer(reference)
    except GatewayNotFound:
        logger.warning("transfer unknown at gateway", payout_id=payout.id)
        return payout
    _apply_transfer(payout, result)
    return payouts_repo.get_payout(payout.id)


def _apply_transfer(payout: Payout, result: TransferResult) -> None:
    if result.reference != payout.id or result.amount != payout.amount or result.currency != payout.currency:
        logger.error(
            "transfer does not match payout",
            payout_id=payout.id,
            amount=result.amount,
            currency=result.currency,
        )
        _metric("mismatch")
        return
    if result.status == "success":
        _finalize(payout)
    elif result.status == "failed":
        _reverse(payout, "failed", result.failure_reason or result.gateway_status)
    elif result.status == "reversed":
        _reverse(payout, "reversed", result.failure_reason or "reversed by the gateway")


def _finalize(payout: Payout) -> None:
    """``on_hold`` -> paid out, once."""
    op = payouts_repo.status_op(payout.id, from_statuses=("pending", "processing"), to_status="paid")
    try:
        wallets_repo.apply_change(payout.paid_change(), [op])
    except OperationRejected:
        logger.info("payout already settled", payout_id=payout.id)
        return
    except InsufficientFunds:
        # A repeated event after the payout was settled finds its money gone from on_hold first.
        current = payouts_repo.get_payout(payout.id)
        if current is not None and not current.in_flight:
            logger.info("payout already settled", payout_id=payout.id, status=current.status)
            return
        raise
    logger.info("payout paid", payout_id=payout.id, amount=payout.amount, currency=payout.currency)
    _metric("paid")


def _reverse(payout: Payout, to_status: str, reason: str, *, attempts: int = 3) -> None:
    """Give the money back to ``available``, once, from wherever the payout is now."""
    for _ in range(attempts):
        current = payouts_repo.get_payout(payout.id) or payout
        if current.in_flight:
            from_statuses: tuple[str, ...] = ("pending", "processing")
        elif current.status == "paid" and to_status == "reversed":
            from_statuses = ("paid",)
        else:
            logger.info("payout already closed", payout_id=current.id, status=current.status)
            return
        op = payouts_repo.status_op(
            current.id, from_statuses=from_statuses, to_status=to_status, failure_reason=reason[:500]
        )
        try:
            wallets_repo.apply_change(current.returned_change(), [op])
        except OperationRejected:
            continue  # the status moved under us: read again
        logger.info("payout returned", payout_id=current.id, status=to_status, amount=current.amount)
        _metric(to_status)
        return
    logger.warning("payout reversal gave up after status changes", payout_id=payout.id)
