"""Refunds: ``POST /refund``, ``GET /refund/{id}`` and the refund controls.

A refund starts ``pending`` (+ ``refund.pending``) and becomes ``processed`` + ``refund.processed``
automatically ``refund_delay_seconds`` after creation, unless ``auto_process_refunds`` is off; then it waits
for a control route: ``process``, ``fail`` (``refund.failed``) or ``needs-attention``
(``refund.needs-attention``; such a refund can still be processed or failed). A fully refunded transaction
becomes ``reversed`` (a partial refund leaves it ``success``); a failed refund frees its amount again.
``GET /refund?transaction=`` finds the refunds of a transaction (by reference or id), newest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from localdev.paystack.common import DOMAIN, INTEGRATION_ID, Book, Context, PaystackError, bad_request, in_state
from localdev.paystack.formats import maybe_time, parse_amount, paystack_time, random_code, text
from localdev.paystack.transactions import Transaction, Transactions

REFUNDED_BY = "emulator@marketplace.local"


@dataclass
class Refund:
    id: int
    transaction: Transaction
    amount: int
    currency: str
    created_at: datetime
    customer_note: str
    merchant_note: str
    status: str = "pending"  # pending | needs-attention | processed | failed
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
                "paid_at": maybe_time(txn.paid_at),
                "channel": "card",
                "currency": txn.charged_currency,
                "authorization": {"exp_month": None, "exp_year": None, "account_name": None},
                "customer": {"international_format_phone": None},
                "plan": {},
                "subaccount": {"currency": None},
                "split": {},
                "order_id": None,
                "paidAt": maybe_time(txn.paid_at),
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
            "refunded_by": REFUNDED_BY,
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
            "refunded_at": maybe_time(self.refunded_at),
            "refunded_by": REFUNDED_BY,
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
        """The ``data`` of ``refund.*`` webhooks, as Paystack's examples: no refund id, but for
        ``refund.needs-attention``, which carries the id (a string) and the notes instead of the processor."""
        customer = self.transaction.customer
        data: dict[str, Any] = {
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
        if self.status == "needs-attention":
            del data["processor"]
            data.update(id=str(self.id), customer_note=self.customer_note, merchant_note=self.merchant_note)
        return data


class Refunds(Book):
    """Every refund, by id."""

    def __init__(self, ctx: Context, transactions: Transactions) -> None:
        self._transactions = transactions
        super().__init__(ctx)

    def reset(self) -> None:
        self.by_id: dict[int, Refund] = {}

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        key = text(body, "transaction")
        if not key:
            raise bad_request("Transaction reference or id is required")
        with self._ctx.lock:
            txn = self._transactions.find(key)
            if txn is None:
                raise PaystackError(404, "Transaction not found")
            if txn.status == "reversed":
                raise bad_request("Transaction has been fully reversed")
            if txn.status != "success":
                raise bad_request("Cannot refund a transaction that was not successful")
            committed = sum(
                refund.amount
                for refund in self.by_id.values()
                if refund.transaction is txn and refund.status != "failed"
            )
            refundable = txn.charged_amount - committed
            if refundable <= 0:
                raise bad_request("Transaction has been fully reversed")
            raw_amount = body.get("amount")
            amount = refundable if raw_amount in (None, "") else parse_amount(raw_amount, "Invalid amount passed.")
            if amount > refundable:
                raise bad_request("Refund amount cannot be greater than the transaction amount left to refund")
            currency = (text(body, "currency") or txn.charged_currency).upper()
            if currency != txn.charged_currency:
                raise bad_request("Currency does not match the transaction currency")
            refund = Refund(
                id=self._ctx.ids.next("refund"),
                transaction=txn,
                amount=amount,
                currency=currency,
                created_at=self._ctx.clock(),
                customer_note=text(body, "customer_note") or f"Refund for transaction {txn.reference}",
                merchant_note=text(body, "merchant_note") or f"Refund for transaction {txn.reference}",
            )
            self.by_id[refund.id] = refund
            if self._ctx.config.send_refund_pending_webhook:
                self._emit("refund.pending", refund)
            if self._ctx.config.auto_process_refunds:
                refund_id = refund.id
                self._ctx.schedule(self._ctx.config.refund_delay_seconds, lambda: self._auto_process(refund_id))
            return refund.created_shape()

    def get(self, refund_id: int) -> Refund:
        return self._found(self.by_id, refund_id, "Refund")

    def fetch(self, refund_id: int) -> dict[str, Any]:
        with self._ctx.lock:
            return self.get(refund_id).shape()

    def search(self, query: Mapping[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """``GET /refund``: newest first, filtered by ``transaction`` (reference or id) and ``currency``; paged
        by ``perPage`` (default 50) and ``page``. ``meta`` as the document has it (``perPage`` a string)."""
        key = (query.get("transaction") or "").strip()
        currency = (query.get("currency") or "").strip().upper()
        per_page = int(query["perPage"]) if (query.get("perPage") or "").isdigit() else 50
        per_page = max(1, min(per_page, 100))
        page = max(1, int(query["page"])) if (query.get("page") or "").isdigit() else 1
        with self._ctx.lock:
            txn = self._transactions.find(key) if key else None
            refunds = [
                refund
                for refund in sorted(self.by_id.values(), key=lambda item: item.id, reverse=True)
                if (not key or refund.transaction is txn) and (not currency or refund.currency == currency)
            ]
            shown = [refund.shape() for refund in refunds[(page - 1) * per_page : page * per_page]]
        meta = {
            "total": len(refunds),
            "skipped": (page - 1) * per_page,
            "perPage": str(per_page),
            "page": page,
            "pageCount": max(1, -(-len(refunds) // per_page)),
            "failedRefundCount": sum(1 for refund in refunds if refund.status == "failed"),
        }
        return shown, meta

    def _auto_process(self, refund_id: int) -> None:
        with self._ctx.lock:
            refund = self.by_id.get(refund_id)
            if refund is not None and refund.status == "pending":
                self.process(refund_id)

    def _unsettled(
        self, refund_id: int, *, states: frozenset[str] = frozenset({"pending", "needs-attention"})
    ) -> Refund:
        return in_state(self.get(refund_id), states, "Refund")

    def process(self, refund_id: int) -> dict[str, Any]:
        with self._ctx.lock:
            refund = self._unsettled(refund_id)
            now = self._ctx.clock()
            refund.status = "processed"
            refund.updated_at = now
            refund.refunded_at = now
            refund.refund_reference = "RFD" + random_code(12).upper()
            txn = refund.transaction
            txn.refunded_amount += refund.amount
            if txn.refunded_amount >= txn.charged_amount:
                txn.status = "reversed"
            self._emit("refund.processed", refund)
            return refund.shape()

    def fail(self, refund_id: int) -> dict[str, Any]:
        with self._ctx.lock:
            refund = self._unsettled(refund_id)
            refund.status = "failed"
            refund.updated_at = self._ctx.clock()
            self._emit("refund.failed", refund)
            return refund.shape()

    def needs_attention(self, refund_id: int) -> dict[str, Any]:
        """The processor could not refund to the card: Paystack asks for the customer's account details."""
        with self._ctx.lock:
            refund = self._unsettled(refund_id, states=frozenset({"pending"}))
            refund.status = "needs-attention"
            refund.updated_at = self._ctx.clock()
            self._emit("refund.needs-attention", refund)
            return refund.shape()

    def _emit(self, event: str, refund: Refund) -> None:
        data = refund.event_shape(amount_as_string=self._ctx.config.refund_webhook_amount_as_string)
        self._ctx.emit(event, data, subject="transaction", reference=refund.transaction.reference)
