"""The emulator's memory: transactions, refunds, recipients and transfers, and their Paystack JSON shapes.

Every public method of ``Store`` takes the store's lock, so the threaded server can call
it from any request thread. Webhooks are handed to ``emit`` (which serialises and queues
them; it never sends inside the caller) and delayed work to ``schedule``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

DOMAIN = "test"
INTEGRATION_ID = 100_001
BUSINESS_NAME = "Marketplace (local Paystack emulator)"
CURRENCIES = ("NGN", "GHS", "KES", "ZAR", "USD")
MAX_AMOUNT = 10_000_000 * 100  # Paystack's per-transaction limit, in minor units
UNRESOLVABLE_ACCOUNT = "0000000000"
TEST_OTP = "123456"
RECIPIENT_TYPES = {"nuban", "ghipss", "mobile_money", "kepss", "basa", "authorization"}
TRANSFER_OUTCOMES = ("success", "failed", "pending")

_REFERENCE = re.compile(r"^[A-Za-z0-9.=-]+$")
_TRANSFER_REFERENCE = re.compile(r"^[a-z0-9_-]{1,100}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CODE_ALPHABET = string.ascii_lowercase + string.digits

Emit = Callable[..., object]
Schedule = Callable[[float, Callable[[], None]], None]
Clock = Callable[[], datetime]


class PaystackError(Exception):
    """An answer in Paystack's error envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        error_type: str | None = None,
        next_step: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.error_type = error_type
        self.next_step = next_step

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": False, "message": self.message}
        if self.next_step:
            body["meta"] = {"nextStep": self.next_step}
        if self.error_type:
            body["type"] = self.error_type
        if self.code:
            body["code"] = self.code
        return body


def _bad_request(message: str) -> PaystackError:
    return PaystackError(400, message, error_type="validation_error")


@dataclass(frozen=True)
class BankFixture:
    id: int
    name: str
    slug: str
    code: str
    longcode: str
    currency: str = "NGN"
    country: str = "Nigeria"
    type: str = "nuban"

    def shape(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "slug": self.slug,
            "code": self.code,
            "longcode": self.longcode,
            "gateway": None,
            "pay_with_bank": False,
            "supports_transfer": True,
            "active": True,
            "is_deleted": False,
            "country": self.country,
            "currency": self.currency,
            "type": self.type,
            "createdAt": "2016-07-14T10:04:29.000Z",
            "updatedAt": "2024-01-10T12:00:00.000Z",
        }


BANKS = (
    BankFixture(1, "Access Bank", "access-bank", "044", "044150149"),
    BankFixture(7, "First Bank of Nigeria", "first-bank-of-nigeria", "011", "011151003"),
    BankFixture(9, "Guaranty Trust Bank", "guaranty-trust-bank", "058", "058152036"),
)
_BANKS_BY_CODE = {bank.code: bank for bank in BANKS}
_COUNTRIES = {"nigeria": "NGN", "ghana": "GHS", "kenya": "KES", "south africa": "ZAR"}

_FIRST_NAMES = ("ADAEZE", "BOLA", "CHINEDU", "DAMILOLA", "EMEKA", "FOLAKE", "IBRAHIM", "KEMI", "NGOZI", "TUNDE")
_LAST_NAMES = ("ADEYEMI", "BELLO", "EZE", "MUSA", "NWOSU", "OKAFOR", "OGUNDIPE", "YUSUF")


def account_name(bank_code: str, account_number: str) -> str:
    """The same name for the same account, every run."""
    digest = hashlib.sha256(f"{bank_code}:{account_number}".encode()).digest()
    return f"{_FIRST_NAMES[digest[0] % len(_FIRST_NAMES)]} {_LAST_NAMES[digest[1] % len(_LAST_NAMES)]}"


