"""Flutterwave v3 implementation of the payment gateway port, over one ``requests.Session``.

Money. Flutterwave puts **major units** on the wire as JSON numbers (``7500`` is NGN 7,500.00,
``1234.5`` NGN 1,234.50). Requests are written from ``Money.to_major()`` (a ``Decimal``) as exact
JSON number text, and answers are read with ``json.loads(parse_float=Decimal)`` (pydantic alone would
read a JSON number through a float), then ``Money.from_major``: no float ever touches an amount. An
amount finer than the currency's minor unit is an unusable answer; a fee (``app_fee``; transfer fees
can have 3 decimals, NGN 26.875) is informational and is rounded half up to the minor unit.

Transport: as the Paystack client (``market.gateways.paystack``): ``(connect, read)`` timeouts, urllib3
``Retry`` with backoff for connection errors on every method and for read errors, 429 and 5xx on GET
only; a POST is never repeated once sent. A 4xx answer (``{"status": "error", "message": …, "data": null}``)
-> ``GatewayApiError`` (``GatewayNotFound`` for "no such transaction/refund/transfer"); a connection
error, timeout, 429 or 5xx after the retries -> ``GatewayUnavailable``.

What each port call sends, and the call of the official Node SDK (``flutterwave-node-v3`` 1.4.1) that
drives the same route in ``tests/localdev/test_flutterwave_sdk.py``:

- ``initialize``: ``POST /payments`` (Flutterwave Standard; ``data.link`` is the hosted page). SDK: none
  (it has no call for Standard).
- ``verify``: ``GET /transactions/{id}/verify`` when a webhook named the attempt's id; then, unless that
  answer is a success of this ``tx_ref``, ``GET /transactions/verify_by_reference?tx_ref=``.
  SDK: ``Transaction.verify``, ``Transaction.verify_by_tx``.
- ``refund``: ``verify`` by ``tx_ref`` (the successful attempt's id), then
  ``POST /transactions/{id}/refund {amount}``. SDK: ``Transaction.refund``.
- ``get_refund``: ``GET /refunds/{id}``, then ``GET /transactions/{id}/verify`` for its ``tx_ref``.
  SDK: none for refunds; ``Transaction.verify``.
- ``list_banks``: ``GET /banks/{country}`` (the currency's country). SDK: ``Bank.country``.
- ``resolve_account``: ``POST /accounts/resolve {account_number, account_bank}``. SDK: ``Misc.verify_Account``.
- ``create_transfer_recipient``: no call of its own, since a v3 transfer names the bank account itself
  (``list_banks`` for the bank's name).
- ``initiate_transfer``: ``POST /transfers``. SDK: ``Transfer.initiate``.
- ``verify_transfer``: ``GET /transfers?reference=`` (paged until the reference shows up). SDK: ``Transfer.fetch``.

Flutterwave requires the caller's IP addresses to be allow-listed on the dashboard before it accepts
transfers. On Lambda outside a VPC the source address is any of AWS's; a fixed one needs the payouts
worker in a VPC with a NAT gateway and an Elastic IP (that IP is what is allow-listed). Not built here.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, Literal, TypeVar
from urllib.parse import quote

import requests
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from market.domain.errors import GatewayError, TransientError
from market.domain.money import Money, minor_unit_exponent
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

GATEWAY_NAME: Final = "flutterwave"
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
MAX_CONNECT_TIMEOUT_SECONDS: Final = 3.05
MAX_TRANSFER_PAGES: Final = 10
MAX_REFUND_PAGES: Final = 10
RECIPIENT_SEPARATOR: Final = ":"
DEFAULT_NARRATION: Final = "Payout"
# The country whose banks take each currency (GET /banks/{country}).
BANK_COUNTRIES: Final = {"NGN": "NG", "GHS": "GH", "KES": "KE", "ZAR": "ZA", "UGX": "UG", "TZS": "TZ", "RWF": "RW"}
# Operations whose "not found" answers mean "no such object" (Flutterwave may answer 400 rather than 404).
_LOOKUPS: Final = frozenset({"verify", "verify_by_reference", "get_refund", "verify_transfer"})
_NOT_FOUND_WORDS: Final = ("not found", "no transaction was found")

_PAYMENT_STATUSES: Final[dict[str, PaymentStatus]] = {
    "successful": "success",
    "failed": "failed",
    "pending": "pending",
}
_REFUND_STATUSES: Final[dict[str, RefundStatus]] = {
    "completed": "processed",
    "failed": "failed",
    "processing": "pending",
    "pending": "pending",
    "new": "pending",
}
_TRANSFER_STATUSES: Final[dict[str, TransferStatus]] = {
    "SUCCESSFUL": "success",
    "FAILED": "failed",
    "NEW": "pending",
    "PENDING": "pending",
}


class _Lenient(BaseModel):
    """Flutterwave adds fields freely: ignore what we do not read."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Envelope[T](_Lenient):
    status: Literal["success"]
    message: str = ""
    data: T


