"""``POST /webhooks/flutterwave`` in process (functions/webhook/receiver.py): the ``verif-hash`` header decides,
and a verified, known event reaches the payments queue (real moto SQS) in the consumer's neutral words.

Flutterwave v3 does not sign the body: the header is the dashboard's secret hash, compared in constant
time. A body that passes is only a hint; the consumer verifies with the API (tested with the consumer).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from market.gateways import flutterwave_webhook
from tests.fixtures.aws import AwsResources
from tests.fixtures.events import http_event, json_body, lambda_context, webhook_receiver
from tests.fixtures.payments import drain

SECRET_HASH = "local-hash"  # what tests/conftest.py sets as FLUTTERWAVE_SECRET_HASH


def charge_completed(tx_ref: str = "mkt-ord-1", status: str = "successful", **data: Any) -> dict[str, Any]:
    """A charge.completed webhook as Flutterwave v3 sends it (amounts in major units)."""
    return {
        "event": "charge.completed",
        "data": {
            "id": 285959875,
            "tx_ref": tx_ref,
            "flw_ref": "FLW-MOCK-1b6f0b5d",
            "amount": 2500,
            "currency": "NGN",
            "charged_amount": 2500,
            "app_fee": 35,
            "status": status,
            "payment_type": "card",
            "created_at": "2026-01-05T10:30:00.000Z",
            "customer": {"id": 215604089, "email": "buyer@example.com"},
            **data,
        },
        "event.type": "CARD_TRANSACTION",
    }


def transfer_completed(reference: str = "po_1", status: str = "SUCCESSFUL") -> dict[str, Any]:
    return {
        "event": "transfer.completed",
        "event.type": "Transfer",
        "data": {
            "id": 33286,
            "account_number": "0690000031",
            "bank_code": "044",
            "amount": 2000,
            "currency": "NGN",
            "fee": 10.75,
            "status": status,
            "reference": reference,
            "complete_message": "Transaction was successful",
        },
    }


@pytest.fixture
def receiver(aws_resources: AwsResources) -> Iterator[Any]:
    yield from webhook_receiver()


@pytest.fixture
def queue_url(aws_resources: AwsResources) -> str:
    return aws_resources.queue_urls["PaymentsQueue"]


def post(receiver: Any, payload: Any, verif_hash: str | None = SECRET_HASH, *, raw: bytes | None = None) -> Any:
    headers = {"content-type": "application/json"}
    if verif_hash is not None:
        headers["verif-hash"] = verif_hash
    body = (raw if raw is not None else json.dumps(payload).encode()).decode()
    response = receiver.lambda_handler(
        http_event("POST", "/webhooks/flutterwave", body=body, headers=headers), lambda_context("WebhookFunction")
    )
    return response["statusCode"], json_body(response), {k.lower(): v for k, v in response["headers"].items()}


def queued(queue_url: str) -> list[dict[str, Any]]:
    return [message["body"] for message in drain(queue_url)]


# ---------------------------------------------------------------- accepted


def test_a_successful_charge_is_queued_with_its_transaction_id(receiver: Any, queue_url: str) -> None:
    status, body, _ = post(receiver, charge_completed("mkt-ord-abc"))

    assert (status, body) == (200, {"received": True})
    [message] = queued(queue_url)
    assert {k: message[k] for k in ("gateway", "event", "gateway_event", "reference", "transaction_id")} == {
        "gateway": "flutterwave",
        "event": "payment.succeeded",
        "gateway_event": "charge.completed",
        "reference": "mkt-ord-abc",
        "transaction_id": "285959875",
    }


def test_a_failed_charge_is_queued_as_a_failed_payment(receiver: Any, queue_url: str) -> None:
    post(receiver, charge_completed("mkt-ord-declined", status="failed"))

    [message] = queued(queue_url)
    assert (message["event"], message["reference"]) == ("payment.failed", "mkt-ord-declined")


@pytest.mark.parametrize(("status", "event"), [("SUCCESSFUL", "transfer.succeeded"), ("FAILED", "transfer.failed")])
def test_a_completed_transfer_is_queued_by_its_status(receiver: Any, queue_url: str, status: str, event: str) -> None:
    post(receiver, transfer_completed("po_abc", status))

    [message] = queued(queue_url)
    assert (message["gateway"], message["event"], message["reference"]) == ("flutterwave", event, "po_abc")


@pytest.mark.parametrize(
    "payload",
    [
        # createdAt instead of created_at, as some payloads carry it
        {
            "event": "charge.completed",
            "data": {"id": 1, "tx_ref": "mkt-ord-v", "status": "successful", "createdAt": "x"},
        },
        # an older hook: the fields at the top level, no "event", the camel-case txRef
        {"id": 1, "txRef": "mkt-ord-v", "status": "successful", "event.type": "CARD_TRANSACTION"},
        # no transaction id at all: the consumer verifies by tx_ref
        {"event": "charge.completed", "data": {"tx_ref": "mkt-ord-v"}},
    ],
    ids=["createdAt", "v2-top-level", "no-id"],
)
def test_payloads_that_vary_are_still_read(receiver: Any, queue_url: str, payload: dict[str, Any]) -> None:
    status, _, _ = post(receiver, payload)

    assert status == 200
    assert [m["reference"] for m in queued(queue_url)] == ["mkt-ord-v"]


def test_the_hash_may_come_from_an_ssm_securestring(
    receiver: Any, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "/market/unit/flutterwave-hash-" + uuid.uuid4().hex
    boto3.client("ssm", region_name="us-east-1").put_parameter(Name=name, Value="hash-from-ssm", Type="SecureString")
    monkeypatch.setenv("FLUTTERWAVE_SECRET_HASH", "")
    monkeypatch.setenv("FLUTTERWAVE_SECRET_HASH_PARAMETER", name)

    refused, _, _ = post(receiver, charge_completed(), SECRET_HASH)
    accepted, _, _ = post(receiver, charge_completed(), "hash-from-ssm")

    assert (refused, accepted) == (401, 200)
    assert len(queued(queue_url)) == 1


# ---------------------------------------------------------------- refused


@pytest.mark.parametrize("verif_hash", [None, "", "local-hash-not", "LOCAL-HASH", "wrong"])
def test_a_missing_or_wrong_hash_is_401_and_nothing_is_queued(receiver: Any, queue_url: str, verif_hash: Any) -> None:
    status, body, headers = post(receiver, charge_completed(), verif_hash)

    assert status == 401
    assert headers["content-type"] == "application/problem+json"
    assert body["status"] == 401
    assert {"type", "title", "detail"} <= set(body)
    assert queued(queue_url) == []


def test_a_paystack_signature_is_no_flutterwave_hash(receiver: Any, queue_url: str) -> None:
    event = http_event(
        "POST", "/webhooks/flutterwave", body=json.dumps(charge_completed()), headers={"x-paystack-signature": "ab"}
    )

    response = receiver.lambda_handler(event, lambda_context("WebhookFunction"))

    assert response["statusCode"] == 401
    assert queued(queue_url) == []


def test_a_body_that_is_not_json_with_the_right_hash_is_400(receiver: Any, queue_url: str) -> None:
    status, body, _ = post(receiver, None, raw=b"event=charge.completed&tx_ref=mkt-ord-1")

    assert (status, body["status"]) == (400, 400)
    assert queued(queue_url) == []


# ---------------------------------------------------------------- acknowledged, not queued


@pytest.mark.parametrize(
    "payload",
    [
        {"event": "charge.completed"},  # data missing
        {"event": "charge.completed", "data": None},
        {"event": "charge.completed", "data": {"status": "successful"}},  # no tx_ref
        {"event": "transfer.completed", "data": {"reference": "po_1", "status": "NEW"}},  # nothing happened yet
        {"event": "transfer.completed", "data": {"status": "SUCCESSFUL"}},  # no reference
        {"event": "subscription.cancelled", "data": {"id": 1}},
        {"data": {"tx_ref": "mkt-ord-1"}},  # neither event nor event.type
        ["not", "an", "object"],
        "a string",
    ],
    ids=["no-data", "null-data", "no-tx-ref", "transfer-new", "transfer-no-ref", "unknown", "no-event", "list", "str"],
)
def test_a_verified_event_we_cannot_act_on_is_acknowledged_and_not_queued(
    receiver: Any, queue_url: str, payload: Any
) -> None:
    status, body, _ = post(receiver, payload)

    assert (status, body) == (200, {"received": True})
    assert queued(queue_url) == []


def test_the_hash_check_is_exact() -> None:
    headers = {"verif-hash": "local-hash"}

    assert flutterwave_webhook.verify(b"{}", headers, "local-hash")
    assert flutterwave_webhook.verify(b"{}", {"verif-hash": " local-hash "}, "local-hash")  # header whitespace
    assert not flutterwave_webhook.verify(b"{}", headers, "")
    assert not flutterwave_webhook.verify(b"{}", {}, "local-hash")
    assert not flutterwave_webhook.verify(b"{}", {"verif-hash": "local-has"}, "local-hash")
    assert not flutterwave_webhook.verify(b"{}", {"verif-hash": "lòcal-hash"}, "local-hash")