@dataclass
class EmulatorConfig:
    """Knobs of the emulator; all can be changed at run time through ``POST /_emulator/config``."""

    fee_bps: int = 150
    """Paystack's fee reported by verify: ``fee_bps`` of the paid amount (half-up) + ``fee_flat``, capped."""
    fee_flat: int = 0
    fee_cap: int | None = 200_000
    auto_process_refunds: bool = True
    """Refunds become ``processed`` (and ``refund.processed`` is sent) ``refund_delay_seconds`` after creation.
    Off: they stay ``pending`` until ``POST /_emulator/refunds/{id}/process`` or ``/fail``."""
    refund_delay_seconds: float = 0.2
    send_refund_pending_webhook: bool = True
    refund_webhook_amount_as_string: bool = False
    """Some Paystack samples carry the refund amount as a string; turn on to exercise a consumer with it."""
    transfer_outcome: str = "success"
    """``success`` (test transfers always succeed), ``failed`` (settles failed after the delay) or ``pending``."""
    transfer_settle_delay_seconds: float = 0.0
    transfers_require_otp: bool = False
    webhook_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    """Seconds before each retry of a delivery not answered 200 (Paystack test mode: hourly for 10 h)."""
    webhook_timeout_seconds: float = 10.0
    fault_timeout_seconds: float = 5.0
    """How long a ``timeout`` fault holds the answer (longer than the client's timeout)."""
    unknown_reference_status: int = 404

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes``; unknown names or values of the wrong type raise ``PaystackError`` (400)."""
        known = {item.name: item for item in dataclasses.fields(self)}
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise _bad_request(f"Unknown emulator setting: {name}")
            checked[name] = _coerce_setting(name, getattr(self, name), value)
        if checked.get("transfer_outcome", self.transfer_outcome) not in TRANSFER_OUTCOMES:
            raise _bad_request(f"transfer_outcome must be one of {', '.join(TRANSFER_OUTCOMES)}")
        for name, value in checked.items():
            setattr(self, name, value)

    def restore(self, other: EmulatorConfig) -> None:
        for item in dataclasses.fields(self):
            setattr(self, item.name, getattr(other, item.name))

    def shape(self) -> dict[str, Any]:
        return {item.name: _jsonable(getattr(self, item.name)) for item in dataclasses.fields(self)}


def _coerce_setting(name: str, current: Any, value: Any) -> Any:
    if name == "fee_cap" and value is None:
        return None
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(current, tuple):
        if isinstance(value, list | tuple) and all(_is_number(item) for item in value):
            return tuple(float(item) for item in value)
    elif isinstance(current, float):
        if _is_number(value):
            return float(value)
    elif isinstance(current, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(current, str) and isinstance(value, str):
        return value
    raise _bad_request(f"Invalid value for emulator setting {name}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def paystack_time(moment: datetime) -> str:
    """Paystack's time format: ``2022-08-09T14:21:32.000Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".000Z"


def _maybe_time(moment: datetime | None) -> str | None:
    return paystack_time(moment) if moment else None


def _random_code(length: int) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def _amount(value: Any, message: str) -> int:
    """Paystack takes integer subunits, as a number or a string of digits; never a fraction."""
    if isinstance(value, bool):
        raise _bad_request(message)
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str) and value.strip().isdigit():
        amount = int(value.strip())
    else:
        raise _bad_request(message)
    if amount <= 0:
        raise _bad_request(message)
    return amount


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


@dataclass
class Customer:
    id: int
    email: str
    code: str

    def shape(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_name": None,
            "last_name": None,
            "email": self.email,
            "customer_code": self.code,
            "phone": None,
            "metadata": None,
            "risk_action": "default",
            "international_format_phone": None,
        }


@dataclass
class Transaction:
    id: int
    reference: str
    access_code: str
    customer: Customer
    amount: int
    currency: str
    created_at: datetime
    callback_url: str | None = None
    metadata: Any = None
    channels: list[str] | None = None
    status: str = "initialized"  # initialized | abandoned | failed | success | reversed
    paid_amount: int | None = None
    paid_currency: str | None = None
    paid_at: datetime | None = None
    fees: int | None = None
    gateway_response: str = "The transaction was not completed"
    authorization: dict[str, Any] = field(default_factory=dict)
    refunded_amount: int = 0  # processed refunds

    @property
    def public_status(self) -> str:
        return "abandoned" if self.status == "initialized" else self.status

    @property
    def charged_amount(self) -> int:
        return self.paid_amount if self.paid_amount is not None else self.amount

    @property
    def charged_currency(self) -> str:
        return self.paid_currency or self.currency

    @property
    def cancel_action(self) -> str | None:
        if isinstance(self.metadata, dict):
            value = self.metadata.get("cancel_action")
            return value if isinstance(value, str) and value else None
        return None

    def shape(self) -> dict[str, Any]:
        """The ``data`` of ``GET /transaction/verify/{reference}`` (and of ``charge.success``)."""
        paid_at = _maybe_time(self.paid_at)
        created = paystack_time(self.created_at)
        log: dict[str, Any] | None = None
        if self.status in {"success", "failed", "reversed"}:
            outcome = "Successfully paid with card" if self.status != "failed" else "Declined"
            log = {
                "start_time": int(self.created_at.timestamp()),
                "time_spent": 4,
                "attempts": 1,
                "errors": 0 if self.status != "failed" else 1,
                "success": self.status != "failed",
                "mobile": False,
                "input": [],
                "history": [
                    {"type": "action", "message": "Attempted to pay with card", "time": 3},
                    {"type": "success" if self.status != "failed" else "error", "message": outcome, "time": 4},
                ],
            }
        return {
            "id": self.id,
            "domain": DOMAIN,
            "status": self.public_status,
            "reference": self.reference,
            "receipt_number": None,
            "amount": self.charged_amount,
            "message": None,
            "gateway_response": self.gateway_response,
            "paid_at": paid_at,
            "created_at": created,
            "channel": "card",
            "currency": self.charged_currency,
            "ip_address": "127.0.0.1" if self.status != "initialized" else None,
            "metadata": self.metadata if self.metadata is not None else "",
            "log": log,
            "fees": self.fees,
            "fees_split": None,
            "authorization": dict(self.authorization),
            "customer": self.customer.shape(),
            "plan": None,
            "split": {},
            "order_id": None,
            "paidAt": paid_at,
            "createdAt": created,
            "requested_amount": self.amount,
            "pos_transaction_data": None,
            "source": None,
            "fees_breakdown": None,
            "connect": None,
            "transaction_date": created,
            "plan_object": {},
            "subaccount": {},
        }


