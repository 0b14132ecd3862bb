"""Webhook receiver in process (functions/webhook/receiver.py): the signature over the raw body decides,
and only a signed, known event reaches the payments queue (real moto SQS), in the consumer's format.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from market.gateways.paystack_webhook import sign
from tests.fixtures.aws import AwsResources
from tests.fixtures.events import http_event, json_body, lambda_context, webhook_receiver
from tests.fixtures.payments import drain

SECRET = "sk_test_local"  # what tests/conftest.py sets as PAYSTACK_SECRET_KEY
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def charge_success(reference: str = "mkt-ord-1", amount: int = 250_000) -> dict[str, Any]:
    """A Paystack charge.success webhook body, shaped as Paystack sends it."""
    return {
        "event": "charge.success",
        "data": {
            "id": 302961,
            "domain": "test",
            "status": "success",
            "reference": reference,
            "amount": amount,
            "currency": "NGN",
            "gateway_response": "Approved",
            "paid_at": "2026-01-05T10:30:00.000Z",
            "channel": "card",
            "customer": {"email": "buyer@example.com"},
            "metadata": {"order_id": "ord_1"},
        },
    }


@pytest.fixture
def receiver(aws_resources: AwsResources) -> Iterator[Any]:
    yield from webhook_receiver()


@pytest.fixture
def queue_url(aws_resources: AwsResources) -> str:
    return aws_resources.queue_urls["PaymentsQueue"]


def post(
    receiver: Any, raw: bytes, signature: str | None, *, base64_encoded: bool = False
) -> tuple[int, Any, dict[str, str], str]:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-paystack-signature"] = signature
    body = base64.b64encode(raw).decode() if base64_encoded else raw.decode("utf-8")
    event = http_event("POST", "/webhooks/paystack", body=body, headers=headers)
    event["isBase64Encoded"] = base64_encoded
    response = receiver.lambda_handler(event, lambda_context("WebhookFunction"))
    response_headers = {key.lower(): str(value) for key, value in (response.get("headers") or {}).items()}
    return response["statusCode"], json_body(response), response_headers, event["requestContext"]["requestId"]


def signed(payload: dict[str, Any]) -> tuple[bytes, str]:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return raw, sign(raw, SECRET)


def assert_problem(status: int, body: Any, headers: dict[str, str], expected: int) -> None:
    assert status == expected, body
    assert headers["content-type"] == "application/problem+json"
    assert body["status"] == expected
    assert {"type", "title", "status", "detail"} <= set(body)


# ---------------------------------------------------------------- accepted


def test_a_signed_charge_success_is_queued_once_and_answered_200(receiver: Any, queue_url: str) -> None:
    raw, signature = signed(charge_success("mkt-ord-abc"))

    status, body, _, request_id = post(receiver, raw, signature)

    assert (status, body) == (200, {"received": True})
    messages = drain(queue_url)
    assert len(messages) == 1
    message = messages[0]["body"]
    assert set(message) == {"gateway", "event", "gateway_event", "reference", "received_at"}
    assert (message["gateway"], message["event"], message["gateway_event"], message["reference"]) == (
        "paystack",
        "payment.succeeded",
        "charge.success",
        "mkt-ord-abc",
    )
    assert ISO_Z.match(message["received_at"])
    # The correlation id (the API request id) follows the event into the queue.
    assert messages[0]["attributes"]["correlation_id"]["StringValue"] == request_id


def test_the_signature_is_checked_over_the_raw_bytes_as_sent(receiver: Any, queue_url: str) -> None:
    # Spacing and key order that json.dumps would not reproduce: only the raw bytes verify.
    raw = b'{ "data" : {"reference":"mkt-ord-raw", "status":"success"},\n  "event":"charge.success" }'

    status, _, _, _ = post(receiver, raw, sign(raw, SECRET))

    assert status == 200
    assert [m["body"]["reference"] for m in drain(queue_url)] == ["mkt-ord-raw"]


def test_an_uppercase_hex_signature_is_accepted(receiver: Any, queue_url: str) -> None:
    raw, signature = signed(charge_success())

    status, _, _, _ = post(receiver, raw, signature.upper())

    assert status == 200
    assert len(drain(queue_url)) == 1


def test_a_base64_encoded_body_with_a_valid_signature_is_accepted(receiver: Any, queue_url: str) -> None:
    raw, signature = signed(charge_success("mkt-ord-b64"))

    status, _, _, _ = post(receiver, raw, signature, base64_encoded=True)

    assert status == 200
    assert [m["body"]["reference"] for m in drain(queue_url)] == ["mkt-ord-b64"]


def test_a_refund_event_is_queued_with_its_transaction_reference_and_refund_id(receiver: Any, queue_url: str) -> None:
    raw, signature = signed(
        {"event": "refund.processed", "data": {"id": 1234, "transaction_reference": "mkt-ord-r", "status": "processed"}}
    )

    status, _, _, _ = post(receiver, raw, signature)

    assert status == 200
    [message] = drain(queue_url)
    assert {k: message["body"][k] for k in ("event", "reference", "refund_id")} == {
        "event": "refund.processed",
        "reference": "mkt-ord-r",
        "refund_id": "1234",
    }


# ---------------------------------------------------------------- refused: signature


def test_a_forged_signature_is_401_and_nothing_is_queued(receiver: Any, queue_url: str) -> None:
    raw = json.dumps(charge_success()).encode()

    assert_problem(*post(receiver, raw, sign(raw, "sk_test_someone_else"))[:3], 401)
    assert drain(queue_url) == []


def test_a_missing_signature_is_401_and_nothing_is_queued(receiver: Any, queue_url: str) -> None:
    raw = json.dumps(charge_success()).encode()

    assert_problem(*post(receiver, raw, None)[:3], 401)
    assert drain(queue_url) == []


@pytest.mark.parametrize("signature", ["", "not-hex", "ab" * 64])
def test_an_empty_or_malformed_signature_is_401(receiver: Any, queue_url: str, signature: str) -> None:
    raw = json.dumps(charge_success()).encode()

    assert_problem(*post(receiver, raw, signature)[:3], 401)
    assert drain(queue_url) == []


def test_a_tampered_body_is_401_and_nothing_is_queued(receiver: Any, queue_url: str) -> None:
    raw, signature = signed(charge_success("mkt-ord-cheap"))
    tampered = raw.replace(b"mkt-ord-cheap", b"mkt-ord-dear1")

    assert_problem(*post(receiver, tampered, signature)[:3], 401)
    assert drain(queue_url) == []


def test_a_base64_body_whose_decoded_bytes_were_tampered_is_401(receiver: Any, queue_url: str) -> None:
    raw, signature = signed(charge_success("mkt-ord-cheap"))
    tampered = raw.replace(b"250000", b"250001")

    assert_problem(*post(receiver, tampered, signature, base64_encoded=True)[:3], 401)
    assert drain(queue_url) == []


def test_a_signature_of_the_base64_text_instead_of_the_bytes_is_401(receiver: Any, queue_url: str) -> None:
    raw = json.dumps(charge_success()).encode()
    signature_of_encoded = sign(base64.b64encode(raw), SECRET)

    assert_problem(*post(receiver, raw, signature_of_encoded, base64_encoded=True)[:3], 401)
    assert drain(queue_url) == []


# ---------------------------------------------------------------- refused: body


def test_a_body_over_the_cap_is_413_and_nothing_is_queued(receiver: Any, queue_url: str) -> None:
    payload = charge_success()
    payload["data"]["metadata"] = {"padding": "x" * (64 * 1024)}
    raw, signature = signed(payload)

    assert_problem(*post(receiver, raw, signature)[:3], 413)
    assert drain(queue_url) == []


def test_a_body_just_under_the_cap_is_accepted(receiver: Any, queue_url: str) -> None:
    payload = charge_success()
    base = len(json.dumps(payload, separators=(",", ":")).encode())
    payload["data"]["metadata"] = {"padding": ""}
    overhead = len(json.dumps(payload, separators=(",", ":")).encode()) - base
    payload["data"]["metadata"] = {"padding": "x" * (64 * 1024 - base - overhead)}
    raw, signature = signed(payload)
    assert len(raw) == 64 * 1024

    status, _, _, _ = post(receiver, raw, signature)

    assert status == 200
    assert len(drain(queue_url)) == 1


def test_a_signed_body_that_is_not_json_is_400(receiver: Any, queue_url: str) -> None:
    raw = b"event=charge.success&reference=mkt-ord-1"

    assert_problem(*post(receiver, raw, sign(raw, SECRET))[:3], 400)
    assert drain(queue_url) == []


def test_a_body_that_is_not_valid_base64_is_400(receiver: Any, queue_url: str) -> None:
    event = http_event("POST", "/webhooks/paystack", body="@@not base64@@", headers={"x-paystack-signature": "00"})
    event["isBase64Encoded"] = True

    response = receiver.lambda_handler(event, lambda_context("WebhookFunction"))

    assert response["statusCode"] == 400
    assert json_body(response)["status"] == 400
    assert drain(queue_url) == []


# ---------------------------------------------------------------- acknowledged, not queued


@pytest.mark.parametrize(
    "payload",
    [
        {"event": "subscription.create", "data": {"reference": "mkt-ord-1"}},
        {"event": "customeridentification.success", "data": {"customer_id": 82796315}},
        {"event": "charge.success", "data": {"status": "success"}},  # no reference
        {"event": "charge.success", "data": "not an object"},
        {"data": {"reference": "mkt-ord-1"}},  # no event
        [{"event": "charge.success", "data": {"reference": "mkt-ord-1"}}],  # not an object
    ],
    ids=["subscription", "identification", "no-reference", "data-not-object", "no-event", "array"],
)
def test_a_signed_event_we_do_not_handle_is_acknowledged_and_not_queued(
    receiver: Any, queue_url: str, payload: Any
) -> None:
    raw = json.dumps(payload).encode()

    status, body, _, _ = post(receiver, raw, sign(raw, SECRET))

    assert (status, body) == (200, {"received": True})
    assert drain(queue_url) == []
