"""Emulator-only routes: the hosted page, ``/_emulator/`` controls, ``/health`` (no bearer key)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from localdev.flutterwave import hosted_page
from localdev.flutterwave.config import FlutterwaveError, int_value
from localdev.flutterwave.envelope import body, control_values, falsy, json_response, ok, redirect, with_query
from localdev.flutterwave.payments import Payment, Transaction

if TYPE_CHECKING:
    from localdev.flutterwave.app import FlutterwaveEmulator

MAX_WEBHOOK_TIMES = 100
_TX = "/_emulator/transactions/<path:tx_ref>"
_TRANSFER = "/_emulator/transfers/<reference>"

ROUTES: list[tuple[str, str, list[str]]] = [
    ("/health", "health", ["GET"]),
    ("/hosted/pay/<link_id>", "hosted", ["GET"]),
    (f"{_TX}/pay", "pay", ["POST"]),
    (f"{_TX}/decline", "decline", ["POST"]),
    (f"{_TX}/pending", "pending", ["POST"]),
    (f"{_TX}/cancel", "cancel", ["POST"]),
    (f"{_TX}/webhook", "transaction_webhook", ["POST"]),
    (_TX, "transaction", ["GET"]),
    ("/_emulator/webhooks", "webhooks", ["GET"]),
    ("/_emulator/webhooks/<int:delivery_id>/replay", "replay", ["POST"]),
    ("/_emulator/transfers/fail-next", "transfers_fail_next", ["POST"]),
    (_TRANSFER, "transfer", ["GET"]),
    (f"{_TRANSFER}/fail", "transfer_fail", ["POST"]),
    (f"{_TRANSFER}/succeed", "transfer_succeed", ["POST"]),
    (f"{_TRANSFER}/webhook", "transfer_webhook", ["POST"]),
    ("/_emulator/refunds/refuse-next", "refunds_refuse_next", ["POST"]),
    ("/_emulator/refunds/<int:refund_id>/complete", "refund_complete", ["POST"]),
    ("/_emulator/refunds/<int:refund_id>/fail", "refund_fail", ["POST"]),
    ("/_emulator/faults", "faults", ["GET", "POST", "DELETE"]),
    ("/_emulator/config", "config", ["GET", "POST"]),
    ("/_emulator/reset", "reset", ["POST"]),
]


def health(emulator: FlutterwaveEmulator, request: Request) -> Response:
    return json_response({"status": "ok"})


# --- the hosted page and what its buttons do ---------------------------------------------


def hosted(emulator: FlutterwaveEmulator, request: Request, link_id: str) -> Response:
    payment = emulator.payments.by_link(link_id)
    if payment is None:
        return Response(hosted_page.render_not_found(), 404, content_type="text/html; charset=utf-8")
    with emulator.lock:
        page = hosted_page.render(payment)
    return Response(page, content_type="text/html; charset=utf-8")


def _back_to_merchant(payment: Payment, status: str, txn: Transaction | None) -> Response:
    """Where the buyer's browser goes after a button: ``redirect_url?status=…&tx_ref=…&transaction_id=…``."""
    params = {"status": status, "tx_ref": payment.tx_ref}
    if txn is not None:
        params["transaction_id"] = str(txn.id)
    return redirect(with_query(payment.redirect_url, params))


def transaction(emulator: FlutterwaveEmulator, request: Request, tx_ref: str) -> Response:
    with emulator.lock:
        return ok("Payment", emulator.payments.payment(tx_ref).shape())


def pay(emulator: FlutterwaveEmulator, request: Request, tx_ref: str) -> Response:
    """A successful attempt; ``{"amount", "currency"}`` (major units) record another payment than initialized;
    ``"webhook": false`` pays without sending ``charge.completed`` (a missed webhook, for the reconciler)."""
    values = control_values(request)
    txn = emulator.payments.pay(
        tx_ref,
        amount=values.get("amount"),
        currency=values.get("currency"),
        send_webhook=not falsy(values.get("webhook")),
    )
    if values.get("via") == "hosted":
        return _back_to_merchant(txn.payment, "successful", txn)
    return ok("Transaction paid", txn.shape())


def decline(emulator: FlutterwaveEmulator, request: Request, tx_ref: str) -> Response:
    values = control_values(request)
    txn = emulator.payments.decline(tx_ref, send_webhook=not falsy(values.get("webhook")))
    if values.get("via") == "hosted":
        return _back_to_merchant(txn.payment, "failed", txn)
    return ok("Transaction declined", txn.shape())


def pending(emulator: FlutterwaveEmulator, request: Request, tx_ref: str) -> Response:
    return ok("Transaction pending", emulator.payments.hold_pending(tx_ref).shape())


def cancel(emulator: FlutterwaveEmulator, request: Request, tx_ref: str) -> Response:
    """The buyer closed the page: no attempt, no webhook; the browser goes back with ``status=cancelled``."""
    payment = emulator.payments.payment(tx_ref)
    if control_values(request).get("via") == "hosted":
        return _back_to_merchant(payment, "cancelled", None)
    with emulator.lock:
        return ok("Payment cancelled", payment.shape())


def _times(value: Any) -> int:
    times = 1 if value in (None, "") else int_value(value, "times")
    if not 1 <= times <= MAX_WEBHOOK_TIMES:
        raise FlutterwaveError(400, f"times must be between 1 and {MAX_WEBHOOK_TIMES}")
    return times


def _wrong_hash(values: dict[str, Any]) -> bool:
    return values.get("verif_hash") == "wrong" or values.get("signature") == "bad"