@dataclass
class Refund:
    id: int
    transaction: Transaction
    amount: int
    currency: str
    created_at: datetime
    customer_note: str
    merchant_note: str
    status: str = "pending"  # pending | processed | failed
    updated_at: datetime | None = None
    refunded_at: datetime | None = None
    refund_reference: str | None = None

    def created_shape(self) -> dict[str, Any]:
        """The ``data`` of ``POST /refund``."""
        txn = self.transaction
        return {
            "transaction": {
                "id": txn.id,
                "domain": DOMAIN,
                "reference": txn.reference,
                "amount": txn.charged_amount,
                "paid_at": _maybe_time(txn.paid_at),
                "channel": "card",
                "currency": txn.charged_currency,
                "authorization": {"exp_month": None, "exp_year": None, "account_name": None},
                "customer": {"international_format_phone": None},
                "plan": {},
                "subaccount": {"currency": None},
                "split": {},
                "order_id": None,
                "paidAt": _maybe_time(txn.paid_at),
                "pos_transaction_data": None,
                "source": None,
                "fees_breakdown": None,
            },
            "integration": INTEGRATION_ID,
            "deducted_amount": self.amount,
            "channel": None,
            "merchant_note": self.merchant_note,
            "customer_note": self.customer_note,
            "status": self.status,
            "refunded_by": "emulator@marketplace.local",
            "expected_at": paystack_time(self.created_at + timedelta(days=10)),
            "currency": self.currency,
            "domain": DOMAIN,
            "amount": self.amount,
            "fully_deducted": True,
            "id": self.id,
            "createdAt": paystack_time(self.created_at),
            "updatedAt": paystack_time(self.updated_at or self.created_at),
        }

    def shape(self) -> dict[str, Any]:
        """The ``data`` of ``GET /refund/{id}``."""
        txn = self.transaction
        return {
            "integration": INTEGRATION_ID,
            "transaction": txn.id,
            "dispute": None,
            "settlement": None,
            "id": self.id,
            "domain": DOMAIN,
            "currency": self.currency,
            "amount": self.amount,
            "status": self.status,
            "refunded_at": _maybe_time(self.refunded_at),
            "refunded_by": "emulator@marketplace.local",
            "customer_note": self.customer_note,
            "merchant_note": self.merchant_note,
            "deducted_amount": self.amount,
            "fully_deducted": 1,
            "createdAt": paystack_time(self.created_at),
            "bank_reference": None,
            "transaction_reference": txn.reference,
            "reason": self.merchant_note,
            "customer": txn.customer.shape(),
            "refund_type": "full" if self.amount == txn.charged_amount else "partial",
            "transaction_amount": txn.charged_amount,
            "initiated_by": "api",
            "refund_channel": "card",
            "session_id": None,
            "collect_account_number": False,
        }

    def event_shape(self, *, amount_as_string: bool) -> dict[str, Any]:
        """The ``data`` of ``refund.pending|processed|failed`` webhooks (no refund id, as Paystack's samples)."""
        customer = self.transaction.customer
        return {
            "status": self.status,
            "transaction_reference": self.transaction.reference,
            "refund_reference": self.refund_reference,
            "amount": str(self.amount) if amount_as_string else self.amount,
            "currency": self.currency,
            "processor": "mastercard",
            "customer": {"first_name": None, "last_name": None, "email": customer.email},
            "integration": INTEGRATION_ID,
            "domain": DOMAIN,
        }


