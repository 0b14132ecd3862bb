"""The Flutterwave emulator as a WSGI app (werkzeug): routing, the bearer check, faults, shared state."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from localdev.flutterwave import api, controls
from localdev.flutterwave.config import EmulatorConfig, FlutterwaveError, Ids
from localdev.flutterwave.envelope import error
from localdev.flutterwave.faults import FaultSwitches
from localdev.flutterwave.payments import Payments
from localdev.flutterwave.refunds import Refunds
from localdev.flutterwave.transfers import Transfers
from localdev.flutterwave.webhooks import WebhookDispatcher
from localdev.paystack.scheduler import Scheduler

INVALID_KEY = "Invalid authorization key"
_REPEATED_SLASHES = re.compile(r"/{2,}")

Handler = Callable[..., Response]


class FlutterwaveEmulator:
    """Flutterwave v3's API in memory, for the local stack and tests.

    ``secret_key`` is the only accepted bearer key; ``secret_hash`` goes in every webhook's
    ``verif-hash`` header; ``webhook_url`` receives them; ``public_url`` is where this app is
    served (hosted links).
    """

    def __init__(
        self,
        *,
        secret_key: str,
        secret_hash: str,
        webhook_url: str,
        public_url: str,
        config: EmulatorConfig | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.secret_key = secret_key
        self.public_url = public_url.rstrip("/")
        self._defaults = config or EmulatorConfig()
        self.config = EmulatorConfig()
        self.config.restore(self._defaults)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._closing = threading.Event()
        self._generation = 0
        self.lock = threading.RLock()
        self.ids = Ids()
        self.faults = FaultSwitches(api.ENDPOINTS)
        self._scheduler = Scheduler()
        self.webhooks = WebhookDispatcher(
            url=webhook_url, secret_hash=secret_hash, config=self.config, clock=self._clock, scheduler=self._scheduler
        )
        common: dict[str, Any] = {"lock": self.lock, "ids": self.ids, "config": self.config, "clock": self._clock}
        self.payments = Payments(**common, emit=self.webhooks.emit, public_url=self.public_url)
        self.refunds = Refunds(**common, payments=self.payments)
        self.transfers = Transfers(**common, emit=self.webhooks.emit, schedule=self._schedule)
        rules = [Rule(path, endpoint=("api", name), methods=methods) for path, name, methods in api.ROUTES]
        rules += [Rule(path, endpoint=("control", name), methods=methods) for path, name, methods in controls.ROUTES]
        self._urls = Map(rules, strict_slashes=False, merge_slashes=False)

    # --- WSGI -------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # The SDK sends some paths with a double slash (//v3/transfers/{id}): route them as Flutterwave does.
        environ["PATH_INFO"] = _REPEATED_SLASHES.sub("/", environ.get("PATH_INFO") or "/")
        response = self._respond(Request(environ))
        return response(environ, start_response)

    def close(self) -> None:
        """Stop background work: webhook retries, delayed settlements, held (timeout-fault) answers."""
        self._closing.set()
        self._scheduler.close()
        self.webhooks.close()

    def reset(self) -> None:
        """Forget every payment, transaction, refund, transfer, delivery, fault and setting change.

        Ids keep increasing: an id seen before a reset never names a new object after it."""
        with self.lock:
            self._generation += 1
            self.payments.reset()
            self.refunds.reset()
            self.transfers.reset()
            self.webhooks.reset()
            self.config.restore(self._defaults)
        self.faults.clear()

    def _schedule(self, delay: float, callback: Callable[[], None]) -> None:
        generation = self._generation

        def run() -> None:
            if generation == self._generation:
                callback()

        self._scheduler.call_later(delay, run)

    def _respond(self, request: Request) -> Response:
        adapter = self._urls.bind_to_environ(request.environ)
        try:
            (kind, name), args = adapter.match()
        except MethodNotAllowed:
            return error(FlutterwaveError(405, "Method not allowed"))
        except NotFound:
            return error(FlutterwaveError(404, "Not found"))
        except HTTPException as exc:  # e.g. a redirect werkzeug chose to answer
            return exc.get_response(request.environ)
        hold = 0.0
        if kind == "api":
            fault = self.faults.take(name)
            if fault is not None and fault.mode == "error":
                return error(FlutterwaveError(fault.status, "Emulated gateway error"))
            if fault is not None:
                hold = fault.seconds if fault.seconds is not None else self.config.fault_timeout_seconds
            if not self._authorized(request):
                return error(FlutterwaveError(401, INVALID_KEY))
        handlers: dict[str, Handler] = api.HANDLERS if kind == "api" else controls.HANDLERS
        try:
            response = handlers[name](self, request, **args)
        except FlutterwaveError as exc:
            response = error(exc)
        if hold:
            # A read timeout as the client sees it: the work is done, the answer comes too late.
            self._closing.wait(hold)
        return response

    def _authorized(self, request: Request) -> bool:
        scheme, _, key = (request.headers.get("Authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and key.strip() == self.secret_key
