"""Paystack implementation of the payment gateway port, over one ``requests.Session``.

Transport policy (PAYSTACK.md §7):
- one session per container (connection reuse), ``(connect, read)`` timeouts on every call;
- urllib3 ``Retry`` on the adapter, with backoff: connection errors (nothing was sent)
  are retried for every method; read errors, 429 and 5xx only for GET (verify, fetch,
  banks, resolve), which is safe. POSTs are never repeated once sent: a repeated
  initialize would hit ``duplicate_reference``, a repeated refund could refund twice.
  Transfers carry our reference, so the payout consumer retries them itself (SQS) and
  verifies by reference after an unclear answer;
- a 4xx answer -> ``GatewayApiError`` with Paystack's message and code; what is left of a
  connection error, timeout, 429 or 5xx after the retries -> ``GatewayUnavailable``.

Responses are parsed from Paystack's ``{status, message, data}`` envelope into typed
pydantic models (unknown fields ignored), then mapped to the neutral models of ``base``.
"""

from __future__ import annotations

import json as jsonlib
from datetime import datetime
from typing import Any, Final, TypeVar, Unpack

import requests
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from market.gateways import base as port
from market.gateways.transport import GatewayClient, RefusalBody, path_segment, require
from market.observability import logger

GATEWAY_NAME: Final = "paystack"
BANKS_PAGE_SIZE: Final = 100
MAX_BANK_PAGES: Final = 20
REFUNDS_PAGE_SIZE: Final = 100
MAX_REFUND_PAGES: Final = 10

# Paystack's recipient type per currency (PAYSTACK.md §6); KES could also be mobile_money.
RECIPIENT_TYPES: Final = {"NGN": "nuban", "GHS": "ghipss", "KES": "kepss", "ZAR": "basa"}

_PAYMENT_STATUSES: Final[dict[str, port.PaymentStatus]] = {
    "success": "success",
    "failed": "failed",
    "abandoned": "abandoned",
    "reversed": "reversed",
    "ongoing": "pending",
    "pending": "pending",
    "processing": "pending",
    "queued": "pending",
}
_REFUND_STATUSES: Final[dict[str, port.RefundStatus]] = {
    "processed": "processed",
    "failed": "failed",
    "pending": "pending",
    "processing": "pending",
    "needs-attention": "needs_attention",
}
_TRANSFER_STATUSES: Final[dict[str, port.TransferStatus]] = {
    "success": "success",
    "failed": "failed",
    "abandoned": "failed",
    "blocked": "failed",
    "rejected": "failed",
    "reversed": "reversed",
    "pending": "pending",
    "otp": "pending",
    "received": "pending",
    "queued": "pending",
}
# Paystack answers an unknown verify reference with this message (spec: 404; the live
# status code is unconfirmed, so a 400 carrying it counts as "not found" too).
_REFERENCE_NOT_FOUND: Final = "transaction reference not found"


