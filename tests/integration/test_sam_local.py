"""sam-local mode (``make test-sam-local``): the handlers really run in Lambda containers.

The stack reports its mode and the containers ``sam local`` runs (``docker ps``), and it
records every call that reaches the AWS emulator on the Docker bridge: a call made from a
function's own container address, with the User-Agent botocore sends when
``AWS_EXECUTION_ENV`` is set, can only come from a handler running in that container. A
fallback to the embedded stack's worker processes would fail each of these tests.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.integration.factories import DEFAULT_PASSWORD, unique_email

TIMEOUT = 60


@pytest.fixture(autouse=True)
def sam_local_only(stack: Any) -> None:
    if stack.running_mode != "sam-local":
        pytest.skip("checks the sam-local mode only (make test-sam-local); this stack runs embedded workers")


def container_addresses(stack: Any, function: str) -> set[str]:
    containers = stack.functions()[function]["containers"]
    return {ip for container in containers if container["running"] for ip in container["ips"]}


def calls_from(stack: Any, addresses: set[str], since: float) -> list[dict[str, Any]]:
    return [r for r in stack.aws_requests() if r["time"] >= since and r["source_ip"] in addresses]


def test_the_stack_runs_no_function_itself_and_sam_runs_a_container_per_function(stack: Any) -> None:
    functions = stack.functions()

    assert functions, "the stack lists the template's functions"
    assert {entry["mode"] for entry in functions.values()} == {"sam-local"}
    assert not any(entry["instances"] for entry in functions.values()), "no embedded worker process may exist"
    for name, entry in functions.items():
        running = [c for c in entry["containers"] if c["running"]]
        assert running, f"{name} has no running Lambda container"
        assert all(c["image"].startswith("samcli/lambda-python:3.12") for c in running), running


def test_an_api_request_is_served_by_a_handler_in_the_auth_function_container(stack: Any) -> None:
    addresses = container_addresses(stack, "AuthFunction")
    since = time.time()

    response = requests.post(
        f"{stack.api}/auth/register",
        json={"email": unique_email("container"), "password": DEFAULT_PASSWORD, "role": "customer"},
        timeout=TIMEOUT,
    )

    assert response.status_code == 201, response.text
    calls = calls_from(stack, addresses, since)
    assert calls, "the register handler's DynamoDB calls must come from an AuthFunction container"
    assert {call["exec_env"] for call in calls} == {"AWS_Lambda_python3.12"}
    assert any("DynamoDB" in call["target"] for call in calls), calls


def test_a_schedule_invokes_its_function_in_a_container_through_the_lambda_invoke_api(stack: Any) -> None:
    addresses = container_addresses(stack, "ReconcilerFunction")
    since = time.time()

    result = stack.run_schedule("ReconcilerFunction")

    assert isinstance(result, dict), result
    calls = calls_from(stack, addresses, since)
    assert calls, "the reconciler's table scan must come from a ReconcilerFunction container"
    assert {call["exec_env"] for call in calls} == {"AWS_Lambda_python3.12"}


def test_the_clock_shift_is_refused_rather_than_silently_ignored(stack: Any) -> None:
    response = requests.post(f"{stack.helpers}/_local/clock", json={"offset_seconds": 60}, timeout=TIMEOUT)

    assert response.status_code == 501
    assert "Lambda containers" in response.json()["detail"]