@dataclass
class Recipient:
    id: int
    code: str
    type: str
    name: str
    account_number: str
    account_name: str
    bank: BankFixture
    currency: str
    created_at: datetime

    def shape(self) -> dict[str, Any]:
        created = paystack_time(self.created_at)
        return {
            "active": True,
            "createdAt": created,
            "currency": self.currency,
            "description": "",
            "domain": DOMAIN,
            "email": None,
            "id": self.id,
            "integration": INTEGRATION_ID,
            "metadata": None,
            "name": self.name,
            "recipient_code": self.code,
            "type": self.type,
            "updatedAt": created,
            "is_deleted": False,
            "isDeleted": False,
            "details": {
                "authorization_code": None,
                "account_number": self.account_number,
                "account_name": self.account_name,
                "bank_code": self.bank.code,
                "bank_name": self.bank.name,
            },
        }


@dataclass
class Transfer:
    id: int
    code: str
    reference: str
    amount: int
    currency: str
    recipient: Recipient
    reason: str
    created_at: datetime
    status: str = "pending"  # pending | otp | success | failed | reversed
    updated_at: datetime | None = None
    transferred_at: datetime | None = None
    failures: str | None = None

    def _common(self) -> dict[str, Any]:
        return {
            "amount": self.amount,
            "createdAt": paystack_time(self.created_at),
            "currency": self.currency,
            "domain": DOMAIN,
            "failures": self.failures,
            "id": self.id,
            "reason": self.reason,
            "reference": self.reference,
            "source": "balance",
            "source_details": None,
            "status": self.status,
            "titan_code": None,
            "transfer_code": self.code,
            "transferred_at": _maybe_time(self.transferred_at),
            "updatedAt": paystack_time(self.updated_at or self.created_at),
        }

    def initiated_shape(self) -> dict[str, Any]:
        """The ``data`` of ``POST /transfer`` (the recipient as its integer id)."""
        return {
            "transfersessionid": [],
            "transfertrials": [],
            **self._common(),
            "integration": INTEGRATION_ID,
            "request": self.id + 500_000_000,
            "recipient": self.recipient.id,
        }

    def shape(self) -> dict[str, Any]:
        """The ``data`` of ``GET /transfer/verify/{reference}`` (the recipient expanded)."""
        return {
            **self._common(),
            "integration": INTEGRATION_ID,
            "request": self.id + 500_000_000,
            "recipient": self.recipient.shape(),
            "session": {"provider": None, "id": None},
            "fee_charged": 0,
            "fees_breakdown": None,
            "gateway_response": None,
        }

    def event_shape(self) -> dict[str, Any]:
        """The ``data`` of ``transfer.success|failed|reversed`` webhooks."""
        return {
            **self.shape(),
            "integration": {"id": INTEGRATION_ID, "is_live": False, "business_name": BUSINESS_NAME, "logo_path": None},
        }


