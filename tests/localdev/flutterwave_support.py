"""Drivers for the Flutterwave emulator tests: the app in-process, served on a free port, a webhook
receiver, and the official Node SDK (``localdev/flutterwave/sdk/run.js``) as a child process."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import select
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.test import Client, TestResponse
from werkzeug.wrappers import Request, Response

from localdev.flutterwave import EmulatorConfig, FlutterwaveEmulator
from tests.fixtures.paystack import LocalServer
from tests.helpers import wait_until

SECRET_KEY = "FLWSECK_TEST-unit-0123456789"
PUBLIC_KEY = "FLWPUBK_TEST-unit-0123456789"
SECRET_HASH = "unit-secret-hash"
AUTH = {"Authorization": f"Bearer {SECRET_KEY}"}
PUBLIC_URL = "http://127.0.0.1:3004"
FAST = {"webhook_retry_delays": [0.05, 0.05, 0.05], "webhook_timeout_seconds": 2.0, "transfer_settle_delay_seconds": 0}
SDK_DIR = Path(__file__).resolve().parents[2] / "localdev" / "flutterwave" / "sdk"
FLW_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")
NOT_FOUND = "No transaction was found for this id"
CALL_TIMEOUT = 30.0


def error(response: Any) -> tuple[int, str]:
    """(status, message) of an answer in Flutterwave's error envelope (asserting the envelope)."""
    body = response.get_json()
    assert set(body) == {"status", "message", "data"}
    assert (body["status"], body["data"]) == ("error", None)
    return response.status_code, str(body["message"])


def a_tx_ref() -> str:
    return "ord-" + uuid.uuid4().hex


def a_transfer_reference() -> str:
    return "payout-" + uuid.uuid4().hex


@dataclass(frozen=True)
class ReceivedWebhook:
    body: bytes
    verif_hash: str | None
    content_type: str | None

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class WebhookReceiver:
    """Records every POST as received (raw bytes, ``verif-hash``); answers the scripted statuses, then 200."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[ReceivedWebhook] = []
        self._statuses: dict[bytes, list[int]] = {}
        self.gate = threading.Event()
        self.gate.set()
        self.server = LocalServer(self)
        self.url = self.server.url + "/webhooks/flutterwave"

    def answer(self, key: str, *statuses: int) -> None:
        """Answer the next webhooks whose body mentions ``key`` with ``statuses``, then 200."""
        with self._lock:
            self._statuses.setdefault(key.encode(), []).extend(statuses)

    def received_for(self, key: str) -> list[ReceivedWebhook]:
        with self._lock:
            return [item for item in self._received if key.encode() in item.body]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        self.gate.wait(timeout=10)
        with self._lock:
            body = request.get_data()
            self._received.append(
                ReceivedWebhook(body, request.headers.get("verif-hash"), request.headers.get("Content-Type"))
            )
            status = 200
            for key, statuses in self._statuses.items():
                if key in body and statuses:
                    status = statuses.pop(0)
                    break
        return Response("ok", status)(environ, start_response)

    def close(self) -> None:
        self.gate.set()
        self.server.close()


def emulator_config(**settings: Any) -> EmulatorConfig:
    config = EmulatorConfig()
    config.update({**FAST, **settings})
    return config


class Emulator:
    """The emulator app driven in-process through werkzeug's test client."""

    def __init__(self, webhook_url: str, public_url: str = PUBLIC_URL, **settings: Any) -> None:
        self.app = FlutterwaveEmulator(
            secret_key=SECRET_KEY,
            secret_hash=SECRET_HASH,
            webhook_url=webhook_url,
            public_url=public_url,
            config=emulator_config(**settings),
        )
        self.client = Client(self.app)

    def api(self, method: str, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        return self.client.open(path, method=method, json=body, headers=kwargs.pop("headers", AUTH), **kwargs)

    def raw(self, method: str, path: str, data: str, **kwargs: Any) -> TestResponse:
        """A body sent exactly as written (to put decimals on the wire as a client would)."""
        headers = {**AUTH, "Content-Type": "application/json"}
        return self.client.open(path, method=method, data=data, headers=headers, **kwargs)

    def control(self, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        return self.client.post(f"/_emulator/{path}", json=body, **kwargs)

    def create_payment(self, amount: Any = 2500, currency: str = "NGN", **extra: Any) -> tuple[str, str]:
        """A hosted link; returns (tx_ref, link)."""
        tx_ref = extra.pop("tx_ref", None) or a_tx_ref()
        body = {
            "tx_ref": tx_ref,
            "amount": amount,
            "currency": currency,
            "redirect_url": "http://127.0.0.1:3000/orders/return",
            "customer": {"email": "buyer@example.com", "name": "Ada Buyer"},
            **extra,
        }
        response = self.api("POST", "/v3/payments", body)
        assert response.status_code == 200, response.get_json()
        return tx_ref, str(response.get_json()["data"]["link"])

    def paid(self, amount: Any = 2500, currency: str = "NGN", *, pay: dict[str, Any] | None = None) -> dict[str, Any]:
        """A payment paid at once (``pay``: the control's body); returns the successful transaction."""
        tx_ref, _ = self.create_payment(amount, currency)
        response = self.control(f"transactions/{tx_ref}/pay", pay)
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json()["data"])

    def verify(self, transaction_id: int) -> dict[str, Any]:
        response = self.api("GET", f"/v3/transactions/{transaction_id}/verify")
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json()["data"])

    def transfer(self, reference: str | None = None, **body: Any) -> TestResponse:
        transfer = {
            "account_bank": "044",
            "account_number": "0690000040",
            "amount": 5500,
            "currency": "NGN",
            "narration": "Payout",
            "reference": reference or a_transfer_reference(),
            **body,
        }
        return self.api("POST", "/v3/transfers", transfer)

    def transfer_status(self, transfer_id: int) -> str:
        return str(self.api("GET", f"/v3/transfers/{transfer_id}").get_json()["data"]["status"])

    def deliveries(self, **query: str) -> list[dict[str, Any]]:
        return list(self.client.get("/_emulator/webhooks", query_string=query).get_json()["items"])

    def finished_deliveries(self, reference: str, count: int = 1) -> list[dict[str, Any]]:
        def done() -> list[dict[str, Any]]:
            items = [item for item in self.deliveries(reference=reference) if item["status"] != "pending"]
            return items if len(items) >= count else []

        return wait_until(done, what=f"{count} finished deliveries for {reference}")

    def close(self) -> None:
        self.app.close()


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str  # raw, as in the request line
    query: str
    body: bytes


