"""Every sample event in ``events/`` (for ``sam local invoke -e``) still drives its function.

Each file is routed as Lambda would route it (an HTTP API route key, an SQS queue, a schedule) to
the function that ``template.yaml`` names, with its placeholders filled in (a real access token, a
real webhook signature), and must get an answer of the contract's shape: never a 500, and no
failed record.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from localdev.template import FunctionSpec, LocalTemplate, load_template
from market.auth.tokens import issue_access_token
from market.gateways.paystack_webhook import sign
from tests.fixtures.events import REPO_ROOT, lambda_context, load_function

EVENTS = sorted((REPO_ROOT / "events").glob("*/*.json"))
TOKEN_PLACEHOLDER = "<access token from POST /auth/login>"
SIGNATURE_PLACEHOLDER = "<hex hmac-sha512 of the body with the secret key>"
# Who the sample requests come from: customers buy and read their library, creators sell.
CUSTOMER_ROUTES = ("POST /orders", "GET /library")


@cache
def functions() -> list[FunctionSpec]:
    return LocalTemplate(load_template()).functions()


def _route_matches(route_key: str, method: str, path: str) -> bool:
    if route_key == "$default":
        return path == "$default"
    want_method, _, want_path = route_key.partition(" ")
    return method in (want_method, "ANY") and path == want_path


def function_for(event: dict[str, Any]) -> FunctionSpec:
    if "routeKey" in event:
        route_key = event["routeKey"]
        found = [f for f in functions() if any(_route_matches(route_key, r.method, r.path) for r in f.http_routes)]
    elif "Records" in event:
        queue = event["Records"][0]["eventSourceARN"].rsplit(":", 1)[-1]
        found = [f for f in functions() if any(s.queue_logical_id == queue for s in f.sqs_sources)]
    else:
        rule = event["resources"][0].rsplit("/", 1)[-1]
        found = [f for f in functions() if f.schedules and f.logical_id.lower().startswith(rule)]
    assert len(found) == 1, f"no single function takes this event: {[f.logical_id for f in found]}"
    return found[0]


def filled_in(event: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(event)
    if TOKEN_PLACEHOLDER in text:
        role = "customer" if event["routeKey"] in CUSTOMER_ROUTES else "creator"
        token, _ = issue_access_token(f"usr_sample_{role}", role)
        text = text.replace(TOKEN_PLACEHOLDER, token)
    filled: dict[str, Any] = json.loads(text)
    headers = filled.get("headers") or {}
    if headers.get("x-paystack-signature") == SIGNATURE_PLACEHOLDER:
        headers["x-paystack-signature"] = sign(filled["body"].encode(), "sk_test_local")
    return filled


def test_every_function_directory_has_samples() -> None:
    assert {path.parent.name for path in EVENTS} == {"auth", "checkout", "delivery", "upload", "wallet", "webhook"}


@pytest.mark.usefixtures("aws_resources")
@pytest.mark.parametrize("path", EVENTS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_a_sample_event_gets_a_contract_answer_from_its_function(path: Path) -> None:
    event = json.loads(path.read_text())
    spec = function_for(event)
    module_file, _, handler_name = spec.handler.partition(".")
    module = load_function(str((spec.code_dir / f"{module_file}.py").relative_to(REPO_ROOT)))

    answer = getattr(module, handler_name)(filled_in(event), lambda_context(spec.logical_id))

    if "routeKey" in event:
        assert answer["statusCode"] < 500, answer
        if answer["statusCode"] >= 400:
            assert answer["headers"]["Content-Type"] == "application/problem+json", answer
            assert {"type", "title", "status"} <= set(json.loads(answer["body"]))
    elif "Records" in event:
        assert answer == {"batchItemFailures": []}
    else:
        assert isinstance(answer, dict)
