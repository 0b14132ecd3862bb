"""Gateway webhook receiver: check the signature over the raw body, enqueue, answer 200 at once.

``POST /webhooks/<gateway>``: the gateway's profile (``market.gateways.profiles``) verifies the
webhook and says what it means; a signed event we act on goes to the payments queue as a
``GatewayEventMessage``. No database write and no gateway call happen here: the payments consumer
verifies every event with the gateway's API. Imports are kept to what signature checking and one
SQS send need (no resolver, no pydantic): this function must stay fast when a gateway retries in
bursts.
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

from market.gateways.profiles import PROFILES
from market.messages import GatewayEventMessage, send
from market.problem import PROBLEM_JSON, problem_body

logger = Logger()
NOSNIFF = {"x-content-type-options": "nosniff"}
RECEIVED = {
    "statusCode": 200,
    "headers": {"content-type": "application/json", **NOSNIFF},
    "body": '{"received": true}',
}


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
    return {
        "statusCode": status,
        "headers": {"content-type": PROBLEM_JSON, "cache-control": "no-store", **NOSNIFF},
        "body": json.dumps(problem_body(status, slug, title, detail)),
    }


def raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body, validate=True)
    return str(body).encode("utf-8", "surrogatepass")


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    gateway = str(event.get("rawPath") or "").rstrip("/").rpartition("/")[2]
    profile = PROFILES.get(gateway)
    if profile is None:
        return problem(404, "not-found", "Not Found", "No gateway takes webhooks at this path.")
    settings = receiver_settings()
    try:
        body = raw_body(event)
    except (binascii.Error, ValueError):
        return problem(400, "bad-request", "Bad Request", "The body is not valid base64.")
    if len(body) > settings.max_body_bytes:
        return problem(413, "payload-too-large", "Payload Too Large", "The webhook body is too large.")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    if not profile.verify_webhook(body, headers, profile.webhook_secret()):
        logger.warning("webhook signature rejected", gateway=gateway)
        return problem(401, "invalid-signature", "Unauthorized", "The webhook signature is missing or wrong.")
    try:
        payload = json.loads(body)
    except ValueError:
        return problem(400, "bad-request", "Bad Request", "The body is not JSON.")
    webhook = profile.parse_webhook(payload)
    if webhook is None:
        name = payload.get("event") if isinstance(payload, dict) else None
        logger.info("webhook ignored", gateway=gateway, gateway_event=name if isinstance(name, str) else None)
        return RECEIVED
    message = GatewayEventMessage(
        gateway=gateway,
        event=webhook.kind,
        reference=webhook.reference,
        received_at=now_iso(),
        gateway_event=webhook.gateway_event,
        refund_id=webhook.refund_id,
        transaction_id=webhook.transaction_id,
    )
    send(
        message,
        queue_url=settings.payments_queue_url,
        client=sqs_client(),
        correlation_id=logger.get_correlation_id() or context.aws_request_id,
    )
    logger.info("webhook queued", gateway=gateway, gateway_event=webhook.gateway_event, reference=webhook.reference)
    return RECEIVED