class _ErrorBody(_Lenient):
    status: str = "error"
    message: str = ""


class _HostedLink(_Lenient):
    link: str


class _Customer(_Lenient):
    email: str | None = None


class _Transaction(_Lenient):
    id: int
    tx_ref: str
    status: str
    amount: Decimal
    currency: str
    app_fee: Decimal | None = None
    processor_response: str | None = None
    created_at: datetime | None = Field(default=None, validation_alias=AliasChoices("created_at", "createdAt"))
    customer: _Customer | None = None


class _RefundCreated(_Lenient):
    id: int
    tx_id: int
    amount_refunded: Decimal
    status: str
    created_at: datetime | None = Field(default=None, validation_alias=AliasChoices("created_at", "createdAt"))


class _RefundFetched(_Lenient):
    id: int
    transaction_id: int = Field(validation_alias=AliasChoices("transaction_id", "tx_id"))
    amount_refunded: Decimal
    currency: str | None = None
    status: str
    created_at: datetime | None = Field(default=None, validation_alias=AliasChoices("created_at", "createdAt"))


class _Bank(_Lenient):
    code: str
    name: str


class _Resolved(_Lenient):
    account_number: str
    account_name: str


class _Transfer(_Lenient):
    id: int
    reference: str
    status: str
    amount: Decimal
    currency: str
    narration: str | None = None
    complete_message: str | None = None
    requires_approval: int | bool | None = None
    is_approved: int | bool | None = None


class _PageInfo(_Lenient):
    total_pages: int = 1


class _ListMeta(_Lenient):
    page_info: _PageInfo = Field(default_factory=_PageInfo)


class _RefundList(_Lenient):
    status: Literal["success"]
    data: list[_RefundFetched]
    meta: _ListMeta = Field(default_factory=_ListMeta)


class _TransferList(_Lenient):
    status: Literal["success"]
    data: list[_Transfer]
    meta: _ListMeta = Field(default_factory=_ListMeta)


ModelT = TypeVar("ModelT", bound=BaseModel)