class _RequestLineHandler(WSGIRequestHandler):
    """Keeps the request line as the client sent it: Python's http.server reduces a leading ``//`` to ``/``
    before werkzeug (and the emulator) see the path."""

    def make_environ(self) -> dict[str, Any]:
        environ = dict(super().make_environ())
        environ["test.request_line"] = self.requestline
        return environ


class ServedEmulator(Emulator):
    """The emulator on a real socket (127.0.0.1, free port), for clients that speak HTTP (the SDK).

    ``requests`` records each request as the client sent it: its request line and its body."""

    def __init__(self, webhook_url: str, **settings: Any) -> None:
        self.requests: list[SeenRequest] = []
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self._recorded, threaded=True, request_handler=_RequestLineHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        super().__init__(webhook_url, public_url=self.url, **settings)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _recorded(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        parts = str(environ.get("test.request_line", "")).split(" ")
        method, target = (parts[0], parts[1]) if len(parts) >= 2 else (environ["REQUEST_METHOD"], environ["PATH_INFO"])
        path, _, query = target.partition("?")
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        self.requests.append(SeenRequest(method, path, query, body))
        return self.app(environ, start_response)

    def close(self) -> None:
        super().close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class SdkError(AssertionError):
    pass


class Sdk:
    """``flutterwave-node-v3`` in a node child process (``run.js``): one JSON line per call."""

    def __init__(self, base_url: str, secret_key: str = SECRET_KEY) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(SDK_DIR)),
            "FLW_BASE_URL": base_url,
            "FLW_PUBLIC_KEY": PUBLIC_KEY,
            "FLW_SECRET_KEY": secret_key,
        }
        self._process = subprocess.Popen(
            [node_binary(), str(SDK_DIR / "run.js")],
            cwd=SDK_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._ids = itertools.count(1)

    def _send(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        message_id = next(self._ids)
        self._process.stdin.write(json.dumps({"id": message_id, **message}) + "\n")
        self._process.stdin.flush()
        ready, _, _ = select.select([self._process.stdout], [], [], CALL_TIMEOUT)
        if not ready:
            raise SdkError(f"no answer from the SDK runner in {CALL_TIMEOUT}s: {self._stderr()}")
        line = self._process.stdout.readline()
        if not line:
            raise SdkError(f"the SDK runner exited: {self._stderr()}")
        reply = dict(json.loads(line))
        assert reply["id"] == message_id
        return reply

    def call(self, name: str, args: Any = None) -> dict[str, Any]:
        """What the SDK call resolved with (Flutterwave's body); fails the test if it rejected."""
        reply = self._send({"call": name, "args": args})
        if not reply["ok"]:
            raise SdkError(f"{name} rejected: {reply['error']}")
        return dict(reply["result"])

    def rejection(self, name: str, args: Any = None) -> dict[str, Any]:
        """The error a call rejected with (the SDK's own validation); fails the test if it resolved."""
        reply = self._send({"call": name, "args": args})
        if reply["ok"]:
            raise SdkError(f"{name} resolved: {reply['result']}")
        return dict(reply["error"])

    def status(self) -> dict[str, Any]:
        return dict(self._send({"op": "status"})["result"])

    def _stderr(self) -> str:
        self._process.kill()
        _, err = self._process.communicate(timeout=10)
        return err

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()


def node_binary() -> str:
    node = shutil.which("node")
    assert node is not None
    return node


def sdk_unavailable() -> str | None:
    """Why the SDK tests cannot run here, or None. Only a missing node skips; a missing install fails."""
    if shutil.which("node") is None:
        return "node is not installed: the Flutterwave SDK tests need Node.js 18+ (and `make flutterwave-sdk`)"
    return None


def assert_sdk_installed() -> None:
    if not (SDK_DIR / "node_modules" / "flutterwave-node-v3" / "package.json").exists():
        raise AssertionError(
            f"flutterwave-node-v3 is not installed in {SDK_DIR}: run `make flutterwave-sdk` (npm ci from the lock file)"
        )
