"""Hosted payments (``POST /v3/payments``) and the transactions a buyer's attempts create.

A ``Payment`` is what ``POST /v3/payments`` makes: a hosted link for one ``tx_ref``. It is not a
transaction yet: Flutterwave creates one per attempt on its page. Each attempt here is a
``Transaction`` with its own integer ``id`` and ``flw_ref``: Pay makes a ``successful`` one,
Decline a ``failed`` one (both sent as ``charge.completed``), ``/pending`` a ``pending`` one
(which a later Pay or Decline settles, keeping its id). After a failed attempt the buyer may pay
again (a new attempt, a new id); after a successful one the payment is closed.

``verify_by_reference`` answers the successful attempt of that ``tx_ref`` if there is one, else
the latest; before any attempt it answers "No transaction was found for this id", as verify does
for an unknown id.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localdev.flutterwave.config import (
    ACCOUNT_ID,
    Clock,
    Emit,
    EmulatorConfig,
    FlutterwaveError,
    Ids,
    bad_request,
    flw_time,
    random_code,
    text,
)
from localdev.flutterwave.money import CURRENCIES, AmountError, percent_of, to_major, to_minor

NOT_FOUND = "No transaction was found for this id"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class Customer:
    id: int
    email: str
    name: str | None
    phone_number: str | None
    created_at: datetime

    def shape(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name or "Anonymous customer",
            "phone_number": self.phone_number,
            "email": self.email,
            "created_at": flw_time(self.created_at),
        }


@dataclass
class Payment:
    """A hosted link for one ``tx_ref``, and the attempts made on it."""

    tx_ref: str
    link_id: str
    amount: int  # minor units
    currency: str
    redirect_url: str
    customer: Customer
    customizations: dict[str, Any] | None
    meta: dict[str, Any] | None
    payment_options: str | None
    created_at: datetime
    attempts: list[Transaction] = field(default_factory=list)

    @property
    def successful(self) -> Transaction | None:
        return next((txn for txn in self.attempts if txn.status == "successful"), None)

    @property
    def pending(self) -> Transaction | None:
        return next((txn for txn in self.attempts if txn.status == "pending"), None)

    @property
    def current(self) -> Transaction | None:
        """What ``verify_by_reference`` answers: the successful attempt, else the latest."""
        return self.successful or (self.attempts[-1] if self.attempts else None)

    @property
    def state(self) -> str:
        current = self.current
        return current.status if current else "initialized"

    def shape(self) -> dict[str, Any]:
        """``GET /_emulator/transactions/{tx_ref}`` (an emulator view, not a Flutterwave shape)."""
        return {
            "tx_ref": self.tx_ref,
            "amount": to_major(self.amount, self.currency),
            "currency": self.currency,
            "redirect_url": self.redirect_url,
            "customer": self.customer.shape(),
            "customizations": self.customizations,
            "meta": self.meta,
            "status": self.state,
            "created_at": flw_time(self.created_at),
            "attempts": [txn.shape() for txn in self.attempts],
        }


@dataclass
class Transaction:
    """One attempt: what verify reports and ``charge.completed`` carries."""

    id: int
    payment: Payment
    flw_ref: str
    status: str  # pending | successful | failed
    amount: int  # minor units, what was charged (may differ from the payment's: /pay {amount})
    currency: str
    app_fee: int
    created_at: datetime
    processor_response: str

    def _common(self) -> dict[str, Any]:
        payment = self.payment
        return {
            "id": self.id,
            "tx_ref": payment.tx_ref,
            "flw_ref": self.flw_ref,
            "device_fingerprint": "N/A",
            "amount": to_major(self.amount, self.currency),
            "currency": self.currency,
            "charged_amount": to_major(self.amount, self.currency),
            "app_fee": to_major(self.app_fee, self.currency),
            "merchant_fee": 0,
            "processor_response": self.processor_response,
            "auth_model": "PIN" if self.status != "pending" else "AUTH",
            "ip": "127.0.0.1",
            "narration": "CARD Transaction ",
            "status": self.status,
            "payment_type": "card",
            "created_at": flw_time(self.created_at),
            "account_id": ACCOUNT_ID,
        }

    def shape(self) -> dict[str, Any]:
        """The ``data`` of ``GET /v3/transactions/{id}/verify`` and ``/verify_by_reference``."""
        settled = self.amount - self.app_fee if self.status == "successful" else 0
        return {
            **self._common(),
            "amount_settled": to_major(settled, self.currency),
            "card": _CARD,
            "meta": self.payment.meta,
            "customer": self.payment.customer.shape(),
        }

    def event_shape(self) -> dict[str, Any]:
        """The ``data`` of a ``charge.completed`` webhook."""
        return {**self._common(), "customer": self.payment.customer.shape(), "card": _CARD}


_CARD = {
    "first_6digits": "553188",
    "last_4digits": "2950",
    "issuer": "MASTERCARD  CREDIT",
    "country": "NG",
    "type": "MASTERCARD",
    "expiry": "09/32",
}


class Payments:
    """Hosted links and their transactions, behind the emulator's one lock."""

    def __init__(
        self, *, lock: threading.RLock, ids: Ids, config: EmulatorConfig, clock: Clock, emit: Emit, public_url: str
    ) -> None:
        self.lock = lock
        self._ids = ids
        self._config = config
        self._clock = clock
        self._emit = emit
        self._public_url = public_url.rstrip("/")
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self._payments: dict[str, Payment] = {}
            self._by_link: dict[str, Payment] = {}
            self._transactions: dict[int, Transaction] = {}
            self._customers: dict[str, Customer] = {}

    # --- POST /v3/payments ------------------------------------------------------------

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        tx_ref = text(body, "tx_ref")
        if not tx_ref:
            raise bad_request("tx_ref is required")
        currency = (text(body, "currency") or "NGN").upper()
        if currency not in CURRENCIES:
            raise bad_request(f"Invalid currency {currency}")
        if body.get("amount") in (None, ""):
            raise bad_request("amount is required")
        amount = _minor(body.get("amount"), currency)
        redirect_url = text(body, "redirect_url")
        if not redirect_url:
            raise bad_request("redirect_url is required")
        customer = body.get("customer")
        if not isinstance(customer, dict) or not text(customer, "email"):
            raise bad_request("customer.email is required")
        email = text(customer, "email")
        if not _EMAIL.match(email):
            raise bad_request("Invalid email address")
        customizations = _object(body, "customizations")
        meta = _object(body, "meta")
        options = text(body, "payment_options") or None
        with self.lock:
            if tx_ref in self._payments:
                raise bad_request("A payment with this tx_ref already exists")
            now = self._clock()
            payment = Payment(
                tx_ref=tx_ref,
                link_id=random_code(24),
                amount=amount,
                currency=currency,
                redirect_url=redirect_url,
                customer=self._customer(email, customer, now),
                customizations=customizations,
                meta=meta,
                payment_options=options,
                created_at=now,
            )
            self._payments[tx_ref] = payment
            self._by_link[payment.link_id] = payment
            return {"link": f"{self._public_url}/hosted/pay/{payment.link_id}"}

    def _customer(self, email: str, given: Mapping[str, Any], now: datetime) -> Customer:
        customer = self._customers.get(email.lower())
        if customer is None:
            customer = Customer(
                id=self._ids.next("customer"),
                email=email,
                name=text(given, "name") or None,
                phone_number=text(given, "phonenumber") or text(given, "phone_number") or None,
                created_at=now,
            )
            self._customers[email.lower()] = customer
        return customer

    # --- reads -------------------------------------------------------------------------

    def payment(self, tx_ref: str) -> Payment:
        with self.lock:
            payment = self._payments.get(tx_ref)
            if payment is None:
                raise FlutterwaveError(404, "No payment was found for this tx_ref")
            return payment

    def by_link(self, link_id: str) -> Payment | None:
        with self.lock:
            return self._by_link.get(link_id)

    def transaction(self, transaction_id: str | int) -> Transaction:
        with self.lock:
            key = str(transaction_id)
            txn = self._transactions.get(int(key)) if key.isdigit() else None
            if txn is None:
                raise FlutterwaveError(self._config.not_found_status, NOT_FOUND)
            return txn

    def verify(self, transaction_id: str) -> dict[str, Any]:
        with self.lock:
            return self.transaction(transaction_id).shape()

    def verify_by_reference(self, tx_ref: str) -> dict[str, Any]:
        if not tx_ref:
            raise bad_request("tx_ref is required")
        with self.lock:
            payment = self._payments.get(tx_ref)
            current = payment.current if payment else None
            if current is None:
                raise FlutterwaveError(self._config.not_found_status, NOT_FOUND)
            return current.shape()

    # --- the buyer's attempts (control routes and the hosted page) ---------------------

    def pay(self, tx_ref: str, *, amount: Any = None, currency: Any = None, send_webhook: bool = True) -> Transaction:
        """A successful attempt, for the initialized amount or another ``amount``/``currency`` (major units)."""
        with self.lock:
            payment = self._open(tx_ref)
            paid_currency = payment.currency if currency in (None, "") else str(currency).strip().upper()
            if paid_currency not in CURRENCIES:
                raise bad_request(f"Invalid currency {paid_currency}")
            paid = payment.amount if amount in (None, "") else _minor(amount, paid_currency)
            txn = self._attempt(payment, "successful", paid, paid_currency, "Approved")
            txn.app_fee = self._fee(paid)
            if send_webhook:
                self._emit_charge(txn)
            return txn

    def decline(self, tx_ref: str, *, send_webhook: bool = True) -> Transaction:
        with self.lock:
            payment = self._open(tx_ref)
            txn = self._attempt(payment, "failed", payment.amount, payment.currency, "Declined")
            if send_webhook and self._config.send_failed_charge_webhook:
                self._emit_charge(txn)
            return txn

    def hold_pending(self, tx_ref: str) -> Transaction:
        """An attempt awaiting confirmation (bank transfer, USSD...): verify reads ``pending``; no webhook."""
        with self.lock:
            payment = self._open(tx_ref)
            if payment.pending is not None:
                return payment.pending
            txn = self._attempt(payment, "pending", payment.amount, payment.currency, "Pending validation")
            return txn

    def _open(self, tx_ref: str) -> Payment:
        payment = self.payment(tx_ref)
        if payment.successful is not None:
            raise FlutterwaveError(409, "This payment has already been completed")
        return payment

    def _attempt(self, payment: Payment, status: str, amount: int, currency: str, response: str) -> Transaction:
        txn = payment.pending
        if txn is None:
            txn = Transaction(
                id=self._ids.next("transaction"),
                payment=payment,
                flw_ref="FLW-MOCK-" + secrets.token_hex(16),
                status=status,
                amount=amount,
                currency=currency,
                app_fee=0,
                created_at=self._clock(),
                processor_response=response,
            )
            payment.attempts.append(txn)
            self._transactions[txn.id] = txn
        txn.status, txn.amount, txn.currency, txn.processor_response = status, amount, currency, response
        return txn

    def _fee(self, amount: int) -> int:
        fee = percent_of(amount, self._config.fee_bps)
        if self._config.fee_cap is not None:
            fee = min(fee, self._config.fee_cap)
        return min(fee, amount)

    def _emit_charge(self, txn: Transaction) -> None:
        self._emit(
            "charge.completed",
            txn.event_shape(),
            event_type="CARD_TRANSACTION",
            subject="transaction",
            key=txn.payment.tx_ref,
            transaction_id=txn.id,
            meta_data=txn.payment.meta,
        )


def _minor(value: Any, currency: str) -> int:
    try:
        return to_minor(value, currency)
    except AmountError as exc:
        raise bad_request(str(exc)) from exc


def _object(body: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request(f"{name} must be an object")
    return value