class Store:
    """All emulator state behind one lock."""

    def __init__(
        self, *, config: EmulatorConfig, clock: Clock, emit: Emit, schedule: Schedule, public_url: str
    ) -> None:
        self.lock = threading.RLock()
        self.config = config
        self._clock = clock
        self._emit = emit
        self._schedule = schedule
        self._public_url = public_url.rstrip("/")
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.transactions: dict[str, Transaction] = {}
            self._transactions_by_code: dict[str, Transaction] = {}
            self._transactions_by_id: dict[int, Transaction] = {}
            self._customers: dict[str, Customer] = {}
            self.refunds: dict[int, Refund] = {}
            self._recipients: dict[str, Recipient] = {}
            self._recipients_by_account: dict[tuple[str, str, str], Recipient] = {}
            self.transfers: dict[str, Transfer] = {}
            self._transfers_by_code: dict[str, Transfer] = {}
            self._otp_references: set[str] = set()
            self._failing_references: dict[str, str] = {}
            self._ids = {"transaction": 4_000_000_000, "customer": 90_000_000, "refund": 12_000_000}
            self._ids.update({"recipient": 56_000_000, "transfer": 860_000_000})

    def _next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # --- transactions -----------------------------------------------------------------

    def initialize(self, body: Mapping[str, Any]) -> dict[str, Any]:
        email = _text(body, "email")
        if not email:
            raise _bad_request("Email is not allowed to be empty")
        if not _EMAIL.match(email):
            raise _bad_request("Invalid Email Address Passed")
        if body.get("amount") in (None, ""):
            raise _bad_request("Amount is required")
        amount = _amount(body.get("amount"), "Invalid Amount Sent")
        if amount > MAX_AMOUNT:
            raise _bad_request("Transaction amount limit exceeded")
        currency = (_text(body, "currency") or "NGN").upper()
        if currency not in CURRENCIES:
            raise _bad_request("Currency not supported by merchant")
        reference = _text(body, "reference")
        if reference and not _REFERENCE.match(reference):
            raise _bad_request("Invalid character in transaction reference")
        metadata = body.get("metadata")
        channels = body.get("channels")
        with self.lock:
            if reference in self.transactions:
                raise PaystackError(
                    400,
                    "Duplicate Transaction Reference",
                    code="duplicate_reference",
                    error_type="validation_error",
                    next_step="Ensure that you use a unique reference for every transaction",
                )
            reference = reference or _random_code(10)
            customer = self._customers.get(email.lower())
            if customer is None:
                customer = Customer(self._next_id("customer"), email, "CUS_" + _random_code(15))
                self._customers[email.lower()] = customer
            txn = Transaction(
                id=self._next_id("transaction"),
                reference=reference,
                access_code=_random_code(15),
                customer=customer,
                amount=amount,
                currency=currency,
                created_at=self._clock(),
                callback_url=_text(body, "callback_url") or None,
                metadata=metadata,
                channels=channels if isinstance(channels, list) else None,
            )
            self.transactions[reference] = txn
            self._transactions_by_code[txn.access_code] = txn
            self._transactions_by_id[txn.id] = txn
            return {
                "authorization_url": f"{self._public_url}/checkout/{txn.access_code}",
                "access_code": txn.access_code,
                "reference": reference,
            }

    def transaction(self, reference: str) -> Transaction:
        with self.lock:
            txn = self.transactions.get(reference)
            if txn is None:
                raise PaystackError(self.config.unknown_reference_status, "Transaction reference not found")
            return txn

    def transaction_by_access_code(self, access_code: str) -> Transaction | None:
        with self.lock:
            return self._transactions_by_code.get(access_code)

    def verify(self, reference: str) -> dict[str, Any]:
        with self.lock:
            return self.transaction(reference).shape()

    def pay(
        self, reference: str, *, amount: Any = None, currency: Any = None, send_webhook: bool = True
    ) -> dict[str, Any]:
        with self.lock:
            txn = self.transaction(reference)
            if txn.status in {"success", "reversed"}:
                raise PaystackError(409, "Transaction has already been completed")
            paid_amount = txn.amount if amount in (None, "") else _amount(amount, "Invalid Amount Sent")
            paid_currency = txn.currency if currency in (None, "") else str(currency).upper()
            if paid_currency not in CURRENCIES:
                raise _bad_request("Currency not supported by merchant")
            now = self._clock()
            txn.status = "success"
            txn.paid_amount = paid_amount
            txn.paid_currency = paid_currency
            txn.paid_at = now
            txn.fees = self._fees(paid_amount)
            txn.gateway_response = "Successful"
            txn.authorization = {
                "authorization_code": "AUTH_" + _random_code(10),
                "bin": "408408",
                "last4": "4081",
                "exp_month": "12",
                "exp_year": "2030",
                "channel": "card",
                "card_type": "visa ",
                "bank": "TEST BANK",
                "country_code": "NG",
                "brand": "visa",
                "reusable": True,
                "signature": "SIG_" + _random_code(20),
                "account_name": None,
            }
            data = txn.shape()
            if send_webhook:
                self._emit("charge.success", data, subject="transaction", reference=txn.reference)
            return data

    def decline(self, reference: str) -> dict[str, Any]:
        with self.lock:
            txn = self.transaction(reference)
            if txn.status in {"success", "reversed"}:
                raise PaystackError(409, "Transaction has already been completed")
            txn.status = "failed"
            txn.gateway_response = "Declined"
            txn.paid_at = None
            return txn.shape()  # Paystack sends no webhook for a failed charge

    def abandon(self, reference: str) -> dict[str, Any]:
        with self.lock:
            txn = self.transaction(reference)
            if txn.status in {"success", "reversed"}:
                raise PaystackError(409, "Transaction has already been completed")
            txn.status = "abandoned"
            txn.gateway_response = "The transaction was not completed"
            return txn.shape()

    def charge_event_data(self, reference: str) -> dict[str, Any]:
        """A ``charge.success`` body for ``reference`` as if paid in full, without paying it (forged webhooks)."""
        with self.lock:
            txn = self.transaction(reference)
            data = txn.shape()
            now = paystack_time(self._clock())
            data.update(status="success", gateway_response="Successful", paid_at=now, paidAt=now)
            data["amount"] = txn.amount
            data["currency"] = txn.currency
            return data

    def _fees(self, amount: int) -> int:
        config = self.config
        fee = (amount * config.fee_bps + 5_000) // 10_000 + config.fee_flat
        if config.fee_cap is not None:
            fee = min(fee, config.fee_cap)
        return min(fee, amount)

    # --- refunds ----------------------------------------------------------------------

    def create_refund(self, body: Mapping[str, Any]) -> dict[str, Any]:
        key = _text(body, "transaction")
        if not key:
            raise _bad_request("Transaction reference or id is required")
        with self.lock:
            txn = self.transactions.get(key)
            if txn is None and key.isdigit():
                txn = self._transactions_by_id.get(int(key))
            if txn is None:
                raise PaystackError(404, "Transaction not found")
            if txn.status == "reversed":
                raise _bad_request("Transaction has been fully reversed")
            if txn.status != "success":
                raise _bad_request("Cannot refund a transaction that was not successful")
            committed = sum(
                refund.amount
                for refund in self.refunds.values()
                if refund.transaction is txn and refund.status != "failed"
            )
            refundable = txn.charged_amount - committed
            if refundable <= 0:
                raise _bad_request("Transaction has been fully reversed")
            raw_amount = body.get("amount")
            amount = refundable if raw_amount in (None, "") else _amount(raw_amount, "Invalid amount passed.")
            if amount > refundable:
                raise _bad_request("Refund amount cannot be greater than the transaction amount left to refund")
            currency = (_text(body, "currency") or txn.charged_currency).upper()
            if currency != txn.charged_currency:
                raise _bad_request("Currency does not match the transaction currency")
            now = self._clock()
            refund = Refund(
                id=self._next_id("refund"),
                transaction=txn,
                amount=amount,
                currency=currency,
                created_at=now,
                customer_note=_text(body, "customer_note") or f"Refund for transaction {txn.reference}",
                merchant_note=_text(body, "merchant_note") or f"Refund for transaction {txn.reference}",
            )
            self.refunds[refund.id] = refund
            if self.config.send_refund_pending_webhook:
                self._emit_refund("refund.pending", refund)
            if self.config.auto_process_refunds:
                refund_id = refund.id
                self._schedule(self.config.refund_delay_seconds, lambda: self._auto_process(refund_id))
            return refund.created_shape()

    def refund(self, refund_id: int) -> Refund:
        with self.lock:
            refund = self.refunds.get(refund_id)
            if refund is None:
                raise PaystackError(404, "Refund not found")
            return refund

    def fetch_refund(self, refund_id: int) -> dict[str, Any]:
        with self.lock:
            return self.refund(refund_id).shape()

    def _auto_process(self, refund_id: int) -> None:
        with self.lock:
            refund = self.refunds.get(refund_id)
            if refund is not None and refund.status == "pending":
                self.process_refund(refund_id)

    def process_refund(self, refund_id: int) -> dict[str, Any]:
        with self.lock:
            refund = self.refund(refund_id)
            if refund.status != "pending":
                raise PaystackError(409, f"Refund is already {refund.status}")
            now = self._clock()
            refund.status = "processed"
            refund.updated_at = now
            refund.refunded_at = now
            refund.refund_reference = "RFD" + _random_code(12).upper()
            txn = refund.transaction
            txn.refunded_amount += refund.amount
            if txn.refunded_amount >= txn.charged_amount:
                txn.status = "reversed"
            self._emit_refund("refund.processed", refund)
            return refund.shape()

    def fail_refund(self, refund_id: int) -> dict[str, Any]:
        with self.lock:
            refund = self.refund(refund_id)
            if refund.status != "pending":
                raise PaystackError(409, f"Refund is already {refund.status}")
            refund.status = "failed"
            refund.updated_at = self._clock()
            self._emit_refund("refund.failed", refund)
            return refund.shape()

    def _emit_refund(self, event: str, refund: Refund) -> None:
        data = refund.event_shape(amount_as_string=self.config.refund_webhook_amount_as_string)
        self._emit(event, data, subject="transaction", reference=refund.transaction.reference)

    # --- banks, accounts, recipients --------------------------------------------------

    def banks(self, query: Mapping[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        currency = (query.get("currency") or "").upper()
        country = (query.get("country") or "").lower()
        if country:
            currency = currency or _COUNTRIES.get(country, "-")
        banks = [bank for bank in BANKS if not currency or bank.currency == currency]
        bank_type = query.get("type")
        if bank_type:
            banks = [bank for bank in banks if bank.type == bank_type]
        per_page = int(query["perPage"]) if (query.get("perPage") or "").isdigit() else 50
        per_page = max(1, min(per_page, 100))
        start = int(query["next"]) if (query.get("next") or "").isdigit() else 0
        page = banks[start : start + per_page]
        following = str(start + per_page) if start + per_page < len(banks) else None
        previous = str(max(0, start - per_page)) if start > 0 else None
        return [bank.shape() for bank in page], {"next": following, "previous": previous, "perPage": per_page}

    def resolve(self, query: Mapping[str, str]) -> dict[str, Any]:
        account_number = (query.get("account_number") or "").strip()
        bank_code = (query.get("bank_code") or "").strip()
        if not account_number:
            raise _bad_request("Account number is required")
        if not account_number.isdigit():
            raise _bad_request("Account number should be numeric")
        if not bank_code:
            raise _bad_request("bank_code is required")
        bank = _BANKS_BY_CODE.get(bank_code)
        if bank is None:
            raise _bad_request("Unknown bank code")
        if len(account_number) != 10 or account_number == UNRESOLVABLE_ACCOUNT:
            raise PaystackError(422, "Could not resolve account name. Check parameters or try again.")
        return {
            "account_number": account_number,
            "account_name": account_name(bank_code, account_number),
            "bank_id": bank.id,
        }

    def create_recipient(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        recipient_type = _text(body, "type")
        if not recipient_type:
            raise _bad_request("Recipient type is required")
        if recipient_type not in RECIPIENT_TYPES:
            raise _bad_request("Recipient type is invalid")
        name = _text(body, "name")
        if not name:
            raise _bad_request("Name is required")
        account_number = _text(body, "account_number")
        if not account_number:
            raise _bad_request("Either authorization_code or account_number must be passed.")
        bank_code = _text(body, "bank_code")
        if not bank_code:
            raise _bad_request("bank_code is required")
        bank = _BANKS_BY_CODE.get(bank_code)
        if bank is None:
            raise _bad_request("Unknown bank code")
        currency = (_text(body, "currency") or bank.currency).upper()
        if currency not in CURRENCIES:
            raise _bad_request("Currency not supported by merchant")
        if not account_number.isdigit() or len(account_number) != 10 or account_number == UNRESOLVABLE_ACCOUNT:
            raise _bad_request("Cannot resolve account")
        with self.lock:
            key = (bank_code, account_number, currency)
            existing = self._recipients_by_account.get(key)
            if existing is not None:
                return 200, existing.shape()
            recipient = Recipient(
                id=self._next_id("recipient"),
                code="RCP_" + _random_code(15),
                type=recipient_type,
                name=name,
                account_number=account_number,
                account_name=account_name(bank_code, account_number),
                bank=bank,
                currency=currency,
                created_at=self._clock(),
            )
            self._recipients[recipient.code] = recipient
            self._recipients_by_account[key] = recipient
            return 201, recipient.shape()

    # --- transfers --------------------------------------------------------------------

    def initiate_transfer(self, body: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        if _text(body, "source") != "balance":
            raise _bad_request("Invalid transfer source")
        amount = _amount(body.get("amount"), "Invalid amount passed.")
        recipient_code = _text(body, "recipient")
        reference = _text(body, "reference")
        if reference and not _TRANSFER_REFERENCE.match(reference):
            raise _bad_request("Your reference contains illegal special characters")
        with self.lock:
            recipient = self._recipients.get(recipient_code)
            if recipient is None:
                raise PaystackError(
                    400,
                    "Recipient specified is invalid",
                    code="invalid_transfer_recipient",
                    error_type="validation_error",
                    next_step=(
                        "Provide a valid recipient. Ensure you are passing the recipient code in the recipient param"
                    ),
                )
            currency = (_text(body, "currency") or recipient.currency).upper()
            if currency != recipient.currency:
                raise _bad_request("Currency does not match the recipient's currency")
            if reference in self.transfers:
                raise _bad_request("Please provide a unique reference. Reference already exists on a transfer")
            reference = reference or _random_code(16)
            now = self._clock()
            transfer = Transfer(
                id=self._next_id("transfer"),
                code="TRF_" + _random_code(15),
                reference=reference,
                amount=amount,
                currency=currency,
                recipient=recipient,
                reason=_text(body, "reason"),
                created_at=now,
            )
            self.transfers[reference] = transfer
            self._transfers_by_code[transfer.code] = transfer
            if self.config.transfers_require_otp or reference in self._otp_references:
                self._otp_references.discard(reference)
                transfer.status = "otp"
                return "Transfer requires OTP to continue", transfer.initiated_shape()
            self._settle(transfer)
            return "Transfer has been queued", transfer.initiated_shape()

    def finalize_transfer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        code = _text(body, "transfer_code")
        otp = _text(body, "otp")
        with self.lock:
            transfer = self._transfers_by_code.get(code)
            if transfer is None:
                raise _bad_request("Transfer ID/code specified is invalid.")
            if transfer.status != "otp":
                raise _bad_request("Transfer is not currently awaiting OTP")
            if otp != TEST_OTP:
                raise _bad_request("Invalid OTP")
            transfer.status = "pending"
            self._settle(transfer)
            return transfer.initiated_shape()

    def _settle(self, transfer: Transfer) -> None:
        """Apply the configured outcome: success at once (test mode), failure after the delay, or wait."""
        outcome = "failed" if transfer.reference in self._failing_references else self.config.transfer_outcome
        if outcome == "success":
            self._complete_transfer(transfer)
        elif outcome == "failed":
            reason = self._failing_references.pop(transfer.reference, "Account closed")
            reference = transfer.reference
            self._schedule(self.config.transfer_settle_delay_seconds, lambda: self._fail_if_pending(reference, reason))

    def _complete_transfer(self, transfer: Transfer) -> None:
        now = self._clock()
        transfer.status = "success"
        transfer.transferred_at = now
        transfer.updated_at = now
        self._emit("transfer.success", transfer.event_shape(), subject="transfer", reference=transfer.reference)

    def _fail_if_pending(self, reference: str, reason: str) -> None:
        with self.lock:
            transfer = self.transfers.get(reference)
            if transfer is not None and transfer.status in {"pending", "otp"}:
                self._fail(transfer, reason)

    def _fail(self, transfer: Transfer, reason: str) -> None:
        transfer.status = "failed"
        transfer.failures = reason
        transfer.updated_at = self._clock()
        self._emit("transfer.failed", transfer.event_shape(), subject="transfer", reference=transfer.reference)

    def transfer(self, reference: str) -> Transfer:
        with self.lock:
            transfer = self.transfers.get(reference)
            if transfer is None:
                raise PaystackError(404, "Transfer not found")
            return transfer

    def verify_transfer(self, reference: str) -> dict[str, Any]:
        with self.lock:
            return self.transfer(reference).shape()

    def fail_transfer(self, reference: str, reason: str | None) -> tuple[bool, dict[str, Any] | None]:
        """Fail a pending transfer now, or mark a future reference to fail. Returns (existed, data)."""
        reason = reason or "Account closed"
        with self.lock:
            transfer = self.transfers.get(reference)
            if transfer is None:
                self._failing_references[reference] = reason
                return False, None
            if transfer.status not in {"pending", "otp"}:
                raise PaystackError(409, f"Transfer is already {transfer.status}; reverse a successful one")
            self._fail(transfer, reason)
            return True, transfer.shape()

    def reverse_transfer(self, reference: str) -> dict[str, Any]:
        with self.lock:
            transfer = self.transfer(reference)
            if transfer.status != "success":
                raise PaystackError(409, f"Only a successful transfer can be reversed; this one is {transfer.status}")
            transfer.status = "reversed"
            transfer.updated_at = self._clock()
            self._emit("transfer.reversed", transfer.event_shape(), subject="transfer", reference=reference)
            return transfer.shape()

    def succeed_transfer(self, reference: str) -> dict[str, Any]:
        with self.lock:
            transfer = self.transfer(reference)
            if transfer.status not in {"pending", "otp"}:
                raise PaystackError(409, f"Transfer is already {transfer.status}")
            self._complete_transfer(transfer)
            return transfer.shape()

    def require_otp(self, reference: str) -> tuple[bool, dict[str, Any] | None]:
        """Hold a pending transfer for an OTP, or mark a future reference to need one."""
        with self.lock:
            transfer = self.transfers.get(reference)
            if transfer is None:
                self._otp_references.add(reference)
                return False, None
            if transfer.status not in {"pending", "otp"}:
                raise PaystackError(409, f"Transfer is already {transfer.status}")
            transfer.status = "otp"
            transfer.updated_at = self._clock()
            return True, transfer.shape()
