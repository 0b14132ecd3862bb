"""Transfers (payouts): ``POST /v3/transfers``, ``GET /v3/transfers/{id}``, ``GET /v3/transfers``.

A transfer is created ``NEW`` (``"Transfer Queued Successfully"``) and settles
``transfer_settle_delay_seconds`` later as ``SUCCESSFUL`` or ``FAILED``, with one
``transfer.completed`` webhook either way (as Flutterwave sends it). ``transfer_outcome`` picks
the outcome (``pending`` holds it ``NEW``); a reference marked with ``/_emulator/transfers/{ref}/fail``
(before or after it is created), the next N transfers after ``/_emulator/transfers/fail-next``, and
every transfer to an account that does not resolve, fail. A reused ``reference`` is refused.

Fees come from fixed tiers (NGN: 10.75 up to 5,000, 26.88 up to 50,000, 53.75 above; Flutterwave
reports 26.875, which has no exact value in kobo: see README.md).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from localdev.flutterwave import banks
from localdev.flutterwave.config import (
    Clock,
    Emit,
    EmulatorConfig,
    FlutterwaveError,
    Ids,
    Schedule,
    bad_request,
    flw_time,
    paged,
    random_code,
    text,
)
from localdev.flutterwave.money import CURRENCIES, AmountError, to_major, to_minor

NEW, SUCCESSFUL, FAILED = "NEW", "SUCCESSFUL", "FAILED"
SUCCESS_MESSAGE = "Transaction was successful"
DEFAULT_FAILURE = "DISBURSE FAILED: Account closed"
_FLAT_FEES = {"GHS": 100, "KES": 5_000, "ZAR": 1_000, "USD": 4_000}


def transfer_fee(amount: int, currency: str) -> int:
    if currency == "NGN":
        return 1_075 if amount <= 500_000 else 2_688 if amount <= 5_000_000 else 5_375
    return _FLAT_FEES.get(currency, 0)


@dataclass
class Transfer:
    id: int
    reference: str
    amount: int  # minor units of ``currency``
    currency: str
    debit_currency: str
    bank_code: str
    account_number: str
    bank: banks.Bank
    full_name: str
    narration: str
    callback_url: str | None
    meta: Any
    fee: int
    created_at: datetime
    status: str = NEW
    complete_message: str = ""
    failure: str | None = None  # set when this transfer is to fail as it settles

    def created_shape(self) -> dict[str, Any]:
        """The ``data`` of ``POST /v3/transfers``."""
        return {
            "id": self.id,
            "account_number": self.account_number,
            "bank_code": self.bank_code,
            "full_name": self.full_name,
            "created_at": flw_time(self.created_at),
            "currency": self.currency,
            "debit_currency": self.debit_currency,
            "amount": to_major(self.amount, self.currency),
            "fee": to_major(self.fee, self.debit_currency),
            "status": self.status,
            "reference": self.reference,
            "meta": self.meta,
            "narration": self.narration,
            "complete_message": self.complete_message,
            "requires_approval": 0,
            "is_approved": 1,
            "bank_name": self.bank.full_name,
        }

    def shape(self) -> dict[str, Any]:
        """The ``data`` of ``GET /v3/transfers/{id}`` and an item of ``GET /v3/transfers``."""
        created = self.created_shape()
        bank_name = created.pop("bank_name")
        return {**created, "approver": None, "bank_name": bank_name}

    def event_shape(self) -> dict[str, Any]:
        """The ``data`` of ``transfer.completed`` (``fullname``, not ``full_name``, as Flutterwave sends it)."""
        return {
            "id": self.id,
            "account_number": self.account_number,
            "bank_name": self.bank.full_name,
            "bank_code": self.bank_code,
            "fullname": self.full_name,
            "created_at": flw_time(self.created_at),
            "currency": self.currency,
            "debit_currency": self.debit_currency,
            "amount": to_major(self.amount, self.currency),
            "fee": to_major(self.fee, self.debit_currency),
            "status": self.status,
            "reference": self.reference,
            "meta": self.meta,
            "narration": self.narration,
            "approver": None,
            "complete_message": self.complete_message,
            "requires_approval": 0,
            "is_approved": 1,
        }


class Transfers:
    def __init__(
        self,
        *,
        lock: threading.RLock,
        ids: Ids,
        config: EmulatorConfig,
        clock: Clock,
        emit: Emit,
        schedule: Schedule,
    ) -> None:
        self.lock = lock
        self._ids = ids
        self._config = config
        self._clock = clock
        self._emit = emit
        self._schedule = schedule
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self._by_id: dict[int, Transfer] = {}
            self._by_reference: dict[str, Transfer] = {}
            self._failing: dict[str, str] = {}  # reference -> complete_message, for references not seen yet
            self._fail_next: list[str] = []

    # --- the API ----------------------------------------------------------------------

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        bank_code = text(body, "account_bank")
        account_number = text(body, "account_number")
        if not bank_code:
            raise bad_request("account_bank is required")
        if not account_number:
            raise bad_request("account_number is required")
        if body.get("amount") in (None, ""):
            raise bad_request("amount is required")
        currency = text(body, "currency").upper()
        if not currency:
            raise bad_request("currency is required")
        if currency not in CURRENCIES:
            raise bad_request(f"Invalid currency {currency}")
        debit_currency = (text(body, "debit_currency") or currency).upper()
        if debit_currency not in CURRENCIES:
            raise bad_request(f"Invalid debit_currency {debit_currency}")
        try:
            amount = to_minor(body.get("amount"), currency)
        except AmountError as exc:
            raise bad_request(str(exc)) from exc
        bank = banks.bank(bank_code)
        if bank is None:
            raise bad_request(f"Invalid bank code {bank_code}")
        if currency not in {bank.currency, "USD"}:
            raise bad_request(f"{currency} transfers are not supported to {bank.name}")
        reference = text(body, "reference")
        callback_url = text(body, "callback_url") or None
        with self.lock:
            if reference in self._by_reference:
                raise bad_request("Duplicate reference: a transfer with this reference already exists")
            reference = reference or random_code(16)
            resolvable = banks.resolvable(bank, account_number)
            beneficiary = text(body, "beneficiary_name")
            transfer = Transfer(
                id=self._ids.next("transfer"),
                reference=reference,
                amount=amount,
                currency=currency,
                debit_currency=debit_currency,
                bank_code=bank_code,
                account_number=account_number,
                bank=bank,
                full_name=banks.account_name(bank_code, account_number) if resolvable else beneficiary or "N/A",
                narration=text(body, "narration"),
                callback_url=callback_url,
                meta=body.get("meta"),
                fee=transfer_fee(amount, debit_currency),
                created_at=self._clock(),
            )
            transfer.failure = self._planned_failure(transfer, resolvable)
            self._by_id[transfer.id] = transfer
            self._by_reference[reference] = transfer
            if transfer.failure is not None or self._config.transfer_outcome != "pending":
                transfer_id = transfer.id
                self._schedule(self._config.transfer_settle_delay_seconds, lambda: self._settle_if_new(transfer_id))
            return transfer.created_shape()

    def _planned_failure(self, transfer: Transfer, resolvable: bool) -> str | None:
        if transfer.reference in self._failing:
            return self._failing.pop(transfer.reference)
        if self._fail_next:
            return self._fail_next.pop(0)
        if not resolvable:
            return "DISBURSE FAILED: Invalid account number"
        if self._config.transfer_outcome == "failed":
            return DEFAULT_FAILURE
        return None

    def transfer(self, transfer_id: str | int) -> Transfer:
        with self.lock:
            key = str(transfer_id)
            transfer = self._by_id.get(int(key)) if key.isdigit() else None
            if transfer is None:
                raise FlutterwaveError(self._config.not_found_status, "Transfer not found")
            return transfer

    def get(self, transfer_id: str) -> dict[str, Any]:
        with self.lock:
            return self.transfer(transfer_id).shape()

    def search(self, query: Mapping[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """``GET /v3/transfers?page=&status=&reference=`` (the reference filter is what the SDK's list can send)."""
        with self.lock:
            found = sorted(self._by_id.values(), key=lambda item: item.id, reverse=True)
            if query.get("reference"):
                found = [t for t in found if t.reference == query["reference"].strip()]
            if query.get("status"):
                found = [t for t in found if t.status == query["status"].strip().upper()]
            return paged([t.shape() for t in found], query.get("page"))

    def by_reference(self, reference: str) -> Transfer:
        with self.lock:
            transfer = self._by_reference.get(reference)
            if transfer is None:
                raise FlutterwaveError(404, "Transfer not found")
            return transfer

    # --- settlement and its controls --------------------------------------------------

    def _settle_if_new(self, transfer_id: int) -> None:
        with self.lock:
            transfer = self._by_id.get(transfer_id)
            if transfer is None or transfer.status != NEW:
                return
            if transfer.failure is not None:
                self._complete(transfer, FAILED, transfer.failure)
            elif self._config.transfer_outcome != "pending":
                self._complete(transfer, SUCCESSFUL, SUCCESS_MESSAGE)

    def _complete(self, transfer: Transfer, status: str, message: str) -> None:
        transfer.status = status
        transfer.complete_message = message
        self._emit(
            "transfer.completed",
            transfer.event_shape(),
            event_type="Transfer",
            subject="transfer",
            key=transfer.reference,
        )

    def fail(self, reference: str, reason: str | None) -> tuple[bool, dict[str, Any] | None]:
        """Fail a ``NEW`` transfer now, or mark a reference not seen yet to fail. Returns (existed, data)."""
        message = f"DISBURSE FAILED: {reason}" if reason else DEFAULT_FAILURE
        with self.lock:
            transfer = self._by_reference.get(reference)
            if transfer is None:
                self._failing[reference] = message
                return False, None
            if transfer.status != NEW:
                raise FlutterwaveError(409, f"Transfer is already {transfer.status}")
            self._complete(transfer, FAILED, message)
            return True, transfer.shape()

    def succeed(self, reference: str) -> dict[str, Any]:
        with self.lock:
            transfer = self.by_reference(reference)
            if transfer.status != NEW:
                raise FlutterwaveError(409, f"Transfer is already {transfer.status}")
            self._complete(transfer, SUCCESSFUL, SUCCESS_MESSAGE)
            return transfer.shape()

    def fail_next(self, count: int, reason: str | None) -> int:
        message = f"DISBURSE FAILED: {reason}" if reason else DEFAULT_FAILURE
        with self.lock:
            self._fail_next.extend([message] * count)
            return len(self._fail_next)
