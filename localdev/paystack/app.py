"""The Paystack emulator as a WSGI app (werkzeug): Paystack's API, the checkout page and control routes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from localdev.paystack import checkout_page
from localdev.paystack.state import EmulatorConfig, PaystackError, Store, Transaction
from localdev.paystack.webhooks import Scheduler, WebhookDispatcher

# Paystack API endpoints (bearer-checked, fault-injectable), by the names faults use.
API_ENDPOINTS = (
    "initialize",
    "verify",
    "verify_empty",
    "refund",
    "refund_fetch",
    "banks",
    "resolve",
    "recipient",
    "transfer",
    "finalize_transfer",
    "transfer_verify",
)
FAULT_MODES = ("error", "timeout")
MAX_WEBHOOK_TIMES = 100

_RULES = [
    Rule("/health", endpoint="health", methods=["GET"]),
    Rule("/transaction/initialize", endpoint="initialize", methods=["POST"]),
    Rule("/transaction/verify/", endpoint="verify_empty", methods=["GET"]),
    Rule("/transaction/verify/<reference>", endpoint="verify", methods=["GET"]),
    Rule("/refund", endpoint="refund", methods=["POST"]),
    Rule("/refund/<refund_id>", endpoint="refund_fetch", methods=["GET"]),
    Rule("/bank", endpoint="banks", methods=["GET"]),
    Rule("/bank/resolve", endpoint="resolve", methods=["GET"]),
    Rule("/transferrecipient", endpoint="recipient", methods=["POST"]),
    Rule("/transfer", endpoint="transfer", methods=["POST"]),
    Rule("/transfer/finalize_transfer", endpoint="finalize_transfer", methods=["POST"]),
    Rule("/transfer/verify/<reference>", endpoint="transfer_verify", methods=["GET"]),
    Rule("/checkout/<access_code>", endpoint="checkout", methods=["GET"]),
    Rule("/_emulator/transactions/<reference>", endpoint="control_transaction", methods=["GET"]),
    Rule("/_emulator/transactions/<reference>/pay", endpoint="control_pay", methods=["POST"]),
    Rule("/_emulator/transactions/<reference>/decline", endpoint="control_decline", methods=["POST"]),
    Rule("/_emulator/transactions/<reference>/abandon", endpoint="control_abandon", methods=["POST"]),
    Rule("/_emulator/transactions/<reference>/webhook", endpoint="control_transaction_webhook", methods=["POST"]),
    Rule("/_emulator/webhooks", endpoint="control_webhooks", methods=["GET"]),
    Rule("/_emulator/webhooks/<int:delivery_id>/replay", endpoint="control_replay", methods=["POST"]),
    Rule("/_emulator/transfers/<reference>/fail", endpoint="control_transfer_fail", methods=["POST"]),
    Rule("/_emulator/transfers/<reference>/reverse", endpoint="control_transfer_reverse", methods=["POST"]),
    Rule("/_emulator/transfers/<reference>/succeed", endpoint="control_transfer_succeed", methods=["POST"]),
    Rule("/_emulator/transfers/<reference>/require-otp", endpoint="control_transfer_otp", methods=["POST"]),
    Rule("/_emulator/transfers/<reference>/webhook", endpoint="control_transfer_webhook", methods=["POST"]),
    Rule("/_emulator/refunds/<int:refund_id>/process", endpoint="control_refund_process", methods=["POST"]),
    Rule("/_emulator/refunds/<int:refund_id>/fail", endpoint="control_refund_fail", methods=["POST"]),
    Rule("/_emulator/faults", endpoint="control_faults", methods=["GET", "POST", "DELETE"]),
    Rule("/_emulator/config", endpoint="control_config", methods=["GET", "POST"]),
    Rule("/_emulator/reset", endpoint="control_reset", methods=["POST"]),
]


@dataclass
class Fault:
    mode: str
    remaining: int
    status: int = 500
    seconds: float | None = None

    def shape(self) -> dict[str, Any]:
        return {"mode": self.mode, "remaining": self.remaining, "status": self.status, "seconds": self.seconds}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def _ok(message: str, data: Any, status: int = 200, **extra: Any) -> Response:
    return _json({"status": True, "message": message, "data": data, **extra}, status)


class PaystackEmulator:
    """Paystack's API in memory, for the local stack and tests.

    ``secret_key`` is the only accepted bearer key and signs webhooks; ``webhook_url``
    receives them; ``public_url`` is where this app is served (checkout links).
    """

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_url: str,
        public_url: str,
        config: EmulatorConfig | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.secret_key = secret_key
        self.webhook_url = webhook_url
        self.public_url = public_url.rstrip("/")
        self._defaults = config or EmulatorConfig()
        self.config = EmulatorConfig()
        self.config.restore(self._defaults)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._closing = threading.Event()
        self._generation = 0
        self._faults: dict[str, Fault] = {}
        self._faults_lock = threading.Lock()
        self._scheduler = Scheduler()
        self.webhooks = WebhookDispatcher(
            url=webhook_url, secret_key=secret_key, config=self.config, clock=self._clock, scheduler=self._scheduler
        )
        self.store = Store(
            config=self.config,
            clock=self._clock,
            emit=self.webhooks.emit,
            schedule=self._schedule,
            public_url=self.public_url,
        )
        self._urls = Map([rule.empty() for rule in _RULES], strict_slashes=False, merge_slashes=False)

    # --- WSGI -------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._respond(request)
        return response(environ, start_response)

    def close(self) -> None:
        """Stop background work: webhook retries, delayed settlements, held (timeout-fault) answers."""
        self._closing.set()
        self._scheduler.close()
        self.webhooks.close()

    def reset(self) -> None:
        """Forget every transaction, refund, recipient, transfer, delivery, fault and setting change."""
        with self.store.lock:
            self._generation += 1
            self.store.reset()
            self.webhooks.reset()
            self.config.restore(self._defaults)
        with self._faults_lock:
            self._faults.clear()

    def _schedule(self, delay: float, callback: Callable[[], None]) -> None:
        generation = self._generation

        def run() -> None:
            if generation == self._generation:
                callback()

        self._scheduler.call_later(delay, run)

    def _respond(self, request: Request) -> Response:
        adapter = self._urls.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed:
            return _json({"status": False, "message": "Method not allowed"}, 405)
        except NotFound:
            return _json({"status": False, "message": "Not found"}, 404)
        except HTTPException as exc:  # e.g. a redirect werkzeug chose to answer
            return exc.get_response(request.environ)
        hold = 0.0
        if endpoint in API_ENDPOINTS:
            fault = self._take_fault(endpoint)
            if fault is not None and fault.mode == "error":
                return _json({"status": False, "message": "Emulated gateway error"}, fault.status)
            if fault is not None:
                hold = fault.seconds if fault.seconds is not None else self.config.fault_timeout_seconds
            denied = self._check_key(request)
            if denied is not None:
                return denied
        handler: Callable[..., Response] = getattr(self, f"_{endpoint}")
        try:
            response = handler(request, **args)
        except PaystackError as exc:
            response = _json(exc.body(), exc.status)
        except _BadBody as exc:
            response = _json({"status": False, "message": str(exc)}, 400)
        if hold:
            # A read timeout as the client sees it: the work is done, the answer comes too late.
            self._closing.wait(hold)
        return response

    def _check_key(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization")
        if not header:
            return _json({"status": False, "message": "No Authorization Header was found"}, 401)
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return _json({"status": False, "message": "Format is Authorization Bearer [secret key]"}, 401)
        if key.strip() != self.secret_key:
            return _json({"status": False, "message": "Invalid key"}, 401)
        return None

    def _take_fault(self, endpoint: str) -> Fault | None:
        route = "verify" if endpoint == "verify_empty" else endpoint
        with self._faults_lock:
            fault = self._faults.get(route)
            if fault is None or fault.remaining <= 0:
                return None
            fault.remaining -= 1
            return fault

    # --- Paystack API -----------------------------------------------------------------

    def _health(self, request: Request) -> Response:
        return _json({"status": "ok"})

    def _initialize(self, request: Request) -> Response:
        return _ok("Authorization URL created", self.store.initialize(_body(request)))

    def _verify_empty(self, request: Request) -> Response:
        raise PaystackError(400, "Transaction ID should be numeric.")

    def _verify(self, request: Request, reference: str) -> Response:
        return _ok("Verification successful", self.store.verify(reference))

    def _refund(self, request: Request) -> Response:
        return _ok("Refund has been queued for processing", self.store.create_refund(_body(request)))

    def _refund_fetch(self, request: Request, refund_id: str) -> Response:
        if not refund_id.isdigit():
            raise PaystackError(404, "Refund not found")
        return _ok("Refund retrieved", self.store.fetch_refund(int(refund_id)))

    def _banks(self, request: Request) -> Response:
        data, meta = self.store.banks(request.args)
        return _ok("Banks retrieved", data, meta=meta)

    def _resolve(self, request: Request) -> Response:
        return _ok("Account number resolved", self.store.resolve(request.args))

    def _recipient(self, request: Request) -> Response:
        status, data = self.store.create_recipient(_body(request))
        return _ok("Transfer recipient created successfully", data, status)

    def _transfer(self, request: Request) -> Response:
        message, data = self.store.initiate_transfer(_body(request))
        return _ok(message, data)

    def _finalize_transfer(self, request: Request) -> Response:
        return _ok("Transfer has been queued", self.store.finalize_transfer(_body(request)))

    def _transfer_verify(self, request: Request, reference: str) -> Response:
        return _ok("Transfer retrieved", self.store.verify_transfer(reference))

    # --- checkout page ----------------------------------------------------------------

    def _checkout(self, request: Request, access_code: str) -> Response:
        txn = self.store.transaction_by_access_code(access_code)
        if txn is None:
            return Response(checkout_page.render_not_found(), 404, content_type="text/html; charset=utf-8")
        with self.store.lock:
            page = checkout_page.render_checkout(txn)
        return Response(page, content_type="text/html; charset=utf-8")

    def _after_checkout(self, txn: Transaction, outcome: str, *, cancelled: bool = False) -> Response:
        """Where the buyer's browser goes after a button on the checkout page."""
        target = txn.cancel_action if cancelled else None
        if target is None and txn.callback_url:
            target = _with_query(txn.callback_url, {"trxref": txn.reference, "reference": txn.reference})
        if target is None:
            return Response(checkout_page.render_result(txn, outcome), content_type="text/html; charset=utf-8")
        response = Response("", 302)
        response.headers["Location"] = target
        return response

    # --- control routes ---------------------------------------------------------------

    def _control_transaction(self, request: Request, reference: str) -> Response:
        return _ok("Transaction", self.store.verify(reference))

    def _control_pay(self, request: Request, reference: str) -> Response:
        values = _control_values(request)
        # webhook=false records the payment but sends no charge.success (a missed webhook, for the reconciler).
        send_webhook = str(values.get("webhook", "true")).lower() not in {"false", "0", "no"}
        data = self.store.pay(
            reference, amount=values.get("amount"), currency=values.get("currency"), send_webhook=send_webhook
        )
        if values.get("via") == "checkout":
            return self._after_checkout(self.store.transaction(reference), "successful")
        return _ok("Transaction paid", data)

    def _control_decline(self, request: Request, reference: str) -> Response:
        data = self.store.decline(reference)
        if _control_values(request).get("via") == "checkout":
            return self._after_checkout(self.store.transaction(reference), "declined")
        return _ok("Transaction declined", data)

    def _control_abandon(self, request: Request, reference: str) -> Response:
        data = self.store.abandon(reference)
        if _control_values(request).get("via") == "checkout":
            return self._after_checkout(self.store.transaction(reference), "cancelled", cancelled=True)
        return _ok("Transaction abandoned", data)

    def _control_transaction_webhook(self, request: Request, reference: str) -> Response:
        """Send the last webhook for this transaction again (``?times=N``, ``?signature=bad``, ``?event=``).

        ``?forge=true`` sends a correctly signed ``charge.success`` for a transaction that was
        never paid (the state stays as it is): what a receiver that trusts bodies would fall for.
        """
        values = _control_values(request)
        times = _times(values.get("times"))
        bad = values.get("signature") == "bad"
        self.store.transaction(reference)  # 404 for an unknown reference
        if _truthy(values.get("forge")):
            data = self.store.charge_event_data(reference)
            first = self.webhooks.emit("charge.success", data, subject="transaction", reference=reference)
            if bad or times > 1:
                sent = [first, *self.webhooks.resend(first, times=times - 1, bad_signature=bad)]
            else:
                sent = [first]
            return _ok("Webhook queued", {"deliveries": [item.id for item in sent]}, 202)
        last = self.webhooks.last_for("transaction", reference, values.get("event") or None)
        if last is None:
            raise PaystackError(409, "No webhook has been sent for this transaction yet (pay it, or pass forge=true)")
        sent = self.webhooks.resend(last, times=times, bad_signature=bad)
        return _ok("Webhook queued", {"deliveries": [item.id for item in sent]}, 202)

    def _control_transfer_webhook(self, request: Request, reference: str) -> Response:
        values = _control_values(request)
        self.store.transfer(reference)
        last = self.webhooks.last_for("transfer", reference, values.get("event") or None)
        if last is None:
            raise PaystackError(409, "No webhook has been sent for this transfer yet")
        sent = self.webhooks.resend(
            last, times=_times(values.get("times")), bad_signature=values.get("signature") == "bad"
        )
        return _ok("Webhook queued", {"deliveries": [item.id for item in sent]}, 202)

    def _control_webhooks(self, request: Request) -> Response:
        items = self.webhooks.log(reference=request.args.get("reference"), event=request.args.get("event"))
        return _json({"items": items})

    def _control_replay(self, request: Request, delivery_id: int) -> Response:
        values = _control_values(request)
        original = self.webhooks.get(delivery_id)
        if original is None:
            raise PaystackError(404, "Webhook delivery not found")
        sent = self.webhooks.resend(
            original, times=_times(values.get("times")), bad_signature=values.get("signature") == "bad"
        )
        return _ok("Webhook queued", {"deliveries": [item.id for item in sent]}, 202)

    def _control_transfer_fail(self, request: Request, reference: str) -> Response:
        reason = _control_values(request).get("reason")
        existed, data = self.store.fail_transfer(reference, reason if isinstance(reason, str) else None)
        if not existed:
            return _ok("The transfer with this reference will fail when it is initiated", None, 202)
        return _ok("Transfer failed", data)

    def _control_transfer_reverse(self, request: Request, reference: str) -> Response:
        return _ok("Transfer reversed", self.store.reverse_transfer(reference))

    def _control_transfer_succeed(self, request: Request, reference: str) -> Response:
        return _ok("Transfer succeeded", self.store.succeed_transfer(reference))

    def _control_transfer_otp(self, request: Request, reference: str) -> Response:
        existed, data = self.store.require_otp(reference)
        if not existed:
            return _ok("The transfer with this reference will require an OTP when it is initiated", None, 202)
        return _ok("Transfer requires OTP to continue", data)

    def _control_refund_process(self, request: Request, refund_id: int) -> Response:
        return _ok("Refund processed", self.store.process_refund(refund_id))

    def _control_refund_fail(self, request: Request, refund_id: int) -> Response:
        return _ok("Refund failed", self.store.fail_refund(refund_id))

    def _control_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            with self._faults_lock:
                self._faults.clear()
        elif request.method == "POST":
            self._add_fault(_control_values(request))
        with self._faults_lock:
            faults = {route: fault.shape() for route, fault in self._faults.items()}
        return _ok("Faults", faults)

    def _add_fault(self, values: Mapping[str, Any]) -> None:
        route = values.get("route")
        if route not in API_ENDPOINTS or route == "verify_empty":
            raise PaystackError(
                400, f"route must be one of {', '.join(r for r in API_ENDPOINTS if r != 'verify_empty')}"
            )
        mode = values.get("mode", "error")
        if mode not in FAULT_MODES:
            raise PaystackError(400, "mode must be error or timeout")
        count = _int_value(values.get("count", 1), "count")
        status = _int_value(values.get("status", 500), "status")
        if not 400 <= status <= 599:
            raise PaystackError(400, "status must be an HTTP error status")
        seconds = values.get("seconds")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)):
            raise PaystackError(400, "seconds must be a number")
        with self._faults_lock:
            self._faults[str(route)] = Fault(str(mode), count, status, float(seconds) if seconds is not None else None)

    def _control_config(self, request: Request) -> Response:
        if request.method == "POST":
            with self.store.lock:
                self.config.update(_body(request))
        return _ok("Emulator settings", self.config.shape())

    def _control_reset(self, request: Request) -> Response:
        self.reset()
        return _ok("Emulator reset", None)


class _BadBody(ValueError):
    pass


def _body(request: Request) -> dict[str, Any]:
    """A JSON object, or form fields (Paystack accepts both)."""
    if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        return dict(request.form.items())
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise _BadBody("Invalid JSON in request body") from exc
    if not isinstance(parsed, dict):
        raise _BadBody("Request body must be a JSON object")
    return parsed


def _control_values(request: Request) -> dict[str, Any]:
    """Query parameters, overridden by a JSON body or form fields."""
    return {**dict(request.args.items()), **_body(request)}


def _times(value: Any) -> int:
    times = 1 if value in (None, "") else _int_value(value, "times")
    if not 1 <= times <= MAX_WEBHOOK_TIMES:
        raise PaystackError(400, f"times must be between 1 and {MAX_WEBHOOK_TIMES}")
    return times


def _int_value(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise PaystackError(400, f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise PaystackError(400, f"{name} must be an integer")


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in {"1", "true", "yes"})


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
