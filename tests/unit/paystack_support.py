"""In-process servers for the Paystack emulator tests: the emulator and a webhook receiver on ephemeral ports."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from localdev.paystack import EmulatorConfig, PaystackEmulator

SECRET_KEY = "sk_test_unit_0123456789"
FAST_WEBHOOKS = {"webhook_retry_delays": (0.05, 0.05, 0.05), "webhook_timeout_seconds": 2.0}


class LocalServer:
    """A WSGI app served by werkzeug's threaded server on 127.0.0.1:<free port>."""

    def __init__(self, app: Callable[..., Iterable[bytes]] | None = None) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class ReceivedWebhook:
    body: bytes
    signature: str | None
    content_type: str | None


class WebhookReceiver:
    """Records every POST as received (raw bytes and headers); answers the scripted statuses, then 200."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[ReceivedWebhook] = []
        self._statuses: dict[bytes, list[int]] = {}
        self._waiting = 0
        self.gate = threading.Event()
        self.gate.set()
        self.server = LocalServer(self)
        self.url = self.server.url + "/webhooks/paystack"

    def answer(self, reference: str, *statuses: int) -> None:
        """Answer the next webhooks whose body mentions ``reference`` with ``statuses``, then 200."""
        with self._lock:
            self._statuses.setdefault(reference.encode(), []).extend(statuses)

    @property
    def waiting(self) -> int:
        """How many requests are in flight, held at the gate."""
        with self._lock:
            return self._waiting

    @property
    def received(self) -> list[ReceivedWebhook]:
        with self._lock:
            return list(self._received)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        with self._lock:
            self._waiting += 1
        self.gate.wait(timeout=10)
        with self._lock:
            self._waiting -= 1
            body = request.get_data()
            self._received.append(
                ReceivedWebhook(
                    body=body,
                    signature=request.headers.get("x-paystack-signature"),
                    content_type=request.headers.get("Content-Type"),
                )
            )
            status = 200
            for reference, statuses in self._statuses.items():
                if reference in body and statuses:
                    status = statuses.pop(0)
                    break
        return Response("ok", status)(environ, start_response)

    def close(self) -> None:
        self.gate.set()
        self.server.close()


class RunningEmulator:
    """The emulator served on a free port, sending webhooks to ``webhook_url``."""

    def __init__(self, webhook_url: str, **settings: Any) -> None:
        config = EmulatorConfig()
        config.update({**FAST_WEBHOOKS, **settings})
        self.server = LocalServer()
        self.url = self.server.url
        self.emulator = PaystackEmulator(
            secret_key=SECRET_KEY, webhook_url=webhook_url, public_url=self.url, config=config
        )
        self.server.app = self.emulator

    def close(self) -> None:
        self.emulator.close()
        self.server.close()


def unused_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
