"""20 payout requests at once over HTTP against a balance that covers exactly 3: exactly 3 are accepted,
the rest are 409, nothing is overdrawn, and the ledger still equals the balances afterwards."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.helpers import wait_until
from tests.integration.test_wallet import (
    TIMEOUT,
    a_creator_with_a_product,
    a_paid_order,
    assert_balances_equal_the_ledger,
    balance,
    with_payout_account,
)

REQUESTS = 20
PAYOUT = 100000  # the NGN minimum


def test_twenty_concurrent_payouts_over_a_balance_for_three_accept_exactly_three(stack: Any) -> None:
    creator = a_creator_with_a_product(stack, price=350000)  # net 332500: three payouts of 100000
    a_paid_order(stack, creator)
    with_payout_account(stack, creator)

    def attempt(index: int) -> requests.Response:
        headers = {**creator.headers, "Idempotency-Key": f"race-{index}-{uuid.uuid4().hex}"}
        return requests.post(
            f"{stack.api}/wallet/payouts", json={"amount": PAYOUT, "currency": "NGN"}, headers=headers, timeout=120
        )

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        responses = list(pool.map(attempt, range(REQUESTS)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] * 3 + [409] * (REQUESTS - 3), [
        r.text for r in responses if r.status_code not in (202, 409)
    ]
    accepted = {r.json()["id"] for r in responses if r.status_code == 202}
    assert len(accepted) == 3

    def all_paid() -> bool:
        listed = requests.get(f"{stack.api}/wallet/payouts", headers=creator.headers, timeout=TIMEOUT).json()
        return {p["id"] for p in listed["items"] if p["status"] == "paid"} == accepted

    wait_until(all_paid, timeout=60, what="the three payouts to be paid")
    row = balance(stack, creator)
    assert (row["available"], row["on_hold_for_payouts"], row["lifetime_paid_out"]) == (32500, 0, 300000)
    assert_balances_equal_the_ledger(stack, creator)
