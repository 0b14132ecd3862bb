"""Gateway webhook receiver: check the signature over the raw body, enqueue, answer 200 at once.

No database write and no gateway call happen here; the payments consumer verifies every
event with the gateway's API. Imports are kept to what signature checking and one SQS send
need (no resolver, no pydantic): this function must stay fast when Paystack retries in bursts.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.gateways.credentials import paystack_secret_key
from market.gateways.paystack_signature import SIGNATURE_HEADER, verify_webhook_signature

logger = Logger()
PROBLEM_TYPE_BASE = "https://errors.marketplace.dev/"
QUEUED_EVENT_PREFIXES = ("charge.", "transfer.", "refund.")


@dataclass(frozen=True)
class ReceiverSettings:
    """What the receiver reads from its environment, once (a light stand-in for market.settings)."""

    payments_queue_url: str
    max_body_bytes: int


@lru_cache(maxsize=1)
def receiver_settings() -> ReceiverSettings:
    return ReceiverSettings(
        payments_queue_url=os.environ["PAYMENTS_QUEUE_URL"],
        max_body_bytes=int(os.environ.get("WEBHOOK_MAX_BODY_BYTES", str(64 * 1024))),
    )


@lru_cache(maxsize=1)
def sqs_client() -> Any:
    import boto3  # created on the first webhook, kept for the container

    return boto3.client("sqs")


def problem(status: int, slug: str, title: str, detail: str) -> dict[str, Any]:
    body = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    return {
        "statusCode": status,
        "headers": {"content-type": "application/problem+json", "cache-control": "no-store"},
        "body": json.dumps(body),
    }


def raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body, validate=True)
    return str(body).encode("utf-8")


def queue_message(gateway: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The consumer's message: which gateway, which event, which reference; never the body's values."""
    event_name = payload.get("event")
    data = payload.get("data")
    if not isinstance(event_name, str) or not isinstance(data, dict):
        return None
    if event_name.startswith("refund."):
        reference = data.get("transaction_reference") or (data.get("transaction") or {}).get("reference")
    else:
        reference = data.get("reference")
    if not isinstance(reference, str) or not reference:
        return None
    message: dict[str, Any] = {
        "gateway": gateway,
        "event": event_name,
        "reference": reference,
        "received_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
    }
    refund_id = data.get("id") if event_name.startswith("refund.") else None
    if refund_id is not None:
        message["refund_id"] = str(refund_id)
    return message


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = receiver_settings()
    try:
        body = raw_body(event)
    except (binascii.Error, ValueError):
        return problem(400, "bad-request", "Bad Request", "The body is not valid base64.")
    if len(body) > settings.max_body_bytes:
        return problem(413, "payload-too-large", "Payload Too Large", "The webhook body is too large.")
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    if not verify_webhook_signature(body, headers.get(SIGNATURE_HEADER), paystack_secret_key()):
        logger.warning("webhook signature rejected", gateway="paystack")
        return problem(401, "invalid-signature", "Unauthorized", "The webhook signature is missing or wrong.")
    try:
        payload = json.loads(body)
    except ValueError:
        return problem(400, "bad-request", "Bad Request", "The body is not JSON.")
    message = queue_message("paystack", payload) if isinstance(payload, dict) else None
    if message is None or not message["event"].startswith(QUEUED_EVENT_PREFIXES):
        logger.info(
            "webhook ignored",
            gateway="paystack",
            gateway_event=str(payload.get("event")) if isinstance(payload, dict) else None,
        )
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"received": true}'}
    sqs_client().send_message(
        QueueUrl=settings.payments_queue_url,
        MessageBody=json.dumps(message),
        MessageAttributes={
            "correlation_id": {"DataType": "String", "StringValue": str(logger.get_correlation_id() or "")},
        }
        if logger.get_correlation_id()
        else {},
    )
    logger.info("webhook queued", gateway="paystack", gateway_event=message["event"], reference=message["reference"])
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"received": true}'}