class FlutterwaveGateway:
    """``PaymentGateway`` for Flutterwave v3 (or the local emulator, which speaks the same API).

    ``base_url`` includes the version: ``https://api.flutterwave.com/v3``.
    """

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
        # Test keys are FLWSECK_TEST-...; a test payment must never pay a live order (and the other way round).
        self.mode = "test" if secret_key.startswith("FLWSECK_TEST") else "live"
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
        _require(reference, "reference")
        if not callback_url:
            # Flutterwave Standard requires redirect_url; the checkout builds it from PUBLIC_API_URL.
            raise GatewayApiError("a redirect URL is required (set PublicApiUrl)", gateway=self.name, http_status=None)
        body: dict[str, Any] = {
            "tx_ref": reference,
            "amount": Money(amount, currency).to_major(),
            "currency": currency,
            "redirect_url": callback_url,
            "customer": {"email": email},
        }
        if metadata:
            body["meta"] = metadata
        data = self._call("POST", "/payments", _HostedLink, body=body, operation="initialize")
        return InitializedPayment(gateway=self.name, reference=reference, authorization_url=data.link)

    def verify(self, reference: str, *, transaction_id: str | None = None) -> VerifiedPayment:
        _require(reference, "reference")
        if transaction_id:
            try:
                by_id = self._verified(f"/transactions/{_segment(transaction_id)}/verify", operation="verify")
            except GatewayNotFound:
                logger.info("transaction id unknown at gateway", gateway=self.name, reference=reference)
                by_id = None
            if by_id is not None and by_id.reference == reference and by_id.is_successful:
                return by_id
            if by_id is not None and by_id.reference != reference:
                logger.warning("transaction id is another payment's", gateway=self.name, reference=reference)
        # The successful attempt of this tx_ref if there is one (a declined attempt does not hide a later payment).
        return self._verified(
            "/transactions/verify_by_reference", operation="verify_by_reference", params={"tx_ref": reference}
        )

    def _verified(self, path: str, *, operation: str, params: dict[str, str] | None = None) -> VerifiedPayment:
        data = self._call("GET", path, _Transaction, params=params, operation=operation)
        status = data.status.strip().lower()
        successful = status == "successful"
        return VerifiedPayment(
            gateway=self.name,
            gateway_id=str(data.id),
            reference=data.tx_ref,
            status=_PAYMENT_STATUSES.get(status, "pending"),
            gateway_status=data.status,
            amount=self._exact(data.amount, data.currency, operation),
            currency=data.currency,
            paid_at=data.created_at if successful else None,
            fees=_rounded(data.app_fee, data.currency) if data.app_fee is not None else None,
            mode=None,  # Flutterwave's verify answer does not say; the key decides which account is asked
            gateway_response=data.processor_response,
            customer_email=data.customer.email if data.customer else None,
        )

    # --- refunds ----------------------------------------------------------------------

    def refund(
        self, *, reference: str, amount: int | None = None, currency: str | None = None, note: str | None = None
    ) -> RefundResult:
        paid = self.verify(reference)
        if not paid.is_successful:
            raise GatewayApiError(
                f"the payment is {paid.gateway_status}, not successful", gateway=self.name, http_status=None
            )
        if currency and currency != paid.currency:
            raise GatewayApiError(f"the payment is in {paid.currency}", gateway=self.name, http_status=None)
        body: dict[str, Any] = {}
        if amount is not None:
            body["amount"] = Money(amount, paid.currency).to_major()
        if note:
            body["comments"] = note
        path = f"/transactions/{_segment(paid.gateway_id)}/refund"
        data = self._call("POST", path, _RefundCreated, body=body, operation="refund")
        return RefundResult(
            gateway=self.name,
            id=str(data.id),
            transaction_reference=paid.reference,
            amount=self._exact(data.amount_refunded, paid.currency, "refund"),
            currency=paid.currency,
            status=_REFUND_STATUSES.get(data.status.strip().lower(), "pending"),
            gateway_status=data.status,
            created_at=data.created_at,
        )

    def get_refund(self, refund_id: str) -> RefundResult:
        _require(refund_id, "refund_id")
        data = self._call("GET", f"/refunds/{_segment(refund_id)}", _RefundFetched, operation="get_refund")
        # The refund names its transaction by id only: the transaction says which tx_ref it paid.
        paid = self._verified(f"/transactions/{data.transaction_id}/verify", operation="verify")
        currency = data.currency or paid.currency
        return RefundResult(
            gateway=self.name,
            id=str(data.id),
            transaction_reference=paid.reference,
            amount=self._exact(data.amount_refunded, currency, "get_refund"),
            currency=currency,
            status=_REFUND_STATUSES.get(data.status.strip().lower(), "pending"),
            gateway_status=data.status,
            created_at=data.created_at,
        )

    def list_refunds(self, reference: str) -> list[RefundResult]:
        """Every refund of the payment ``reference``: ``GET /refunds?id=<transaction id>``, every page, oldest first."""
        _require(reference, "reference")
        try:
            paid = self.verify(reference)
        except GatewayNotFound:
            return []  # no payment, so no refund of it
        found: list[RefundResult] = []
        for page in range(1, MAX_REFUND_PAGES + 1):
            params = {"id": paid.gateway_id, "page": str(page)}
            response = self._send("GET", "/refunds", params=params, operation="list_refunds")
            listed = self._parse(response, _RefundList, operation="list_refunds")
            found.extend(
                RefundResult(
                    gateway=self.name,
                    id=str(item.id),
                    transaction_reference=paid.reference,
                    amount=self._exact(item.amount_refunded, item.currency or paid.currency, "list_refunds"),
                    currency=item.currency or paid.currency,
                    status=_REFUND_STATUSES.get(item.status.strip().lower(), "pending"),
                    gateway_status=item.status,
                    created_at=item.created_at,
                )
                for item in listed.data
                if str(item.transaction_id) == paid.gateway_id  # keep this transaction's, filtered or not
            )
            if not listed.data or page >= listed.meta.page_info.total_pages:
                break
        return sorted(found, key=lambda refund: int(refund.id))  # ids grow with time

    # --- banks and payouts ------------------------------------------------------------

    def list_banks(self, currency: str) -> list[Bank]:
        country = BANK_COUNTRIES.get(currency)
        if country is None:
            return []
        response = self._send("GET", f"/banks/{country}", operation="list_banks")
        banks = self._parse(response, _Envelope[list[_Bank]], operation="list_banks").data
        return [Bank(name=bank.name, code=bank.code, currency=currency, country=country) for bank in banks]

    def resolve_account(self, *, account_number: str, bank_code: str) -> ResolvedAccount:
        body = {"account_number": account_number, "account_bank": bank_code}
        data = self._call("POST", "/accounts/resolve", _Resolved, body=body, operation="resolve_account")
        return ResolvedAccount(account_number=data.account_number, account_name=data.account_name, bank_code=bank_code)

    def create_transfer_recipient(
        self, *, name: str, account_number: str, bank_code: str, currency: str
    ) -> TransferRecipient:
        """No API call: a v3 transfer names the bank and account itself, so they are the recipient code."""
        if RECIPIENT_SEPARATOR in bank_code or not bank_code or not account_number:
            raise GatewayApiError("invalid bank code or account number", gateway=self.name, http_status=None)
        return TransferRecipient(
            gateway=self.name,
            recipient_code=f"{bank_code}{RECIPIENT_SEPARATOR}{account_number}",
            name=name,
            account_number=account_number,
            account_name=name,
            bank_code=bank_code,
            bank_name=self._bank_name(bank_code, currency),
            currency=currency,
        )

    def _bank_name(self, bank_code: str, currency: str) -> str | None:
        try:
            banks = self.list_banks(currency)
        except (GatewayError, TransientError):
            logger.info("bank list unavailable", gateway=self.name, currency=currency)
            return None
        return next((bank.name for bank in banks if bank.code == bank_code), None)

    def initiate_transfer(
        self, *, reference: str, amount: int, currency: str, recipient_code: str, reason: str | None = None
    ) -> TransferResult:
        _require(reference, "reference")
        bank_code, separator, account_number = recipient_code.partition(RECIPIENT_SEPARATOR)
        if not separator or not bank_code or not account_number:
            raise GatewayApiError("not a Flutterwave transfer recipient", gateway=self.name, http_status=None)
        body: dict[str, Any] = {
            "account_bank": bank_code,
            "account_number": account_number,
            "amount": Money(amount, currency).to_major(),
            "currency": currency,
            "debit_currency": currency,
            "reference": reference,
            "narration": (reason or DEFAULT_NARRATION)[:100],
        }
        data = self._call("POST", "/transfers", _Transfer, body=body, operation="initiate_transfer")
        return self._transfer(data)

    def verify_transfer(self, reference: str) -> TransferResult:
        """The transfer with our ``reference``, looked up in ``GET /transfers?reference=``.

        The reference filter is not in Flutterwave's v3 reference (the SDK's list sends it): when an
        answer is not filtered, the pages are read until the reference shows up. ``GatewayNotFound``
        only when every page was read (or the filtered answer is empty); more pages than
        ``MAX_TRANSFER_PAGES`` without it is a ``GatewayApiError``, never "not found": a payout must
        not be given back while its transfer may exist.
        """
        _require(reference, "reference")
        for page in range(1, MAX_TRANSFER_PAGES + 1):
            params = {"reference": reference, "page": str(page)}
            response = self._send("GET", "/transfers", params=params, operation="verify_transfer")
            listed = self._parse(response, _TransferList, operation="verify_transfer")
            for transfer in listed.data:
                if transfer.reference == reference:
                    return self._transfer(transfer)
            if not listed.data or page >= listed.meta.page_info.total_pages:
                raise GatewayNotFound("Transfer not found", gateway=self.name, http_status=response.status_code)
        logger.warning("transfer not found in the pages read", gateway=self.name, reference=reference)
        raise GatewayApiError("transfer list not filtered by reference", gateway=self.name, http_status=None)

    def _transfer(self, data: _Transfer) -> TransferResult:
        status = data.status.strip().upper()
        mapped = _TRANSFER_STATUSES.get(status, "pending")
        return TransferResult(
            gateway=self.name,
            reference=data.reference,
            transfer_code=str(data.id),
            status=mapped,
            gateway_status=data.status,
            amount=self._exact(data.amount, data.currency, "transfer"),
            currency=data.currency,
            reason=data.narration,
            failure_reason=data.complete_message if mapped == "failed" else None,
            # Flutterwave holds a transfer that needs a second approver (its dashboard), as Paystack's OTP does.
            requires_otp=bool(data.requires_approval) and not bool(data.is_approved),
            transferred_at=None,
        )

    # --- transport --------------------------------------------------------------------

    def _exact(self, major: Decimal, currency: str, operation: str) -> int:
        try:
            return Money.from_major(major, currency).amount
        except ValueError as exc:
            logger.warning("gateway amount finer than the minor unit", gateway=self.name, operation=operation)
            raise GatewayApiError("unusable amount", gateway=self.name, http_status=None) from exc

    def _call(
        self,
        method: str,
        path: str,
        model: type[ModelT],
        *,
        operation: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> ModelT:
        response = self._send(method, path, body=body, params=params, operation=operation)
        envelope_model: type[_Envelope[ModelT]] = _Envelope[model]  # type: ignore[valid-type]  # parametrised at runtime
        return self._parse(response, envelope_model, operation=operation).data

    def _send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        headers = {"Content-Type": "application/json"} if body is not None else None
        data = encode_json(body).encode("utf-8") if body is not None else None
        try:
            response = self._session.request(
                method, self._base_url + path, data=data, headers=headers, params=params, timeout=self._timeout
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
            gateway_message=message,
        )
        lowered = message.strip().lower()
        not_found = response.status_code == 404 or (
            operation in _LOOKUPS and any(words in lowered for words in _NOT_FOUND_WORDS)
        )
        error_class = GatewayNotFound if not_found else GatewayApiError
        return error_class(message, gateway=self.name, http_status=response.status_code)

    def _parse(self, response: requests.Response, model: type[ModelT], *, operation: str) -> ModelT:
        try:
            # Decimal for every JSON number with a fraction: pydantic alone would read them through a float.
            parsed = model.model_validate(json.loads(response.content, parse_float=Decimal))
        except (ValueError, ValidationError) as exc:
            logger.warning("gateway answer unusable", gateway=self.name, operation=operation)
            raise GatewayApiError("unusable answer", gateway=self.name, http_status=response.status_code) from exc
        return parsed


def encode_json(value: Any) -> str:
    """Compact JSON in which a ``Decimal`` is written as its exact number (``Decimal("1500.50")`` -> ``1500.50``)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("amounts are finite")
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(key))}:{encode_json(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode_json(item) for item in value) + "]"
    return json.dumps(value, separators=(",", ":"))


def _rounded(major: Decimal, currency: str) -> int:
    """A fee in minor units, half up (Flutterwave reports some fees with 3 decimals)."""
    return int(major.scaleb(minor_unit_exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _segment(value: str) -> str:
    return quote(value, safe="")


def _require(value: str, what: str) -> None:
    if not value:
        raise ValueError(f"{what} must not be empty")
