"""The Paystack emulator as a WSGI app (werkzeug): Paystack's API, the checkout page and control routes.

Routes come from one module per kind (``api``, ``controls``, ``settlement_controls``, and the emulator's own
routes below); this module binds them, checks the bearer key on the API routes and applies faults there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from localdev.paystack import api, controls, settlement_controls, webhook_controls
from localdev.paystack.calls import CallLog
from localdev.paystack.common import PaystackError
from localdev.paystack.config import EmulatorConfig
from localdev.paystack.faults import Faults
from localdev.paystack.http import BadBody, Handler, body, control_values, json_response, ok, route, routes_of
from localdev.paystack.scheduler import Scheduler
from localdev.paystack.state import Store
from localdev.paystack.webhooks import WebhookDispatcher


def _emulated_error(status: int) -> Response:
    return json_response({"status": False, "message": "Emulated gateway error"}, status)


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
        paystack_api = api.PaystackApi(self.store)
        operations = [name for _, _, name, _ in routes_of(paystack_api)]
        self.api_operations = frozenset(operations)
        self.faults = Faults(tuple(name for name in operations if name not in api.FAULT_ALIASES))
        self.calls = CallLog()
        owners = (
            paystack_api,
            controls.TransactionControls(self.store, self.webhooks),
            settlement_controls.SettlementControls(self.store, self.webhooks),
            webhook_controls.WebhookControls(self.store, self.webhooks),
            self,
        )
        self._handlers: dict[str, Handler] = {}
        rules = []
        for owner in owners:
            for path, methods, name, handler in routes_of(owner):
                self._handlers[name] = handler
                rules.append(Rule(path, endpoint=name, methods=list(methods)))
        self._urls = Map(rules, strict_slashes=False, merge_slashes=False)

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
        """Forget every transaction, refund, recipient, transfer, delivery, fault, call and setting change."""
        with self.store.lock:
            self._generation += 1
            self.store.reset()
            self.webhooks.reset()
            self.config.restore(self._defaults)
        self.faults.clear()
        self.calls.reset()

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
            return json_response({"status": False, "message": "Method not allowed"}, 405)
        except NotFound:
            return json_response({"status": False, "message": "Not found"}, 404)
        except HTTPException as exc:  # e.g. a redirect werkzeug chose to answer
            return exc.get_response(request.environ)
        if endpoint not in self.api_operations:
            return self._handle(endpoint, request, args)
        operation = api.FAULT_ALIASES.get(endpoint, endpoint)
        fault = self.faults.take(operation)
        if fault is not None and fault.mode == "error":
            response = _emulated_error(fault.status)
        else:
            response = self._check_key(request) or self._handle(endpoint, request, args)
            if fault is not None and fault.mode == "lost":
                response = _emulated_error(fault.status)  # the work is done; the answer is lost
        mode = fault.mode if fault is not None else None
        self.calls.record(operation, request.method, request.path, response.status_code, mode, self._clock())
        if fault is not None:
            # timeout: a read timeout as the client sees it; the work is done, the answer comes too late.
            default = self.config.fault_timeout_seconds if fault.mode == "timeout" else 0.0
            hold = fault.seconds if fault.seconds is not None else default
            if hold:
                self._closing.wait(hold)
        return response

    def _handle(self, endpoint: str, request: Request, args: Mapping[str, Any]) -> Response:
        try:
            return self._handlers[endpoint](request, **args)
        except PaystackError as exc:
            return json_response(exc.body(), exc.status)
        except BadBody as exc:
            return json_response({"status": False, "message": str(exc)}, 400)

    def _check_key(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization")
        if not header:
            return json_response({"status": False, "message": "No Authorization Header was found"}, 401)
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return json_response({"status": False, "message": "Format is Authorization Bearer [secret key]"}, 401)
        if key.strip() != self.secret_key:
            return json_response({"status": False, "message": "Invalid key"}, 401)
        return None

    # --- the emulator's own routes ----------------------------------------------------

    @route("GET", "/health")
    def health(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    @route(("GET", "POST", "DELETE"), "/_emulator/faults")
    def control_faults(self, request: Request) -> Response:
        """POST adds (or replaces) the fault of an operation; DELETE clears all, or one with ``?operation=``."""
        if request.method == "DELETE":
            self.faults.clear(request.args.get("operation") or request.args.get("route") or None)
        elif request.method == "POST":
            self.faults.add(control_values(request))
        return ok("Faults", self.faults.shape())

    @route(("GET", "DELETE"), "/_emulator/calls")
    def control_calls(self, request: Request) -> Response:
        """The Paystack API calls answered so far (``?operation=``, ``?status=``, ``?fault=``); DELETE forgets them."""
        if request.method == "DELETE":
            self.calls.reset()
        calls = self.calls.search(request.args)
        return ok("Calls", calls, meta={"total": len(calls)})

    @route(("GET", "POST"), "/_emulator/config")
    def control_config(self, request: Request) -> Response:
        if request.method == "POST":
            with self.store.lock:
                self.config.update(body(request))
        return ok("Emulator settings", self.config.shape())

    @route("POST", "/_emulator/reset")
    def control_reset(self, request: Request) -> Response:
        self.reset()
        return ok("Emulator reset", None)
