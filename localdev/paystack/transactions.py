"""Transactions and their checkout outcomes: ``POST /transaction/initialize``, ``GET /transaction/verify/{ref}``,
and the pay / decline / abandon controls behind the checkout page.

An initialized, unpaid transaction verifies as ``abandoned`` (unconfirmed as Paystack's real behaviour).
Pay -> ``success``, ``paid_at``, ``gateway_response: "Successful"``, ``fees`` (``fee_bps`` of the paid
amount, half-up, + ``fee_flat``, capped at ``fee_cap``), then ``charge.success``. Decline -> ``failed``,
``"Declined"``, no webhook (Paystack sends none for failed charges). A declined or abandoned transaction
can still be paid (a buyer retrying on the same reference); a paid one cannot be paid again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localdev.paystack.common import CURRENCIES, DOMAIN, MAX_AMOUNT, Book, Context, PaystackError, bad_request
from localdev.paystack.formats import maybe_time, parse_amount, paystack_time, random_code, text

_REFERENCE = re.compile(r"^[A-Za-z0-9.=-]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COMPLETED = frozenset({"success", "reversed"})


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

    def _log(self) -> dict[str, Any] | None:
        if self.status not in {"success", "failed", "reversed"}:
            return None
        failed = self.status == "failed"
        return {
            "start_time": int(self.created_at.timestamp()),
            "time_spent": 4,
            "attempts": 1,
            "errors": 1 if failed else 0,
            "success": not failed,
            "mobile": False,
            "input": [],
            "history": [
                {"type": "action", "message": "Attempted to pay with card", "time": 3},
                {
                    "type": "error" if failed else "success",
                    "message": "Declined" if failed else "Successfully paid with card",
                    "time": 4,
                },
            ],
        }

    def shape(self) -> dict[str, Any]:
        """The ``data`` of ``GET /transaction/verify/{reference}`` (and of ``charge.success``)."""
        paid_at = maybe_time(self.paid_at)
        created = paystack_time(self.created_at)
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
            "log": self._log(),
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


def _test_card() -> dict[str, Any]:
    return {
        "authorization_code": "AUTH_" + random_code(10),
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
        "signature": "SIG_" + random_code(20),
        "account_name": None,
    }


class Transactions(Book):
    """Every transaction, by reference, access code and id."""

    def __init__(self, ctx: Context, *, public_url: str) -> None:
        self._public_url = public_url.rstrip("/")
        super().__init__(ctx)

    def reset(self) -> None:
        self.by_reference: dict[str, Transaction] = {}
        self._by_code: dict[str, Transaction] = {}
        self._by_id: dict[int, Transaction] = {}
        self._customers: dict[str, Customer] = {}

    def initialize(self, body: Mapping[str, Any]) -> dict[str, Any]:
        email = text(body, "email")
        if not email:
            raise bad_request("Email is not allowed to be empty")
        if not _EMAIL.match(email):
            raise bad_request("Invalid Email Address Passed")
        if body.get("amount") in (None, ""):
            raise bad_request("Amount is required")
        amount = parse_amount(body.get("amount"), "Invalid Amount Sent")
        if amount > MAX_AMOUNT:
            raise bad_request("Transaction amount limit exceeded")
        currency = (text(body, "currency") or "NGN").upper()
        if currency not in CURRENCIES:
            raise bad_request("Currency not supported by merchant")
        reference = text(body, "reference")
        if reference and not _REFERENCE.match(reference):
            raise bad_request("Invalid character in transaction reference")
        channels = body.get("channels")
        with self._ctx.lock:
            if reference in self.by_reference:
                raise PaystackError(
                    400,
                    "Duplicate Transaction Reference",
                    code="duplicate_reference",
                    error_type="validation_error",
                    next_step="Ensure that you use a unique reference for every transaction",
                )
            txn = Transaction(
                id=self._ctx.ids.next("transaction"),
                reference=reference or random_code(10),
                access_code=random_code(15),
                customer=self._customer(email),
                amount=amount,
                currency=currency,
                created_at=self._ctx.clock(),
                callback_url=text(body, "callback_url") or None,
                metadata=body.get("metadata"),
                channels=channels if isinstance(channels, list) else None,
            )
            self.by_reference[txn.reference] = txn
            self._by_code[txn.access_code] = txn
            self._by_id[txn.id] = txn
            return {
                "authorization_url": f"{self._public_url}/checkout/{txn.access_code}",
                "access_code": txn.access_code,
                "reference": txn.reference,
            }

    def _customer(self, email: str) -> Customer:
        customer = self._customers.get(email.lower())
        if customer is None:
            customer = Customer(self._ctx.ids.next("customer"), email, "CUS_" + random_code(15))
            self._customers[email.lower()] = customer
        return customer

    def get(self, reference: str) -> Transaction:
        with self._ctx.lock:
            txn = self.by_reference.get(reference)
            if txn is None:
                raise PaystackError(self._ctx.config.unknown_reference_status, "Transaction reference not found")
            return txn

    def find(self, key: str) -> Transaction | None:
        """A transaction by reference, or by id (as ``POST /refund`` and ``GET /refund`` name it)."""
        with self._ctx.lock:
            txn = self.by_reference.get(key)
            if txn is None and key.isdigit():
                txn = self._by_id.get(int(key))
            return txn

    def by_access_code(self, access_code: str) -> Transaction | None:
        with self._ctx.lock:
            return self._by_code.get(access_code)

    def verify(self, reference: str) -> dict[str, Any]:
        with self._ctx.lock:
            return self.get(reference).shape()

    def _open(self, reference: str) -> Transaction:
        txn = self.get(reference)
        if txn.status in _COMPLETED:
            raise PaystackError(409, "Transaction has already been completed")
        return txn

    def pay(
        self, reference: str, *, amount: Any = None, currency: Any = None, send_webhook: bool = True
    ) -> dict[str, Any]:
        with self._ctx.lock:
            txn = self._open(reference)
            paid_amount = txn.amount if amount in (None, "") else parse_amount(amount, "Invalid Amount Sent")
            paid_currency = txn.currency if currency in (None, "") else str(currency).upper()
            if paid_currency not in CURRENCIES:
                raise bad_request("Currency not supported by merchant")
            txn.status = "success"
            txn.paid_amount = paid_amount
            txn.paid_currency = paid_currency
            txn.paid_at = self._ctx.clock()
            txn.fees = self._fees(paid_amount)
            txn.gateway_response = "Successful"
            txn.authorization = _test_card()
            data = txn.shape()
            if send_webhook:
                self._ctx.emit("charge.success", data, subject="transaction", reference=txn.reference)
            return data

    def decline(self, reference: str) -> dict[str, Any]:
        with self._ctx.lock:
            txn = self._open(reference)
            txn.status = "failed"
            txn.gateway_response = "Declined"
            txn.paid_at = None
            return txn.shape()  # Paystack sends no webhook for a failed charge

    def abandon(self, reference: str) -> dict[str, Any]:
        with self._ctx.lock:
            txn = self._open(reference)
            txn.status = "abandoned"
            txn.gateway_response = "The transaction was not completed"
            return txn.shape()

    def charge_event_data(self, reference: str) -> dict[str, Any]:
        """A ``charge.success`` body for ``reference`` as if paid in full, without paying it (forged webhooks)."""
        with self._ctx.lock:
            txn = self.get(reference)
            data = txn.shape()
            now = paystack_time(self._ctx.clock())
            data.update(status="success", gateway_response="Successful", paid_at=now, paidAt=now)
            data["amount"] = txn.amount
            data["currency"] = txn.currency
            return data

    def summaries(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """What the emulator captured, oldest first (``?status=`` as verify reports it, ``?currency=`` charged):
        the inspection a fault-storm test sums its money against."""
        status = (query.get("status") or "").strip().lower()
        currency = (query.get("currency") or "").strip().upper()
        with self._ctx.lock:
            return [
                {
                    "reference": txn.reference,
                    "id": txn.id,
                    "status": txn.public_status,
                    "amount": txn.charged_amount,
                    "currency": txn.charged_currency,
                    "requested_amount": txn.amount,
                    "requested_currency": txn.currency,
                    "refunded_amount": txn.refunded_amount,
                    "paid_at": maybe_time(txn.paid_at),
                }
                for txn in sorted(self.by_reference.values(), key=lambda item: item.id)
                if (not status or txn.public_status == status) and (not currency or txn.charged_currency == currency)
            ]

    def _fees(self, amount: int) -> int:
        config = self._ctx.config
        fee = (amount * config.fee_bps + 5_000) // 10_000 + config.fee_flat
        if config.fee_cap is not None:
            fee = min(fee, config.fee_cap)
        return min(fee, amount)
