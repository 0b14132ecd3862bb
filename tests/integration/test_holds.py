"""A hold period over the stack: a sale waits in `pending`, then the hourly job releases it, once.

The default local parameters have no hold; this module starts its own stack with HoldDays=NGN:1
(LOCAL_PARAMETER_OVERRIDES, the same form as `sam --parameter-overrides`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.fixtures.stack import Stack
from tests.integration.factories import a_paid_order, a_published_product, a_user, bearer
from tests.integration.money import assert_ledger_matches_balance, expected_net

PRICE = 300000
DAY = 24 * 3600


@pytest.fixture(scope="module")
def held_stack() -> Iterator[Stack]:
    if os.environ.get("LOCAL_STACK_EXTERNAL") == "1":
        pytest.skip("needs a stack of its own with a hold period")
    offset = int(os.environ.get("HOLD_STACK_PORT_OFFSET", "200"))
    api = int(os.environ.get("LOCAL_API_PORT", "3000")) + offset
    started = Stack.start(
        api_port=api,
        gateway_port=api + 1,
        aws_port=int(os.environ.get("LOCAL_AWS_PORT", "5000")) + offset,
        log_name=f"holds-{api}",
        extra_env={"LOCAL_PARAMETER_OVERRIDES": "HoldDays=NGN:1"},
    )
    yield started
    started.stop()


def wallet_row(stack: Any, token: str) -> dict[str, Any]:
    rows = requests.get(f"{stack.api}/wallet", headers=bearer(token), timeout=30).json()["balances"]
    return next(row for row in rows if row["currency"] == "NGN")


def test_a_sale_waits_in_pending_and_is_released_once_after_its_hold(held_stack: Stack) -> None:
    creator, creator_token = a_user(held_stack, "creator")
    product = a_published_product(held_stack, creator_token, price=PRICE)
    _, buyer_token = a_user(held_stack, "customer")
    a_paid_order(held_stack, buyer_token, product["id"])
    net = expected_net(PRICE)

    held = wallet_row(held_stack, creator_token)
    assert (held["pending"], held["available"]) == (net, 0)

    # Not due yet: the job leaves it.
    held_stack.run_schedule("HoldReleaseFunction")
    assert wallet_row(held_stack, creator_token)["pending"] == net

    held_stack.set_clock(DAY + 3600)
    try:
        held_stack.run_schedule("HoldReleaseFunction")
        held_stack.run_schedule("HoldReleaseFunction")  # a second run finds nothing more to release
    finally:
        held_stack.set_clock(0)
    released = wallet_row(held_stack, creator_token)
    assert (released["pending"], released["available"]) == (0, net)
    money = assert_ledger_matches_balance(held_stack, creator["id"])
    assert money["available"] == net
    ledger = requests.get(f"{held_stack.api}/wallet/ledger", headers=bearer(creator_token), timeout=30).json()
    assert sorted(entry["type"] for entry in ledger["items"]) == ["fee", "release", "release", "sale"]
