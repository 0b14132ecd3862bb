"""The running local stack serves the Flutterwave emulator, whose webhooks go to the local API."""

from __future__ import annotations

import os
import uuid

import requests

from tests.fixtures.stack import Stack
from tests.helpers import wait_until

KEY = {"Authorization": f"Bearer {os.environ.get('FLUTTERWAVE_SECRET_KEY', 'FLWSECK_TEST-local')}"}


def test_the_stack_serves_the_flutterwave_emulator_and_its_webhooks_reach_the_local_api(stack: Stack) -> None:
    assert requests.get(f"{stack.flutterwave}/health", timeout=10).json() == {"status": "ok"}
    tx_ref = "itest-" + uuid.uuid4().hex
    body = {
        "tx_ref": tx_ref,
        "amount": 1500.5,
        "currency": "NGN",
        "redirect_url": f"{stack.api}/health",
        "customer": {"email": "buyer@example.com"},
    }

    created = requests.post(f"{stack.flutterwave}/v3/payments", json=body, headers=KEY, timeout=10)
    link = created.json()["data"]["link"]
    paid = requests.post(f"{stack.flutterwave}/_emulator/transactions/{tx_ref}/pay", timeout=10)

    assert link.startswith(f"{stack.flutterwave}/hosted/pay/")
    assert requests.get(link, timeout=10).status_code == 200
    assert paid.json()["data"]["amount"] == 1500.5

    def attempted() -> list[dict[str, object]]:
        items = requests.get(f"{stack.flutterwave}/_emulator/webhooks", params={"reference": tx_ref}, timeout=10)
        return [item for item in items.json()["items"] if item["attempts"]]

    delivery = wait_until(attempted, timeout=30, what="a charge.completed delivery attempt")[0]
    assert delivery["url"] == f"{stack.api}/webhooks/flutterwave"
    assert delivery["attempts"][0]["status_code"] is not None  # the local API answered (whatever the route does)
