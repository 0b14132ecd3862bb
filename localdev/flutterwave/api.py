"""Flutterwave v3's own routes (bearer-checked and fault-injectable, by the endpoint names faults use)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from localdev.flutterwave import banks
from localdev.flutterwave.config import FlutterwaveError
from localdev.flutterwave.envelope import body, ok

if TYPE_CHECKING:
    from localdev.flutterwave.app import FlutterwaveEmulator

ROUTES: list[tuple[str, str, list[str]]] = [
    ("/v3/payments", "payments", ["POST"]),
    ("/v3/transactions/verify_by_reference", "verify_by_reference", ["GET"]),
    ("/v3/transactions/<transaction_id>/verify", "verify", ["GET"]),
    ("/v3/transactions/<transaction_id>/resend-hook", "resend_hook", ["POST"]),
    ("/v3/transactions/<transaction_id>/refund", "refund", ["POST"]),
    ("/v3/refunds", "refunds", ["GET"]),
    ("/v3/refunds/<refund_id>", "refund_fetch", ["GET"]),
    ("/v3/banks/<country>", "banks", ["GET"]),
    ("/v3/accounts/resolve", "resolve", ["POST"]),
    ("/v3/transfers", "transfer", ["POST"]),
    ("/v3/transfers", "transfers", ["GET"]),
    ("/v3/transfers/<transfer_id>", "transfer_fetch", ["GET"]),
]
ENDPOINTS = tuple(dict.fromkeys(name for _, name, _ in ROUTES))


def payments(emulator: FlutterwaveEmulator, request: Request) -> Response:
    return ok("Hosted Link", emulator.payments.create(body(request)))


def verify(emulator: FlutterwaveEmulator, request: Request, transaction_id: str) -> Response:
    return ok("Transaction fetched successfully", emulator.payments.verify(transaction_id))


def verify_by_reference(emulator: FlutterwaveEmulator, request: Request) -> Response:
    tx_ref = (request.args.get("tx_ref") or "").strip()
    return ok("Transaction fetched successfully", emulator.payments.verify_by_reference(tx_ref))


def resend_hook(emulator: FlutterwaveEmulator, request: Request, transaction_id: str) -> Response:
    """Send the last ``charge.completed`` of this transaction again (Flutterwave's "resend failed webhook")."""
    txn = emulator.payments.transaction(transaction_id)
    last = emulator.webhooks.last_for("transaction", transaction_id=txn.id)
    if last is None:
        raise FlutterwaveError(400, "No webhook has been sent for this transaction")
    emulator.webhooks.resend(last)
    return ok("hook sent", "hook sent")


def refund(emulator: FlutterwaveEmulator, request: Request, transaction_id: str) -> Response:
    return ok("Transaction refund initiated", emulator.refunds.create(transaction_id, body(request)))


def refunds(emulator: FlutterwaveEmulator, request: Request) -> Response:
    data, meta = emulator.refunds.search(request.args)
    return ok("Refunds fetched", data, meta=meta)


def refund_fetch(emulator: FlutterwaveEmulator, request: Request, refund_id: str) -> Response:
    return ok("Refund fetched", emulator.refunds.fetch(refund_id))


def banks_of_country(emulator: FlutterwaveEmulator, request: Request, country: str) -> Response:
    return ok("Banks fetched successfully", banks.banks_of(country))


def resolve(emulator: FlutterwaveEmulator, request: Request) -> Response:
    return ok("Account details fetched", banks.resolve(body(request)))


def transfer(emulator: FlutterwaveEmulator, request: Request) -> Response:
    return ok("Transfer Queued Successfully", emulator.transfers.create(body(request)))


def transfers(emulator: FlutterwaveEmulator, request: Request) -> Response:
    data, meta = emulator.transfers.search(request.args)
    return ok("Transfers fetched", data, meta=meta)


def transfer_fetch(emulator: FlutterwaveEmulator, request: Request, transfer_id: str) -> Response:
    return ok("Transfer fetched", emulator.transfers.get(transfer_id))


HANDLERS: dict[str, Callable[..., Response]] = {
    "payments": payments,
    "verify": verify,
    "verify_by_reference": verify_by_reference,
    "resend_hook": resend_hook,
    "refund": refund,
    "refunds": refunds,
    "refund_fetch": refund_fetch,
    "banks": banks_of_country,
    "resolve": resolve,
    "transfer": transfer,
    "transfers": transfers,
    "transfer_fetch": transfer_fetch,
}