def transaction_webhook(emulator: FlutterwaveEmulator, request: Request, tx_ref: str) -> Response:
    """Send the last webhook for this ``tx_ref`` again (``?times=N``, ``?verif_hash=wrong``)."""
    values = control_values(request)
    emulator.payments.payment(tx_ref)  # 404 for an unknown tx_ref
    last = emulator.webhooks.last_for("transaction", tx_ref)
    if last is None:
        raise FlutterwaveError(409, "No webhook has been sent for this tx_ref yet (pay or decline it first)")
    sent = emulator.webhooks.resend(last, times=_times(values.get("times")), wrong_hash=_wrong_hash(values))
    return ok("Webhook queued", {"deliveries": [item.id for item in sent]}, 202)


# --- webhooks ----------------------------------------------------------------------------


def webhooks(emulator: FlutterwaveEmulator, request: Request) -> Response:
    items = emulator.webhooks.log(reference=request.args.get("reference"), event=request.args.get("event"))
    return json_response({"items": items})


def replay(emulator: FlutterwaveEmulator, request: Request, delivery_id: int) -> Response:
    values = control_values(request)
    original = emulator.webhooks.get(delivery_id)
    if original is None:
        raise FlutterwaveError(404, "Webhook delivery not found")
    sent = emulator.webhooks.resend(original, times=_times(values.get("times")), wrong_hash=_wrong_hash(values))
    return ok("Webhook queued", {"deliveries": [item.id for item in sent]}, 202)


# --- transfers ---------------------------------------------------------------------------


def transfer(emulator: FlutterwaveEmulator, request: Request, reference: str) -> Response:
    with emulator.lock:
        return ok("Transfer", emulator.transfers.by_reference(reference).shape())


def transfer_fail(emulator: FlutterwaveEmulator, request: Request, reference: str) -> Response:
    reason = control_values(request).get("reason")
    existed, data = emulator.transfers.fail(reference, reason if isinstance(reason, str) else None)
    if not existed:
        return ok("The transfer with this reference will fail when it is initiated", None, 202)
    return ok("Transfer failed", data)


def transfer_succeed(emulator: FlutterwaveEmulator, request: Request, reference: str) -> Response:
    return ok("Transfer succeeded", emulator.transfers.succeed(reference))


def transfer_webhook(emulator: FlutterwaveEmulator, request: Request, reference: str) -> Response:
    values = control_values(request)
    emulator.transfers.by_reference(reference)
    last = emulator.webhooks.last_for("transfer", reference)
    if last is None:
        raise FlutterwaveError(409, "No webhook has been sent for this transfer yet")
    sent = emulator.webhooks.resend(last, times=_times(values.get("times")), wrong_hash=_wrong_hash(values))
    return ok("Webhook queued", {"deliveries": [item.id for item in sent]}, 202)


def transfers_fail_next(emulator: FlutterwaveEmulator, request: Request) -> Response:
    """``{"count": N, "reason": "..."}``: the next N transfers created fail as they settle."""
    values = control_values(request)
    reason = values.get("reason")
    queued = emulator.transfers.fail_next(
        int_value(values.get("count", 1), "count"), reason if isinstance(reason, str) else None
    )
    return ok("The next transfers will fail", {"failing": queued})


# --- refunds -----------------------------------------------------------------------------


def refund_complete(emulator: FlutterwaveEmulator, request: Request, refund_id: int) -> Response:
    return ok("Refund completed", emulator.refunds.settle(refund_id, "completed"))


def refund_fail(emulator: FlutterwaveEmulator, request: Request, refund_id: int) -> Response:
    return ok("Refund failed", emulator.refunds.settle(refund_id, "failed"))


def refunds_refuse_next(emulator: FlutterwaveEmulator, request: Request) -> Response:
    """``{"count": N, "message": "..."}``: the next N refund calls are refused (400, no refund made)."""
    values = control_values(request)
    message = values.get("message")
    queued = emulator.refunds.refuse_next(
        int_value(values.get("count", 1), "count"), message if isinstance(message, str) else None
    )
    return ok("The next refunds will be refused", {"refusing": queued})


# --- faults, settings, reset -------------------------------------------------------------


def faults(emulator: FlutterwaveEmulator, request: Request) -> Response:
    if request.method == "DELETE":
        emulator.faults.clear()
    elif request.method == "POST":
        emulator.faults.add(control_values(request))
    return ok("Faults", emulator.faults.shape())


def config(emulator: FlutterwaveEmulator, request: Request) -> Response:
    if request.method == "POST":
        with emulator.lock:
            emulator.config.update(body(request))  # typed JSON only: "150" is not a number of basis points
    return ok("Emulator settings", emulator.config.shape())


def reset(emulator: FlutterwaveEmulator, request: Request) -> Response:
    emulator.reset()
    return ok("Emulator reset", None)


HANDLERS: dict[str, Callable[..., Response]] = {
    "health": health,
    "hosted": hosted,
    "transaction": transaction,
    "pay": pay,
    "decline": decline,
    "pending": pending,
    "cancel": cancel,
    "transaction_webhook": transaction_webhook,
    "webhooks": webhooks,
    "replay": replay,
    "transfer": transfer,
    "transfer_fail": transfer_fail,
    "transfer_succeed": transfer_succeed,
    "transfer_webhook": transfer_webhook,
    "transfers_fail_next": transfers_fail_next,
    "refund_complete": refund_complete,
    "refund_fail": refund_fail,
    "refunds_refuse_next": refunds_refuse_next,
    "faults": faults,
    "config": config,
    "reset": reset,
}
