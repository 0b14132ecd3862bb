"""Shared fixtures and helpers of the Paystack emulator tests (loaded explicitly by each test module).

Not a conftest.py: tests/localdev also holds other emulators' tests, each with its own fixtures module.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from localdev.paystack import EmulatorConfig, PaystackEmulator
from tests.fixtures.paystack import SECRET_KEY, WebhookReceiver
from tests.helpers import wait_until

PUBLIC_URL = "http://127.0.0.1:3001"
AUTH = {"Authorization": f"Bearer {SECRET_KEY}"}
PAYSTACK_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")


@pytest.fixture(scope="module", name="receiver")
def receiver_fixture() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


class Emulator:
    """The emulator app driven in-process through werkzeug's test client."""

    def __init__(self, receiver: WebhookReceiver, webhook_url: str | None = None, **settings: Any) -> None:
        config = EmulatorConfig()
        config.update({"webhook_retry_delays": [0.05, 0.05, 0.05], "webhook_timeout_seconds": 2.0, **settings})
        self.app = PaystackEmulator(
            secret_key=SECRET_KEY, webhook_url=webhook_url or receiver.url, public_url=PUBLIC_URL, config=config
        )
        self.client = Client(self.app)
        self.receiver = receiver

    def api(self, method: str, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        return self.client.open(path, method=method, json=body, headers=kwargs.pop("headers", AUTH), **kwargs)

    def control(self, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        return self.client.post(f"/_emulator/{path}", json=body, **kwargs)

    def initialize(self, amount: int = 250_000, currency: str = "NGN", **extra: Any) -> dict[str, Any]:
        body = {"email": "buyer@example.com", "amount": amount, "currency": currency, "reference": a_reference()}
        response = self.api("POST", "/transaction/initialize", {**body, **extra})
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json()["data"])

    def verify(self, reference: str) -> dict[str, Any]:
        response = self.api("GET", f"/transaction/verify/{reference}")
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json()["data"])

    def paid(self, amount: int = 250_000, reference: str | None = None) -> str:
        reference = str(self.initialize(amount, reference=reference or a_reference())["reference"])
        assert self.control(f"transactions/{reference}/pay").status_code == 200
        return reference

    def deliveries(self, **query: str) -> list[dict[str, Any]]:
        return list(self.client.get("/_emulator/webhooks", query_string=query).get_json()["items"])

    def delivered(self, reference: str, count: int = 1) -> list[dict[str, Any]]:
        def done() -> list[dict[str, Any]]:
            items = [item for item in self.deliveries(reference=reference) if item["status"] != "pending"]
            return items if len(items) >= count else []

        return wait_until(done, what=f"{count} finished deliveries for {reference}")

    def recipient(self, account_number: str = "0123456789", bank_code: str = "058") -> str:
        body = {
            "type": "nuban",
            "name": "Ada",
            "account_number": account_number,
            "bank_code": bank_code,
            "currency": "NGN",
        }
        return str(self.api("POST", "/transferrecipient", body).get_json()["data"]["recipient_code"])

    def transfer(self, reference: str, amount: int = 50_000) -> TestResponse:
        body = {"source": "balance", "amount": amount, "recipient": self.recipient(), "reference": reference}
        return self.api("POST", "/transfer", body)


@pytest.fixture(name="paystack")
def paystack_fixture(receiver: WebhookReceiver) -> Iterator[Emulator]:
    emulator = Emulator(receiver)
    yield emulator
    emulator.app.close()


def a_reference() -> str:
    return "ord-" + uuid.uuid4().hex


def a_transfer_reference() -> str:
    return "payout-" + uuid.uuid4().hex


def error(response: TestResponse) -> tuple[int, str]:
    body = response.get_json()
    assert body["status"] is False
    return response.status_code, str(body["message"])


def received_for(receiver: WebhookReceiver, reference: str) -> list[Any]:
    return [item for item in receiver.received if reference.encode() in item.body]
