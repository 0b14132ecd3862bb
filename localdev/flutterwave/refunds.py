"""Refunds: ``POST /v3/transactions/{id}/refund``, ``GET /v3/refunds`` and ``GET /v3/refunds/{id}``.

A refund of a successful transaction answers ``"Transaction refund initiated"`` with the refund
``completed`` at once (Flutterwave's sample), or ``processing`` when ``refund_outcome`` says so,
until ``/_emulator/refunds/{id}/complete`` or ``/fail``. ``amount`` (major units) is optional:
the rest of the transaction when omitted; several partial refunds may follow one another up to
the charged amount (failed ones give their amount back). ``/_emulator/refunds/refuse-next`` makes
the next calls fail as Flutterwave refuses one (no refund is created). The transaction itself
keeps verifying ``successful``.

``GET /v3/refunds`` finds a refund whose answer was lost: filter by transaction (``id``), by
``flw_ref``, ``status``, ``currency``, ``from``/``to`` (dates, inclusive), newest first, paged.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from localdev.flutterwave.config import (
    ACCOUNT_ID,
    Clock,
    EmulatorConfig,
    FlutterwaveError,
    Ids,
    bad_request,
    flw_time,
    paged,
)
from localdev.flutterwave.money import AmountError, to_major, to_minor
from localdev.flutterwave.payments import Payments, Transaction

DEFAULT_REFUSAL = "Insufficient balance to process this refund"


@dataclass
class Refund:
    id: int
    transaction: Transaction
    amount: int  # minor units
    status: str  # completed | processing | failed
    comments: str | None
    flw_ref: str
    created_at: datetime

    @property
    def currency(self) -> str:
        return self.transaction.currency

    def created_shape(self) -> dict[str, Any]:
        """The ``data`` of ``POST /v3/transactions/{id}/refund``."""
        return {
            "id": self.id,
            "account_id": ACCOUNT_ID,
            "tx_id": self.transaction.id,
            "flw_ref": self.flw_ref,
            "wallet_id": ACCOUNT_ID + 1_000,
            "amount_refunded": to_major(self.amount, self.currency),
            "status": self.status,
            "destination": "payment_source",
            "meta": {"source": "availablebalance"},
            "created_at": flw_time(self.created_at),
        }

    def shape(self) -> dict[str, Any]:
        """An item of ``GET /v3/refunds`` and the ``data`` of ``GET /v3/refunds/{id}``."""
        return {
            "id": self.id,
            "amount_refunded": to_major(self.amount, self.currency),
            "currency": self.currency,
            "status": self.status,
            "flw_ref": self.flw_ref,
            "destination": "payment_source",
            "comments": self.comments,
            "settlement_id": "NEW",
            "meta": {"source": "availablebalance"},
            "created_at": flw_time(self.created_at),
            "account_id": ACCOUNT_ID,
            "transaction_id": self.transaction.id,
        }


class Refunds:
    def __init__(
        self, *, lock: threading.RLock, ids: Ids, config: EmulatorConfig, clock: Clock, payments: Payments
    ) -> None:
        self.lock = lock
        self._ids = ids
        self._config = config
        self._clock = clock
        self._payments = payments
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self._refunds: dict[int, Refund] = {}
            self._refusals: list[str] = []
            self._sequence = itertools.count(3_572_735)

    def create(self, transaction_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            txn = self._payments.transaction(transaction_id)
            if self._refusals:
                raise bad_request(self._refusals.pop(0))
            if txn.status != "successful":
                raise bad_request("Only successful transactions can be refunded")
            committed = sum(r.amount for r in self._refunds.values() if r.transaction is txn and r.status != "failed")
            left = txn.amount - committed
            if left <= 0:
                raise bad_request("This transaction has been fully refunded")
            raw = body.get("amount")
            try:
                amount = left if raw in (None, "") else to_minor(raw, txn.currency)
            except AmountError as exc:
                raise bad_request(str(exc)) from exc
            if amount > left:
                raise bad_request("Refund amount cannot be greater than the amount left to refund on this transaction")
            now = self._clock()
            comments = body.get("comments")
            refund = Refund(
                id=self._ids.next("refund"),
                transaction=txn,
                amount=amount,
                status="completed" if self._config.refund_outcome == "completed" else "processing",
                comments=comments if isinstance(comments, str) else None,
                flw_ref=f"URF_{int(now.timestamp() * 1000)}_{next(self._sequence)}",
                created_at=now,
            )
            self._refunds[refund.id] = refund
            return refund.created_shape()

    def refund(self, refund_id: str | int) -> Refund:
        with self.lock:
            key = str(refund_id)
            refund = self._refunds.get(int(key)) if key.isdigit() else None
            if refund is None:
                raise FlutterwaveError(self._config.not_found_status, "Refund not found")
            return refund

    def fetch(self, refund_id: str) -> dict[str, Any]:
        with self.lock:
            return self.refund(refund_id).shape()

    def search(self, query: Mapping[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        start, end = _date(query.get("from"), "from"), _date(query.get("to"), "to")
        with self.lock:
            found = sorted(self._refunds.values(), key=lambda item: item.id, reverse=True)
            if query.get("id"):
                found = [r for r in found if str(r.transaction.id) == query["id"].strip()]
            if query.get("flw_ref"):
                found = [r for r in found if r.flw_ref == query["flw_ref"].strip()]
            if query.get("status"):
                found = [r for r in found if r.status == query["status"].strip().lower()]
            if query.get("currency"):
                found = [r for r in found if r.currency == query["currency"].strip().upper()]
            if start:
                found = [r for r in found if r.created_at.date() >= start]
            if end:
                found = [r for r in found if r.created_at.date() <= end]
            return paged([r.shape() for r in found], query.get("page"))

    def settle(self, refund_id: int, status: str) -> dict[str, Any]:
        """``/_emulator/refunds/{id}/complete|fail``: settle a ``processing`` refund."""
        with self.lock:
            refund = self.refund(refund_id)
            if refund.status != "processing":
                raise FlutterwaveError(409, f"Refund is already {refund.status}")
            refund.status = status
            return refund.shape()

    def refuse_next(self, count: int, message: str | None) -> int:
        with self.lock:
            self._refusals.extend([message or DEFAULT_REFUSAL] * count)
            return len(self._refusals)


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise bad_request(f"{name} must be a date (YYYY-MM-DD)") from exc
