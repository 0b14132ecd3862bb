"""The payment gateway port: what payment, payout and refund logic may ask of a gateway.

Every gateway implements ``PaymentGateway`` and
answers with the gateway-neutral models below: money in integer minor units, times
as aware UTC datetimes, statuses folded into a small neutral set with the gateway's
own word kept beside them (``gateway_status``). Nothing here knows a gateway's URLs,
envelopes or field names.

Errors:
- ``GatewayApiError`` (a ``market.domain.errors.GatewayError``): the gateway answered and
  refused (4xx) or answered something unusable. Retrying the same call will not help.
  ``GatewayNotFound`` is the case "no such transaction/transfer/refund".
- ``GatewayUnavailable`` (a ``market.domain.errors.TransientError``): connection error,
  timeout, throttling or a 5xx, after the client's own retries. Worth retrying later
  (queue consumers let SQS retry these).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from market.domain.errors import GatewayError, TransientError

PaymentStatus = Literal["success", "failed", "abandoned", "pending", "reversed"]
"""``success`` is the only status that means paid. ``pending`` covers every in-between state."""

RefundStatus = Literal["pending", "needs_attention", "processed", "failed"]
"""``needs_attention``: the gateway cannot finish the refund without help (e.g. the customer's bank details)."""
TransferStatus = Literal["pending", "success", "failed", "reversed"]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InitializedPayment(_Result):
    gateway: str
    reference: str
    authorization_url: str
    access_code: str | None = None


class VerifiedPayment(_Result):
    """What the gateway says about one payment, asked through its API (never from a webhook body)."""

    gateway: str
    gateway_id: str
    reference: str
    status: PaymentStatus
    gateway_status: str
    amount: int
    """What was actually charged, in minor units; may differ from ``requested_amount``."""
    requested_amount: int | None = None
    currency: str
    paid_at: datetime | None = None
    fees: int | None = None
    """The gateway's own fee, in minor units of ``currency``, when it reports one."""
    mode: str | None = None
    """``test`` or ``live`` where the gateway tells; ``None`` otherwise."""
    gateway_response: str | None = None
    customer_email: str | None = None

    @property
    def is_successful(self) -> bool:
        return self.status == "success"


class RefundResult(_Result):
    gateway: str
    id: str
    transaction_reference: str
    amount: int
    currency: str
    status: RefundStatus
    gateway_status: str
    created_at: datetime | None = None


class Bank(_Result):
    name: str
    code: str
    currency: str | None = None
    country: str | None = None
    active: bool = True


class ResolvedAccount(_Result):
    account_number: str
    account_name: str
    bank_code: str


class TransferRecipient(_Result):
    gateway: str
    recipient_code: str
    name: str
    account_number: str | None = None
    account_name: str | None = None
    bank_code: str | None = None
    bank_name: str | None = None
    currency: str


class TransferResult(_Result):
    gateway: str
    reference: str
    transfer_code: str | None = None
    status: TransferStatus
    gateway_status: str
    amount: int
    currency: str
    reason: str | None = None
    failure_reason: str | None = None
    requires_otp: bool = False
    """The gateway holds the transfer until an OTP is entered (turn OTP off for automated payouts)."""
    transferred_at: datetime | None = None


class GatewayApiError(GatewayError):
    """The gateway answered and refused the request, or answered something unusable."""

    def __init__(
        self,
        message: str,
        *,
        gateway: str,
        http_status: int | None,
        code: str | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(f"{gateway} refused the request: {message}")
        self.gateway = gateway
        self.gateway_message = message
        self.http_status = http_status
        self.code = code
        self.error_type = error_type


class GatewayNotFound(GatewayApiError):
    """The gateway has no such transaction, transfer or refund."""


class GatewayUnavailable(TransientError):
    """Connection error, timeout, throttling or a 5xx, after the client's own retries."""

    def __init__(self, message: str, *, gateway: str, http_status: int | None = None) -> None:
        super().__init__(f"{gateway} is unavailable: {message}")
        self.gateway = gateway
        self.http_status = http_status


@runtime_checkable
class PaymentGateway(Protocol):
    """One payment gateway. Amounts are integer minor units; currencies ISO 4217 codes."""

    name: str
    mode: str | None
    """``test`` or ``live``: the mode of the configured key, which a verified payment must match."""

    def initialize(
        self,
        *,
        reference: str,
        amount: int,
        currency: str,
        email: str,
        callback_url: str | None = None,
        metadata: dict[str, object] | None = None,
    ) -> InitializedPayment:
        """Start a payment; the buyer pays at ``authorization_url``. Not retried on a read timeout."""
        ...

    def verify(self, reference: str, *, transaction_id: str | None = None) -> VerifiedPayment:
        """Ask the gateway what happened to a payment. Raises ``GatewayNotFound`` for an unknown reference.

        ``transaction_id`` is the gateway's own id of one attempt, when a webhook named it (Flutterwave
        verifies by id); a gateway that looks payments up by reference ignores it. The answer is always
        about ``reference``: an id that belongs to another payment is not taken for this one.
        """
        ...

    def refund(
        self, *, reference: str, amount: int | None = None, currency: str | None = None, note: str | None = None
    ) -> RefundResult:
        """Refund a paid transaction, in full when ``amount`` is ``None``."""
        ...

    def get_refund(self, refund_id: str) -> RefundResult: ...

    def list_refunds(self, reference: str) -> list[RefundResult]:
        """Every refund of the payment ``reference``, oldest first (how a refund whose answer was lost is found)."""
        ...

    def list_banks(self, currency: str) -> list[Bank]: ...

    def resolve_account(self, *, account_number: str, bank_code: str) -> ResolvedAccount:
        """The account holder's name. Raises ``GatewayApiError`` when the account does not resolve."""
        ...

    def create_transfer_recipient(
        self, *, name: str, account_number: str, bank_code: str, currency: str
    ) -> TransferRecipient:
        """Where transfers to this account go: ``recipient_code`` is opaque outside the gateway (Paystack's
        ``RCP_…``; for a gateway whose transfers name the account itself, the account), kept with the payout
        account and handed back to ``initiate_transfer``."""
        ...

    def initiate_transfer(
        self, *, reference: str, amount: int, currency: str, recipient_code: str, reason: str | None = None
    ) -> TransferResult:
        """Pay out. ``reference`` is ours and makes the call idempotent: after an unclear error, verify it."""
        ...

    def verify_transfer(self, reference: str) -> TransferResult: ...
