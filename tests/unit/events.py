"""Hand-built API Gateway HTTP API (payload 2.0) events, a Lambda context, and function loading.

app = load_function("functions/auth/app.py")
response = app.lambda_handler(http_event("POST", "/auth/login", body={...}), lambda_context())
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, cast
from urllib.parse import urlencode

from aws_lambda_powertools.utilities.typing import LambdaContext

REPO_ROOT = Path(__file__).resolve().parents[2]


def http_event(
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An HTTP API payload-2.0 event. ``body``: a dict/list (sent as JSON), a str (sent as is) or None."""
    all_headers = {"host": "localhost", "user-agent": "pytest", "x-forwarded-for": source_ip}
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    if body is not None:
        all_headers["content-type"] = "application/json"
    all_headers.update({name.lower(): value for name, value in (headers or {}).items()})
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "pytest",
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    if query:
        event["queryStringParameters"] = dict(query)
    if path_params:
        event["pathParameters"] = dict(path_params)
    return event


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def lambda_context(function_name: str = "test-function") -> LambdaContext:
    """What a handler's ``context`` needs (Powertools' Logger reads these fields)."""
    return cast(LambdaContext, FakeLambdaContext(function_name=function_name, aws_request_id=str(uuid.uuid4())))


@cache
def load_function(relative_path: str) -> ModuleType:
    """Import a function's entry module (e.g. ``functions/auth/app.py``) once, under a unique name."""
    path = REPO_ROOT / relative_path
    name = "fn_" + relative_path.removesuffix(".py").replace("/", "_").replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def json_body(response: dict[str, Any]) -> Any:
    """The parsed body of a handler's response (None when empty)."""
    body = response.get("body") or ""
    return json.loads(body) if body else None


def header(response: dict[str, Any], name: str) -> str | None:
    """A response header, case-insensitively."""
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def sqs_event(*bodies: str, queue: str = "Queue", message_ids: list[str] | None = None) -> dict[str, Any]:
    """An SQS event of ``bodies`` as Lambda's event source mapping delivers it (the local pump's records)."""
    from localdev.pumps import sqs_record

    ids = message_ids or [str(uuid.uuid4()) for _ in bodies]
    arn = f"arn:aws:sqs:us-east-1:123456789012:unit-{queue}"
    return {
        "Records": [
            sqs_record({"MessageId": message_id, "ReceiptHandle": "handle", "Body": body}, arn, "us-east-1")
            for message_id, body in zip(ids, bodies, strict=True)
        ]
    }


def gateway_event_body(
    event: str, reference: str, *, refund_id: str | None = None, received_at: str = "2026-01-05T10:30:01Z"
) -> str:
    """The payments-queue body the webhook receiver writes for a Paystack ``event`` about ``reference``."""
    from market.gateways import paystack_webhook
    from market.messages import GatewayEventMessage, encode

    data: dict[str, Any] = (
        {"transaction_reference": reference, "id": refund_id}
        if event.startswith("refund.")
        else {"reference": reference}
    )
    webhook = paystack_webhook.parse({"event": event, "data": data})
    assert webhook is not None, f"not an event the receiver queues: {event}"
    message = GatewayEventMessage(
        gateway="paystack",
        event=webhook.kind,
        reference=webhook.reference,
        received_at=received_at,
        gateway_event=webhook.gateway_event,
        refund_id=webhook.refund_id,
    )
    return encode(message)
