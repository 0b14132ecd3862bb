"""Transfers (payouts): ``POST /transfer``, ``POST /transfer/finalize_transfer``, ``GET /transfer/verify/{ref}``
and the transfer controls.

A transfer succeeds at once + ``transfer.success`` (test transfers always succeed), unless
``transfer_outcome`` is ``failed`` (settles failed + ``transfer.failed`` after the delay) or ``pending``
(waits for a control route), or the reference was marked to fail / need an OTP (test OTP: 123456).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from localdev.paystack.common import (
    BUSINESS_NAME,
    DOMAIN,
    INTEGRATION_ID,
    Book,
    Context,
    PaystackError,
    bad_request,
    in_state,
)
from localdev.paystack.formats import maybe_time, parse_amount, paystack_time, random_code, text
from localdev.paystack.recipients import Recipient, Recipients

TEST_OTP = "123456"
DEFAULT_FAILURE = "Account closed"
_UNSETTLED = frozenset({"pending", "otp"})  # a transfer in these states can still fail, succeed or need an OTP
_TRANSFER_REFERENCE = re.compile(r"^[a-z0-9_-]{1,100}$")


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
            "transferred_at": maybe_time(self.transferred_at),
            "updatedAt": paystack_time(self.updated_at or self.created_at),
            "integration": INTEGRATION_ID,
            "request": self.id + 500_000_000,
        }

    def initiated_shape(self) -> dict[str, Any]:
        """The ``data`` of ``POST /transfer`` (the recipient as its integer id)."""
        return {"transfersessionid": [], "transfertrials": [], **self._common(), "recipient": self.recipient.id}

    def shape(self) -> dict[str, Any]:
        """The ``data`` of ``GET /transfer/verify/{reference}`` (the recipient expanded)."""
        return {
            **self._common(),
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


class Transfers(Book):
    """Every transfer, by reference and by code; references marked in advance to fail or to need an OTP."""

    def __init__(self, ctx: Context, recipients: Recipients) -> None:
        self._recipients = recipients
        super().__init__(ctx)

    def reset(self) -> None:
        self.by_reference: dict[str, Transfer] = {}
        self._by_code: dict[str, Transfer] = {}
        self._otp_references: set[str] = set()
        self._failing_references: dict[str, str] = {}

    def initiate(self, body: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        if text(body, "source") != "balance":
            raise bad_request("Invalid transfer source")
        amount = parse_amount(body.get("amount"), "Invalid amount passed.")
        reference = text(body, "reference")
        if reference and not _TRANSFER_REFERENCE.match(reference):
            raise bad_request("Your reference contains illegal special characters")
        with self._ctx.lock:
            recipient = self._recipients.get(text(body, "recipient"))
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
            currency = (text(body, "currency") or recipient.currency).upper()
            if currency != recipient.currency:
                raise bad_request("Currency does not match the recipient's currency")
            if reference in self.by_reference:
                raise bad_request("Please provide a unique reference. Reference already exists on a transfer")
            transfer = Transfer(
                id=self._ctx.ids.next("transfer"),
                code="TRF_" + random_code(15),
                reference=reference or random_code(16),
                amount=amount,
                currency=currency,
                recipient=recipient,
                reason=text(body, "reason"),
                created_at=self._ctx.clock(),
            )
            self.by_reference[transfer.reference] = transfer
            self._by_code[transfer.code] = transfer
            if self._ctx.config.transfers_require_otp or transfer.reference in self._otp_references:
                self._otp_references.discard(transfer.reference)
                transfer.status = "otp"
                return "Transfer requires OTP to continue", transfer.initiated_shape()
            self._settle(transfer)
            return "Transfer has been queued", transfer.initiated_shape()

    def finalize(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self._ctx.lock:
            transfer = self._by_code.get(text(body, "transfer_code"))
            if transfer is None:
                raise bad_request("Transfer ID/code specified is invalid.")
            if transfer.status != "otp":
                raise bad_request("Transfer is not currently awaiting OTP")
            if text(body, "otp") != TEST_OTP:
                raise bad_request("Invalid OTP")
            transfer.status = "pending"
            self._settle(transfer)
            return transfer.initiated_shape()

    def _settle(self, transfer: Transfer) -> None:
        """Apply the configured outcome: success at once (test mode), failure after the delay, or wait."""
        outcome = "failed" if transfer.reference in self._failing_references else self._ctx.config.transfer_outcome
        if outcome == "success":
            self._complete(transfer)
        elif outcome == "failed":
            reason = self._failing_references.pop(transfer.reference, DEFAULT_FAILURE)
            reference = transfer.reference
            delay = self._ctx.config.transfer_settle_delay_seconds
            self._ctx.schedule(delay, lambda: self._fail_if_pending(reference, reason))

    def _emit(self, event: str, transfer: Transfer) -> None:
        self._ctx.emit(event, transfer.event_shape(), subject="transfer", reference=transfer.reference)

    def _complete(self, transfer: Transfer) -> None:
        now = self._ctx.clock()
        transfer.status = "success"
        transfer.transferred_at = now
        transfer.updated_at = now
        self._emit("transfer.success", transfer)

    def _fail_if_pending(self, reference: str, reason: str) -> None:
        with self._ctx.lock:
            transfer = self.by_reference.get(reference)
            if transfer is not None and transfer.status in _UNSETTLED:
                self._fail(transfer, reason)

    def _fail(self, transfer: Transfer, reason: str) -> None:
        transfer.status = "failed"
        transfer.failures = reason
        transfer.updated_at = self._ctx.clock()
        self._emit("transfer.failed", transfer)

    def get(self, reference: str) -> Transfer:
        return self._found(self.by_reference, reference, "Transfer")

    def _unsettled(self, reference: str) -> Transfer:
        return in_state(self.get(reference), _UNSETTLED, "Transfer")

    def verify(self, reference: str) -> dict[str, Any]:
        with self._ctx.lock:
            return self.get(reference).shape()

    def fail(self, reference: str, reason: str | None) -> tuple[bool, dict[str, Any] | None]:
        """Fail a pending transfer now, or mark a future reference to fail. Returns (existed, data)."""
        reason = reason or DEFAULT_FAILURE
        with self._ctx.lock:
            transfer = self.by_reference.get(reference)
            if transfer is None:
                self._failing_references[reference] = reason
                return False, None
            if transfer.status not in _UNSETTLED:
                raise PaystackError(409, f"Transfer is already {transfer.status}; reverse a successful one")
            self._fail(transfer, reason)
            return True, transfer.shape()

    def reverse(self, reference: str) -> dict[str, Any]:
        with self._ctx.lock:
            transfer = self.get(reference)
            if transfer.status != "success":
                raise PaystackError(409, f"Only a successful transfer can be reversed; this one is {transfer.status}")
            transfer.status = "reversed"
            transfer.updated_at = self._ctx.clock()
            self._emit("transfer.reversed", transfer)
            return transfer.shape()

    def succeed(self, reference: str) -> dict[str, Any]:
        with self._ctx.lock:
            transfer = self._unsettled(reference)
            self._complete(transfer)
            return transfer.shape()

    def require_otp(self, reference: str) -> tuple[bool, dict[str, Any] | None]:
        """Hold a pending transfer for an OTP, or mark a future reference to need one."""
        with self._ctx.lock:
            if reference not in self.by_reference:
                self._otp_references.add(reference)
                return False, None
            transfer = self._unsettled(reference)
            transfer.status = "otp"
            transfer.updated_at = self._ctx.clock()
            return True, transfer.shape()
