"""Creator money over the local stack: real purchases credit the wallet, payouts go out as transfers of
the payout account's gateway (emulators), refunds debit the creator's net share, and after every scenario
each balance equals its ledger (through the API, and through ``python -m localdev.check_ledger``).

The tests that take ``driver`` run once per gateway: bought through it, refunded through it, paid out
through it (tests/integration/gateways.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from tests.helpers import wait_until
from tests.integration.factories import a_published_product, a_user, bearer
from tests.integration.gateways import Driver, paystack

TIMEOUT = 30
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class Creator:
    user: dict[str, Any]
    token: str
    product: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


# ---------------------------------------------------------------- building state through the real API


def a_creator_with_a_product(stack: Any, price: int = 500000, currency: str = "NGN") -> Creator:
    user, token = a_user(stack, "creator")
    product = a_published_product(stack, token, price=price, currency=currency, title=f"Course {uuid.uuid4().hex[:6]}")
    return Creator(user, token, product)


def a_paid_order(stack: Any, creator: Creator, driver: Driver | None = None) -> tuple[dict[str, Any], str]:
    """A buyer orders and pays on the emulator (Paystack's by default); returns (order, buyer token) once the
    creator is credited."""
    driver = driver or paystack(stack)
    _, buyer_token = a_user(stack, "customer")
    before = balance(stack, creator).get("lifetime_gross", 0)
    created = requests.post(
        f"{stack.api}/orders",
        json={"product_id": creator.product["id"], "gateway": driver.name},
        headers=bearer(buyer_token),
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    order = created.json()["order"]
    driver.pay(order["reference"])
    wait_until(
        lambda: balance(stack, creator).get("lifetime_gross", 0) == before + order["amount"],
        timeout=30,
        what="the payment to credit the creator's wallet",
    )
    return order_view(stack, order["id"], buyer_token), buyer_token


def order_view(stack: Any, order_id: str, token: str) -> dict[str, Any]:
    response = requests.get(f"{stack.api}/orders/{order_id}", headers=bearer(token), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def balance(stack: Any, creator: Creator, currency: str = "NGN") -> dict[str, Any]:
    response = requests.get(f"{stack.api}/wallet", headers=creator.headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    for row in response.json()["balances"]:
        if row["currency"] == currency:
            return row  # type: ignore[no-any-return]
    return {}


def ledger(stack: Any, creator: Creator) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{stack.api}/wallet/ledger", params=params, headers=creator.headers, timeout=TIMEOUT)
        assert page.status_code == 200, page.text
        entries += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return entries


def with_payout_account(stack: Any, creator: Creator, driver: Driver | None = None) -> dict[str, Any]:
    """A payout account for NGN, paid out through ``driver``'s gateway (Paystack's by default)."""
    account = (driver or paystack(stack)).payout_account
    response = requests.put(
        f"{stack.api}/wallet/payout-account", json=account, headers=creator.headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def request_payout(stack: Any, creator: Creator, amount: int, key: str | None = None) -> requests.Response:
    headers = {**creator.headers, **({"Idempotency-Key": key} if key else {})}
    return requests.post(
        f"{stack.api}/wallet/payouts", json={"amount": amount, "currency": "NGN"}, headers=headers, timeout=TIMEOUT
    )


def payout_status(stack: Any, creator: Creator, payout_id: str) -> str:
    listed = requests.get(f"{stack.api}/wallet/payouts", headers=creator.headers, timeout=TIMEOUT).json()
    return next(p["status"] for p in listed["items"] if p["id"] == payout_id)  # type: ignore[no-any-return]


def assert_balances_equal_the_ledger(stack: Any, creator: Creator) -> None:
    """Through the API: each bucket's balance is the sum of its entries; then the operator's check over all.

    Reads of the ledger and the balance are two requests, so first let the creator's payouts settle.
    """

    def payouts_settled() -> bool:
        listed = requests.get(f"{stack.api}/wallet/payouts", headers=creator.headers, timeout=TIMEOUT).json()
        return all(p["status"] not in ("pending", "processing") for p in listed["items"])

    wait_until(payouts_settled, timeout=30, what="the creator's payouts to settle")
    sums: dict[tuple[str, str], int] = {}
    for entry in ledger(stack, creator):
        key = (entry["currency"], entry["bucket"])
        sums[key] = sums.get(key, 0) + entry["amount"]
    rows = requests.get(f"{stack.api}/wallet", headers=creator.headers, timeout=TIMEOUT).json()["balances"]
    for row in rows:
        currency = row["currency"]
        assert row["available"] == sums.get((currency, "available"), 0), row
        assert row["pending"] == sums.get((currency, "pending"), 0), row
        assert row["on_hold_for_payouts"] == sums.get((currency, "on_hold"), 0), row
    check = subprocess.run(
        [sys.executable, "-m", "localdev.check_ledger"],
        cwd=REPO_ROOT,
        env={**os.environ, "LOCAL_AWS_PORT": str(urlparse(stack.aws_endpoint).port)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.fixture
def creator(stack: Any) -> Creator:
    return a_creator_with_a_product(stack)


# ---------------------------------------------------------------- wallet, ledger, dashboard


def test_a_paid_sale_credits_the_wallet_ledger_and_dashboard(stack: Any, creator: Creator, driver: Driver) -> None:
    order, _ = a_paid_order(stack, creator, driver)

    row = balance(stack, creator)
    assert order["status"] == "paid"
    assert row == {
        "currency": "NGN",
        "available": 475000,
        "pending": 0,
        "on_hold_for_payouts": 0,
        "lifetime_gross": 500000,
        "lifetime_fees": 25000,
        "lifetime_net": 475000,
        "lifetime_paid_out": 0,
    }
    assert sorted((e["type"], e["amount"]) for e in ledger(stack, creator)) == [("fee", -25000), ("sale", 500000)]
    dashboard = requests.get(f"{stack.api}/creator/dashboard", headers=creator.headers, timeout=TIMEOUT).json()
    assert dashboard["totals"] == [
        {"currency": "NGN", "sales": 1, "gross": 500000, "fees": 25000, "net": 475000, "refunds": 0}
    ]
    assert [(p["product_id"], p["sales"]) for p in dashboard["by_product"]] == [(creator.product["id"], 1)]
    assert_balances_equal_the_ledger(stack, creator)


def test_a_customer_cannot_see_a_wallet(stack: Any) -> None:
    _, token = a_user(stack, "customer")

    response = requests.get(f"{stack.api}/wallet", headers=bearer(token), timeout=TIMEOUT)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


def test_a_creator_sees_only_their_own_wallet(stack: Any, creator: Creator) -> None:
    a_paid_order(stack, creator)
    _, other_token = a_user(stack, "creator")

    theirs = requests.get(f"{stack.api}/wallet", headers=bearer(other_token), timeout=TIMEOUT).json()
    their_ledger = requests.get(f"{stack.api}/wallet/ledger", headers=bearer(other_token), timeout=TIMEOUT).json()

    assert theirs == {"balances": []}
    assert their_ledger["items"] == []
    assert balance(stack, creator)["available"] == 475000


# ---------------------------------------------------------------- payouts


def test_a_payout_is_held_then_paid_out_when_the_transfer_succeeds(
    stack: Any, creator: Creator, driver: Driver
) -> None:
    a_paid_order(stack, creator, driver)
    with_payout_account(stack, creator, driver)
    shown = requests.get(f"{stack.api}/wallet/payout-account", headers=creator.headers, timeout=TIMEOUT).json()

    response = request_payout(stack, creator, 200000)

    assert driver.payout_account is not None
    assert shown["account_number"] == "******" + driver.payout_account["account_number"][-4:]
    assert shown["account_name"]
    assert shown["gateway"] == driver.name
    assert response.status_code == 202, response.text
    payout = response.json()
    assert payout["status"] == "pending"
    assert balance(stack, creator)["available"] == 275000
    wait_until(lambda: payout_status(stack, creator, payout["id"]) == "paid", timeout=30, what="the payout to be paid")
    row = balance(stack, creator)
    assert (row["available"], row["on_hold_for_payouts"], row["lifetime_paid_out"]) == (275000, 0, 200000)
    assert driver.transferred_amount(payout["id"]) == 200000  # the transfer went out through this gateway
    assert_balances_equal_the_ledger(stack, creator)


def test_a_failed_transfer_returns_the_money(stack: Any, creator: Creator, driver: Driver) -> None:
    a_paid_order(stack, creator, driver)
    with_payout_account(stack, creator, driver)
    driver.hold_transfers()
    try:
        payout = request_payout(stack, creator, 200000).json()
        wait_until(lambda: payout_status(stack, creator, payout["id"]) == "processing", timeout=30, what="the transfer")
        driver.fail_transfer(payout["id"])
    finally:
        driver.release_transfers()

    wait_until(lambda: payout_status(stack, creator, payout["id"]) == "failed", timeout=30, what="the payout to fail")
    row = balance(stack, creator)
    assert (row["available"], row["on_hold_for_payouts"], row["lifetime_paid_out"]) == (475000, 0, 0)
    assert {e["type"] for e in ledger(stack, creator)} >= {"payout", "payout_reversal"}
    assert_balances_equal_the_ledger(stack, creator)


def test_a_reversed_transfer_credits_the_creator_again(stack: Any, creator: Creator) -> None:
    # Paystack only: Flutterwave v3 reports no reversal of a completed transfer (one transfer.completed event).
    a_paid_order(stack, creator)
    with_payout_account(stack, creator)
    payout = request_payout(stack, creator, 200000).json()
    wait_until(lambda: payout_status(stack, creator, payout["id"]) == "paid", timeout=30, what="the payout to be paid")

    reversed_ = requests.post(f"{stack.gateway}/_emulator/transfers/{payout['id']}/reverse", timeout=TIMEOUT)

    assert reversed_.ok, reversed_.text
    wait_until(lambda: payout_status(stack, creator, payout["id"]) == "reversed", timeout=30, what="the reversal")
    row = balance(stack, creator)
    assert (row["available"], row["lifetime_paid_out"]) == (475000, 0)
    assert_balances_equal_the_ledger(stack, creator)


def test_an_idempotency_key_replay_returns_the_same_payout(stack: Any, creator: Creator) -> None:
    a_paid_order(stack, creator)
    with_payout_account(stack, creator)
    key = f"payout-{uuid.uuid4().hex}"

    first = request_payout(stack, creator, 100000, key)
    second = request_payout(stack, creator, 100000, key)
    other_body = request_payout(stack, creator, 150000, key)

    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json()["id"] == first.json()["id"]
    assert other_body.status_code == 422
    listed = requests.get(f"{stack.api}/wallet/payouts", headers=creator.headers, timeout=TIMEOUT).json()
    assert [p["id"] for p in listed["items"]] == [first.json()["id"]]
    assert balance(stack, creator)["available"] == 375000
    assert_balances_equal_the_ledger(stack, creator)


def test_a_payout_without_enough_balance_is_409(stack: Any, creator: Creator, driver: Driver) -> None:
    a_paid_order(stack, creator, driver)
    with_payout_account(stack, creator, driver)

    response = request_payout(stack, creator, 475001)

    assert response.status_code == 409
    assert balance(stack, creator)["available"] == 475000


# ---------------------------------------------------------------- refunds


def download_link(stack: Any, order: dict[str, Any], buyer_token: str) -> str:
    response = requests.post(
        f"{stack.api}/orders/{order['id']}/download-link", headers=bearer(buyer_token), timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    return str(response.json()["url"])


def refund(stack: Any, creator: Creator, order: dict[str, Any], amount: int | None = None) -> dict[str, Any]:
    response = requests.post(
        f"{stack.api}/orders/{order['id']}/refund",
        json={"amount": amount} if amount is not None else {},
        headers=creator.headers,
        timeout=TIMEOUT,
    )
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_full_refund_marks_the_order_refunded_debits_the_net_and_kills_the_links(
    stack: Any, creator: Creator, driver: Driver
) -> None:
    order, buyer_token = a_paid_order(stack, creator, driver)
    link = download_link(stack, order, buyer_token)

    accepted = refund(stack, creator, order)

    assert accepted["order_id"] == order["id"]
    # Paystack answers pending and reports later (refund.processed); Flutterwave completes it in its answer.
    assert (accepted["refund"]["amount"], accepted["refund"]["status"]) == (500000, driver.refund_status_on_accept)
    wait_until(lambda: order_view(stack, order["id"], buyer_token)["status"] == "refunded", timeout=30, what="refund")
    row = balance(stack, creator)
    assert (row["available"], row["lifetime_net"]) == (0, 0)
    entries = {(e["type"], e["amount"]) for e in ledger(stack, creator)}
    assert {("refund", -500000), ("refund_fee_reversal", 25000)} <= entries
    assert requests.get(link, allow_redirects=False, timeout=TIMEOUT).status_code == 410
    assert_balances_equal_the_ledger(stack, creator)


def test_a_partial_refund_keeps_access(stack: Any, creator: Creator, driver: Driver) -> None:
    order, buyer_token = a_paid_order(stack, creator, driver)

    refund(stack, creator, order, 100000)

    wait_until(
        lambda: order_view(stack, order["id"], buyer_token)["status"] == "partially_refunded", timeout=30, what="refund"
    )
    assert balance(stack, creator)["available"] == 475000 - 95000
    link = download_link(stack, order, buyer_token)
    assert requests.get(link, allow_redirects=False, timeout=TIMEOUT).status_code == 302
    assert_balances_equal_the_ledger(stack, creator)


def test_a_refund_event_delivered_again_debits_once(stack: Any, creator: Creator, driver: Driver) -> None:
    order, buyer_token = a_paid_order(stack, creator, driver)
    refund(stack, creator, order, 200000)
    wait_until(
        lambda: order_view(stack, order["id"], buyer_token)["status"] == "partially_refunded", timeout=30, what="refund"
    )

    deliveries = driver.resend_refund_event(order["reference"], times=3)

    assert len(deliveries) == 3
    wait_until(lambda: driver.delivered(order["reference"], deliveries), timeout=30, what="the resent webhooks")
    wait_until(lambda: stack.queue_depth("PaymentsQueue") == 0, timeout=30, what="the payments queue to drain")
    assert balance(stack, creator)["available"] == 475000 - 190000
    assert [e["amount"] for e in ledger(stack, creator) if e["type"] == "refund"] == [-200000]
    assert_balances_equal_the_ledger(stack, creator)


def test_only_the_creator_or_an_admin_may_refund(stack: Any, creator: Creator) -> None:
    order, buyer_token = a_paid_order(stack, creator)
    _, other_creator_token = a_user(stack, "creator")
    _, admin_token = a_user(stack, "admin")

    as_buyer = requests.post(
        f"{stack.api}/orders/{order['id']}/refund", json={}, headers=bearer(buyer_token), timeout=TIMEOUT
    )
    as_other = requests.post(
        f"{stack.api}/orders/{order['id']}/refund", json={}, headers=bearer(other_creator_token), timeout=TIMEOUT
    )
    as_admin = requests.post(
        f"{stack.api}/orders/{order['id']}/refund", json={"amount": 1000}, headers=bearer(admin_token), timeout=TIMEOUT
    )

    assert as_buyer.status_code == 403
    assert as_other.status_code == 404
    assert as_admin.status_code == 202, as_admin.text


def test_the_hold_release_schedule_runs_on_the_stack(stack: Any) -> None:
    # This stack has no hold period (localdev/parameters.json): the job is wired and runs. A sale held and
    # released over a stack with HoldDays=NGN:1 is in test_holds.py; edge cases in tests/unit/test_wallet_holds.py.
    result = stack.run_schedule("HoldReleaseFunction")

    assert set(result) == {"due", "released", "skipped"}


def test_check_ledger_lists_a_balance_that_differs_from_its_ledger(stack: Any, creator: Creator) -> None:
    a_paid_order(stack, creator)
    key = {"PK": {"S": f"WALLET#{creator.user['id']}"}, "SK": {"S": "BALANCE#NGN"}}
    dynamodb = stack.client("dynamodb")

    def set_available(delta: int) -> None:
        dynamodb.update_item(
            TableName=stack.table_name,
            Key=key,
            UpdateExpression="ADD available :d",
            ExpressionAttributeValues={":d": {"N": str(delta)}},
        )

    set_available(1)  # what a write outside apply_change would do
    try:
        check = subprocess.run(
            [sys.executable, "-m", "localdev.check_ledger"],
            cwd=REPO_ROOT,
            env={**os.environ, "LOCAL_AWS_PORT": str(urlparse(stack.aws_endpoint).port)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        set_available(-1)

    assert check.returncode == 1, check.stdout + check.stderr
    assert f"MISMATCH {creator.user['id']} NGN available: balance 475001 != ledger sum 475000" in check.stdout
