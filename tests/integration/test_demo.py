"""``make demo`` (``python -m localdev.demo``) against the session stack: the whole story plays through,
and a step that misbehaves stops it loudly, naming the step, the status and the problem body."""

from __future__ import annotations

import io
import re
import socket
from typing import Any

import pytest
import requests

from localdev import demo

STEPS = (
    "The local stack is up",
    "Register a creator",
    "The creator logs in",
    "Register a buyer",
    "The buyer logs in",
    "The creator creates a product (a draft)",
    "The creator gets an upload ticket (a presigned S3 POST)",
    "straight to S3, as a browser would",
    "Wait until the upload function has verified the file",
    "The creator publishes the product",
    "The buyer creates an order (with an Idempotency-Key)",
    "The buyer pays on the Paystack checkout page",
    "The signed webhook settles the order",
    "The delivery email reaches the buyer",
    "Follow the download link and compare the bytes",
    "The creator's wallet",
    "The creator's ledger",
    "The creator's dashboard",
    "The creator sets a payout account",
    "The creator requests a payout",
    "The transfer settles",
)


def run_demo(stack: Any, *, gateway: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--api", stack.api, "--gateway", gateway or stack.gateway, "--helpers", stack.helpers, "--wait", "60"]
    code = demo.main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def a_full_run(stack: Any) -> tuple[int, str, str]:
    return run_demo(stack)


def test_the_demo_plays_the_whole_story_and_exits_0(stack: Any, a_full_run: tuple[int, str, str]) -> None:
    code, out, err = a_full_run

    assert code == 0, out + err
    numbered = re.findall(r"^ ?(\d+)\. (.+)$", out, re.MULTILINE)
    assert [int(number) for number, _ in numbered] == list(range(1, len(STEPS) + 1))
    for (_, title), expected in zip(numbered, STEPS, strict=True):
        assert expected in title
    assert "✓ the same bytes as the generated PDF" in out
    assert "status paid" in out
    assert f"Demo complete: {len(STEPS)} steps" in out
    assert err == ""
    # What the demo reports happened did happen: the buyer of this run got exactly one delivery email.
    run_id = re.search(r"Marketplace demo \(run (\w+)\)", out)
    assert run_id is not None
    [mail] = stack.outbox(f"demo-buyer-{run_id.group(1)}@example.com")
    assert "Suya at Home" in mail["subject"]


def test_the_demo_shows_no_token_or_secret_in_full(a_full_run: tuple[int, str, str]) -> None:
    code, out, err = a_full_run

    assert code == 0, out + err
    assert not re.search(r"eyJ[\w-]{10,}\.[\w-]{10,}", out)  # no JWT access token
    assert not re.search(r"/downloads/[\w-]{20,}", out)  # no usable download token
    assert "X-Amz-Signature" not in out
    assert "x-amz-signature=" not in out.lower()
    assert "sk_test_local" not in out


def test_a_step_that_fails_stops_the_demo_naming_the_step_status_and_problem(stack: Any) -> None:
    faults = f"{stack.gateway}/_emulator/faults"
    added = requests.post(faults, json={"route": "initialize", "mode": "error", "status": 500, "count": 20}, timeout=30)
    assert added.ok, added.text
    try:
        code, out, err = run_demo(stack)
    finally:
        requests.delete(faults, timeout=30)

    assert code == 1, out + err
    assert "DEMO FAILED at step 11 (The buyer creates an order (with an Idempotency-Key))" in err
    assert "POST /orders" in err
    # The gateway's failure is the API's 502/503 problem (the status and the problem body are both shown).
    status = re.search(r"answered (50[23]) [A-Za-z ]+, expected 201", err)
    assert status is not None, err
    assert "content-type: application/problem+json" in err
    assert f'"status": {status.group(1)}' in err
    assert '"detail": "paystack is unavailable' in err
    assert "12. The buyer pays" not in out
    assert "Demo complete" not in out


def test_an_unreachable_gateway_fails_at_the_first_step(stack: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]

    code, out, err = run_demo(stack, gateway=f"http://127.0.0.1:{free_port}")

    assert code == 2, out + err
    assert "DEMO FAILED at step 1 (The local stack is up)" in err
    assert f"GET http://127.0.0.1:{free_port}/health did not answer" in err
    assert "make run" in err
    assert "Register a creator" not in out
