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

from datetime import datetime
from typing import Any, Final, TypeVar
from urllib.parse import quote

import requests
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from market.gateways.base import (
    Bank,
    GatewayApiError,
    GatewayNotFound,
    GatewayUnavailable,
    InitializedPayment,
    PaymentStatus,
    RefundResult,
    RefundStatus,
    ResolvedAccount,
    TransferRecipient,
    TransferResult,
    TransferStatus,
    VerifiedPayment,
)
from market.observability import logger

GATEWAY_NAME: Final = "paystack"
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
MAX_CONNECT_TIMEOUT_SECONDS: Final = 3.05
BANKS_PAGE_SIZE: Final = 100
MAX_BANK_PAGES: Final = 20
REFUNDS_PAGE_SIZE: Final = 100
MAX_REFUND_PAGES: Final = 10

# Paystack's recipient type per currency (PAYSTACK.md §6); KES could also be mobile_money.
RECIPIENT_TYPES: Final = {"NGN": "nuban", "GHS": "ghipss", "KES": "kepss", "ZAR": "basa"}

_PAYMENT_STATUSES: Final[dict[str, PaymentStatus]] = {
    "success": "success",
    "failed": "failed",
    "abandoned": "abandoned",
    "reversed": "reversed",
    "ongoing": "pending",
    "pending": "pending",
    "processing": "pending",
    "queued": "pending",
}
_REFUND_STATUSES: Final[dict[str, RefundStatus]] = {
    "processed": "processed",
    "failed": "failed",
    "pending": "pending",
    "processing": "pending",
    "needs-attention": "needs_attention",
}
_TRANSFER_STATUSES: Final[dict[str, TransferStatus]] = {
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


class _ErrorBody(_Lenient):
    status: bool = False
    message: str = ""
    code: str | None = None
    type: str | None = None


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


class PaystackGateway:
    """``PaymentGateway`` for Paystack (or the local emulator, which speaks the same API)."""

    name = GATEWAY_NAME
    mode: str | None

    def __init__(
        self,
        base_url: str,
        secret_key: str,
        timeout: float,
        *,
        retries: int = 2,
        backoff_factor: float = 0.3,
        session: requests.Session | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        # A test-mode payment must never pay a live order (and the other way round).
        self.mode = "live" if secret_key.startswith("sk_live_") else "test"
        self._timeout = (min(MAX_CONNECT_TIMEOUT_SECONDS, timeout), timeout)
        self._session = session or requests.Session()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=backoff_factor,
            backoff_max=5.0,
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update(
            {
                "Authorization": f"Bearer {secret_key}",
                "Accept": "application/json",
                "User-Agent": "marketplace-backend/1.0",
            }
        )

    # --- payments ---------------------------------------------------------------------

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
        body: dict[str, Any] = {"email": email, "amount": amount, "currency": currency, "reference": reference}
        if callback_url:
            body["callback_url"] = callback_url
        if metadata:
            body["metadata"] = metadata
        data = self._call("POST", "/transaction/initialize", _Initialized, json=body, operation="initialize")
        return InitializedPayment(
            gateway=self.name,
            reference=data.reference,
            authorization_url=data.authorization_url,
            access_code=data.access_code,
        )

    def verify(self, reference: str, *, transaction_id: str | None = None) -> VerifiedPayment:
        # Paystack verifies by reference only: a webhook's transaction id adds nothing.
        _require(reference, "reference")
        data = self._call("GET", f"/transaction/verify/{_segment(reference)}", _Transaction, operation="verify")
        return VerifiedPayment(
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
    ) -> RefundResult:
        _require(reference, "reference")
        body: dict[str, Any] = {"transaction": reference}
        if amount is not None:
            body["amount"] = amount
        if currency:
            body["currency"] = currency
        if note:
            body["merchant_note"] = note
        data = self._call("POST", "/refund", _RefundCreated, json=body, operation="refund")
        return RefundResult(
            gateway=self.name,
            id=str(data.id),
            transaction_reference=data.transaction.reference,
            amount=data.amount,
            currency=data.currency,
            status=_REFUND_STATUSES.get(data.status, "pending"),
            gateway_status=data.status,
            created_at=data.created_at,
        )

    def get_refund(self, refund_id: str) -> RefundResult:
        _require(refund_id, "refund_id")
        data = self._call("GET", f"/refund/{_segment(refund_id)}", _RefundFetched, operation="get_refund")
        return self._refund(data)

    def list_refunds(self, reference: str) -> list[RefundResult]:
        """``GET /refund?transaction=<reference>`` (newest first at Paystack), every page; oldest first here."""
        _require(reference, "reference")
        found: list[RefundResult] = []
        for page in range(1, MAX_REFUND_PAGES + 1):
            params: dict[str, str | int] = {"transaction": reference, "perPage": REFUNDS_PAGE_SIZE, "page": page}
            response = self._send("GET", "/refund", params=params, operation="list_refunds")
            listed = self._parse(response, _RefundList, operation="list_refunds")
            found.extend(self._refund(item) for item in listed.data)
            if not listed.meta or not listed.meta.pageCount or page >= listed.meta.pageCount:
                break
        return sorted(found, key=lambda refund: int(refund.id) if refund.id.isdigit() else 0)  # ids grow with time

    def _refund(self, data: _RefundFetched) -> RefundResult:
        return RefundResult(
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

    def list_banks(self, currency: str) -> list[Bank]:
        banks: list[Bank] = []
        params: dict[str, str | int] = {"currency": currency, "perPage": BANKS_PAGE_SIZE, "use_cursor": "true"}
        for _ in range(MAX_BANK_PAGES):
            response = self._send("GET", "/bank", params=params, operation="list_banks")
            page = self._parse(response, _BankList, operation="list_banks")
            banks.extend(
                Bank(name=bank.name, code=bank.code, currency=bank.currency, country=bank.country, active=bank.active)
                for bank in page.data
                if not bank.is_deleted
            )
            if not page.meta or not page.meta.next:
                break
            params["next"] = page.meta.next
        return banks

    def resolve_account(self, *, account_number: str, bank_code: str) -> ResolvedAccount:
        params = {"account_number": account_number, "bank_code": bank_code}
        data = self._call("GET", "/bank/resolve", _Resolved, params=params, operation="resolve_account")
        return ResolvedAccount(account_number=data.account_number, account_name=data.account_name, bank_code=bank_code)

    def create_transfer_recipient(
        self, *, name: str, account_number: str, bank_code: str, currency: str
    ) -> TransferRecipient:
        body = {
            "type": RECIPIENT_TYPES.get(currency, "nuban"),
            "name": name,
            "account_number": account_number,
            "bank_code": bank_code,
            "currency": currency,
        }
        data = self._call("POST", "/transferrecipient", _Recipient, json=body, operation="create_transfer_recipient")
        return TransferRecipient(
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
    ) -> TransferResult:
        _require(reference, "reference")
        body: dict[str, Any] = {
            "source": "balance",
            "amount": amount,
            "currency": currency,
            "recipient": recipient_code,
            "reference": reference,
        }
        if reason:
            body["reason"] = reason
        data = self._call("POST", "/transfer", _Transfer, json=body, operation="initiate_transfer")
        return self._transfer(data)

    def verify_transfer(self, reference: str) -> TransferResult:
        _require(reference, "reference")
        data = self._call("GET", f"/transfer/verify/{_segment(reference)}", _Transfer, operation="verify_transfer")
        return self._transfer(data)

    # --- transport --------------------------------------------------------------------

    def _transfer(self, data: _Transfer) -> TransferResult:
        failure = data.failures if isinstance(data.failures, str) and data.failures else None
        return TransferResult(
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

    def _call(
        self,
        method: str,
        path: str,
        model: type[ModelT],
        *,
        operation: str,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> ModelT:
        response = self._send(method, path, json=json, params=params, operation=operation)
        envelope_model: type[_Envelope[ModelT]] = _Envelope[model]  # type: ignore[valid-type]  # parametrised at runtime
        envelope = self._parse(response, envelope_model, operation=operation)
        return envelope.data

    def _send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        try:
            response = self._session.request(
                method, self._base_url + path, json=json, params=params, timeout=self._timeout
            )
        except requests.RequestException as exc:
            logger.warning("gateway unreachable", gateway=self.name, operation=operation, error=type(exc).__name__)
            raise GatewayUnavailable(type(exc).__name__, gateway=self.name) from exc
        if response.status_code in RETRY_STATUSES or response.status_code >= 500:
            logger.warning("gateway unavailable", gateway=self.name, operation=operation, status=response.status_code)
            status = response.status_code
            raise GatewayUnavailable(f"HTTP {status}", gateway=self.name, http_status=status)
        if response.status_code >= 300:
            raise self._api_error(response, operation)
        return response

    def _api_error(self, response: requests.Response, operation: str) -> GatewayApiError:
        try:
            body = _ErrorBody.model_validate_json(response.content)
        except ValidationError:
            body = _ErrorBody(message=f"HTTP {response.status_code}")
        message = body.message or f"HTTP {response.status_code}"
        logger.info(
            "gateway refused request",
            gateway=self.name,
            operation=operation,
            status=response.status_code,
            code=body.code,
            gateway_message=message,
        )
        not_found = response.status_code == 404 or (
            operation == "verify" and message.strip().lower() == _REFERENCE_NOT_FOUND
        )
        error_class = GatewayNotFound if not_found else GatewayApiError
        return error_class(
            message, gateway=self.name, http_status=response.status_code, code=body.code, error_type=body.type
        )

    def _parse(self, response: requests.Response, model: type[ModelT], *, operation: str) -> ModelT:
        try:
            parsed = model.model_validate_json(response.content)
        except ValidationError as exc:
            logger.warning("gateway answer unusable", gateway=self.name, operation=operation, errors=exc.error_count())
            raise GatewayApiError("unusable answer", gateway=self.name, http_status=response.status_code) from exc
        if getattr(parsed, "status", True) is not True:
            message = str(getattr(parsed, "message", "")) or "status false"
            raise GatewayApiError(message, gateway=self.name, http_status=response.status_code)
        return parsed


def _segment(value: str) -> str:
    return quote(value, safe="")


def _require(value: str, what: str) -> None:
    if not value:
        raise ValueError(f"{what} must not be empty")