class _Lenient(BaseModel):
    """Paystack adds fields freely: ignore what we do not read."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Envelope[T](_Lenient):
    status: bool
    message: str = ""
    data: T


class _ErrorBody(RefusalBody):
    status: bool = False


class _Initialized(_Lenient):
    authorization_url: str
    access_code: str | None = None
    reference: str


class _Customer(_Lenient):
    email: str | None = None


class _Transaction(_Lenient):
    id: int
    domain: str | None = None
    status: str
    reference: str
    amount: int
    requested_amount: int | None = None
    currency: str
    gateway_response: str | None = None
    paid_at: datetime | None = Field(default=None, validation_alias=AliasChoices("paid_at", "paidAt"))
    fees: int | None = None
    customer: _Customer | None = None


class _RefundTransaction(_Lenient):
    reference: str


class _RefundCreated(_Lenient):
    id: int
    amount: int
    currency: str
    status: str
    transaction: _RefundTransaction
    created_at: datetime | None = Field(default=None, validation_alias=AliasChoices("createdAt", "created_at"))


class _RefundFetched(_Lenient):
    id: int
    amount: int
    currency: str
    status: str
    transaction_reference: str
    created_at: datetime | None = Field(default=None, validation_alias=AliasChoices("createdAt", "created_at"))


class _RefundPageMeta(_Lenient):
    page: int | None = None
    pageCount: int | None = None  # Paystack's name


class _RefundList(_Lenient):
    status: bool
    message: str = ""
    data: list[_RefundFetched]
    meta: _RefundPageMeta | None = None


class _Bank(_Lenient):
    name: str
    code: str
    currency: str | None = None
    country: str | None = None
    active: bool = True
    is_deleted: bool | None = None


class _BanksMeta(_Lenient):
    next: str | None = None


class _BankList(_Lenient):
    status: bool
    message: str = ""
    data: list[_Bank]
    meta: _BanksMeta | None = None


class _Resolved(_Lenient):
    account_number: str
    account_name: str


class _RecipientDetails(_Lenient):
    account_number: str | None = None
    account_name: str | None = None
    bank_code: str | None = None
    bank_name: str | None = None


class _Recipient(_Lenient):
    recipient_code: str
    name: str
    currency: str
    details: _RecipientDetails = Field(default_factory=_RecipientDetails)


class _Transfer(_Lenient):
    reference: str
    transfer_code: str | None = None
    status: str
    amount: int
    currency: str
    reason: str | None = None
    failures: Any = None
    transferred_at: datetime | None = None


ModelT = TypeVar("ModelT", bound=BaseModel)


class PaystackGateway(GatewayClient):
    """``PaymentGateway`` for Paystack (or the local emulator, which speaks the same API)."""

    name = GATEWAY_NAME
    test_key_prefix = "sk_test_"
    envelope = _Envelope
    error_body = _ErrorBody

    # --- payments ---------------------------------------------------------------------

    def initialize(self, **payment: Unpack[port.PaymentStart]) -> port.InitializedPayment:
        body: dict[str, Any] = {key: payment[key] for key in ("email", "amount", "currency", "reference")}
        if callback_url := payment.get("callback_url"):
            body["callback_url"] = callback_url
        if metadata := payment.get("metadata"):
            body["metadata"] = metadata
        data = self._call("POST", "/transaction/initialize", _Initialized, body=body, operation="initialize")
        return port.InitializedPayment(
            gateway=self.name,
            reference=data.reference,
            authorization_url=data.authorization_url,
            access_code=data.access_code,
        )

    def verify(self, reference: str, *, transaction_id: str | None = None) -> port.VerifiedPayment:
        # Paystack verifies by reference only: a webhook's transaction id adds nothing.
        require(reference, "reference")
        data = self._call("GET", f"/transaction/verify/{path_segment(reference)}", _Transaction, operation="verify")
        return port.VerifiedPayment(
            gateway=self.name,
            gateway_id=str(data.id),
            reference=data.reference,
            status=_PAYMENT_STATUSES.get(data.status, "pending"),
            gateway_status=data.status,
            amount=data.amount,
            requested_amount=data.requested_amount,
            currency=data.currency,
            paid_at=data.paid_at,
            fees=data.fees,
            mode=data.domain,
            gateway_response=data.gateway_response,
            customer_email=data.customer.email if data.customer else None,
        )

    # --- refunds ----------------------------------------------------------------------

    def refund(
        self, *, reference: str, amount: int | None = None, currency: str | None = None, note: str | None = None
    ) -> port.RefundResult:
        require(reference, "reference")
        body: dict[str, Any] = {"transaction": reference}
        if amount is not None:
            body["amount"] = amount
        if currency:
            body["currency"] = currency
        if note:
            body["merchant_note"] = note
        data = self._call("POST", "/refund", _RefundCreated, body=body, operation="refund")
        return port.RefundResult(
            gateway=self.name,
            id=str(data.id),
            transaction_reference=data.transaction.reference,
            amount=data.amount,
            currency=data.currency,
            status=_REFUND_STATUSES.get(data.status, "pending"),
            gateway_status=data.status,
            created_at=data.created_at,
        )

    def get_refund(self, refund_id: str) -> port.RefundResult:
        require(refund_id, "refund_id")
        data = self._call("GET", f"/refund/{path_segment(refund_id)}", _RefundFetched, operation="get_refund")
        return self._refund(data)

    def list_refunds(self, reference: str) -> list[port.RefundResult]:
        """``GET /refund?transaction=<reference>`` (newest first at Paystack), every page; oldest first here."""
        require(reference, "reference")
        found: list[port.RefundResult] = []
        for page in range(1, MAX_REFUND_PAGES + 1):
            params: dict[str, str | int] = {"transaction": reference, "perPage": REFUNDS_PAGE_SIZE, "page": page}
            response = self._send("GET", "/refund", params=params, operation="list_refunds")
            listed = self._parse(response, _RefundList, operation="list_refunds")
            found.extend(self._refund(item) for item in listed.data)
            if not listed.meta or not listed.meta.pageCount or page >= listed.meta.pageCount:
                break
        return sorted(found, key=lambda refund: int(refund.id) if refund.id.isdigit() else 0)  # ids grow with time

    def _refund(self, data: _RefundFetched) -> port.RefundResult:
        return port.RefundResult(
            gateway=self.name,
            id=str(data.id),
            transaction_reference=data.transaction_reference,
            amount=data.amount,
            currency=data.currency,
            status=_REFUND_STATUSES.get(data.status, "pending"),
            gateway_status=data.status,
            created_at=data.created_at,
        )

    # --- banks and payouts ------------------------------------------------------------

    def list_banks(self, currency: str) -> list[port.Bank]:
        banks: list[port.Bank] = []
        params: dict[str, str | int] = {"currency": currency, "perPage": BANKS_PAGE_SIZE, "use_cursor": "true"}
        for _ in range(MAX_BANK_PAGES):
            response = self._send("GET", "/bank", params=params, operation="list_banks")
            page = self._parse(response, _BankList, operation="list_banks")
            banks.extend(
                port.Bank(
                    name=bank.name, code=bank.code, currency=bank.currency, country=bank.country, active=bank.active
                )
                for bank in page.data
                if not bank.is_deleted
            )
            if not page.meta or not page.meta.next:
                break
            params["next"] = page.meta.next
        return banks

    def resolve_account(self, *, account_number: str, bank_code: str) -> port.ResolvedAccount:
        params = {"account_number": account_number, "bank_code": bank_code}
        data = self._call("GET", "/bank/resolve", _Resolved, params=params, operation="resolve_account")
        return port.ResolvedAccount(
            account_number=data.account_number, account_name=data.account_name, bank_code=bank_code
        )

    def create_transfer_recipient(
        self, *, name: str, account_number: str, bank_code: str, currency: str
    ) -> port.TransferRecipient:
        body = {
            "type": RECIPIENT_TYPES.get(currency, "nuban"),
            "name": name,
            "account_number": account_number,
            "bank_code": bank_code,
            "currency": currency,
        }
        data = self._call("POST", "/transferrecipient", _Recipient, body=body, operation="create_transfer_recipient")
        return port.TransferRecipient(
            gateway=self.name,
            recipient_code=data.recipient_code,
            name=data.name,
            account_number=data.details.account_number,
            account_name=data.details.account_name,
            bank_code=data.details.bank_code,
            bank_name=data.details.bank_name,
            currency=data.currency,
        )

    def initiate_transfer(
        self, *, reference: str, amount: int, currency: str, recipient_code: str, reason: str | None = None
    ) -> port.TransferResult:
        require(reference, "reference")
        body: dict[str, Any] = {
            "source": "balance",
            "amount": amount,
            "currency": currency,
            "recipient": recipient_code,
            "reference": reference,
        }
        if reason:
            body["reason"] = reason
        data = self._call("POST", "/transfer", _Transfer, body=body, operation="initiate_transfer")
        return self._transfer(data)

    def verify_transfer(self, reference: str) -> port.TransferResult:
        require(reference, "reference")
        data = self._call("GET", f"/transfer/verify/{path_segment(reference)}", _Transfer, operation="verify_transfer")
        return self._transfer(data)

    # --- transport --------------------------------------------------------------------

    def _transfer(self, data: _Transfer) -> port.TransferResult:
        failure = data.failures if isinstance(data.failures, str) and data.failures else None
        return port.TransferResult(
            gateway=self.name,
            reference=data.reference,
            transfer_code=data.transfer_code,
            status=_TRANSFER_STATUSES.get(data.status, "pending"),
            gateway_status=data.status,
            amount=data.amount,
            currency=data.currency,
            reason=data.reason,
            failure_reason=failure,
            requires_otp=data.status == "otp",
            transferred_at=data.transferred_at,
        )

    def _encode(self, body: dict[str, Any]) -> bytes:
        return jsonlib.dumps(body).encode("utf-8")

    def _means_not_found(self, message: str, operation: str) -> bool:
        return operation == "verify" and message == _REFERENCE_NOT_FOUND

    def _parse(self, response: requests.Response, model: type[ModelT], *, operation: str) -> ModelT:
        try:
            parsed = model.model_validate_json(response.content)
        except ValidationError as exc:
            logger.warning("gateway answer unusable", gateway=self.name, operation=operation, errors=exc.error_count())
            raise port.GatewayApiError("unusable answer", gateway=self.name, http_status=response.status_code) from exc
        if getattr(parsed, "status", True) is not True:
            message = str(getattr(parsed, "message", "")) or "status false"
            raise port.GatewayApiError(message, gateway=self.name, http_status=response.status_code)
        return parsed
