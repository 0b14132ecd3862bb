"""A fault storm over a local stack of its own: a few hundred sales while everything that can fail does.

What is thrown at it (counts and seeds fixed, so every run is the same storm):
- webhooks: 30 % of the paid sales get their charge.success again, half of them twice at once;
- the emulator's verify fails (500) or times out (past the client's timeout) at random, initialize and
  refunds lose their answers at random (the work done, the answer a 500), refund listings fail at random,
  transfers lose their answers;
- the payments, delivery and payouts consumers fail records at random, before or after their work
  (``FAULT_INJECTION``, given to this stack only through ``LOCAL_FUNCTION_ENV``);
- some orders are declined then paid, paid after they expired, paid without a webhook (the reconciler),
  under- or over-paid, left unpaid; partial and full refunds by creators and admins, retried with and
  without Idempotency-Keys; payouts whose transfers succeed, fail, or succeed and are reversed;
- a verify outage long enough to put charge.success messages in the payments DLQ, and a message no
  consumer can ever read; then ``make redrive`` (``python -m localdev.redrive``).

Then, from the API, the emulator and the table: every charge the emulator captured is on an order that is
paid (or refunded) or was returned in full; no order is credited twice; no refund is made twice (the
gateway's refunds of a transaction are exactly ours, and never more than asked); every paid order has
exactly one delivery email (the delivery consumer records the email after SES accepted it: a crash between
the two could send a second one, which this storm does not provoke); every wallet's ledger equals its
balance and the listed entries sum to available + pending + on_hold; the DLQs hold only the unreadable
message, and what ``make redrive`` moved back settled exactly once. The counts are printed.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.fixtures.stack import Stack
from tests.helpers import wait_until
from tests.integration.factories import a_published_product, a_user, bearer
from tests.integration.money import assert_ledger_matches_balance, ledger
from tests.stackctl import REPO_ROOT

TIMEOUT = 30
SALES = int(os.environ.get("STORM_SALES", "200"))
WORKERS = 6
CREATORS, BUYERS = 4, 12
PRICES = (150000, 220000, 310000, 480000)
SECRET = "sk_test_local"
CONSUMER_FAULTS = {"payments": 0.15, "delivery": 0.15, "payouts": 0.15, "seed": 13}
PAID_KINDS = ("normal", "declined_then_paid", "missed_webhook", "expired_then_paid", "outage")
MISPAID_KINDS = ("underpaid", "overpaid")


@dataclass
class Sale:
    index: int
    kind: str
    buyer: str  # token
    product: dict[str, Any]
    creator_id: str
    order_id: str = ""
    reference: str = ""
    duplicates: int = 0  # charge.success sent again this many times (2: both at once)
    refund_intent: int | None = None  # the amount the storm asked to refund (None: none)
    refund_plan: tuple[int | None, bool, bool] = (None, False, False)  # amount (None: all), by an admin, with a key


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, amount: int = 1) -> None:
        with self.lock:
            self.counts[name] += amount


@pytest.fixture(scope="module")
def storm_stack() -> Iterator[Stack]:
    if os.environ.get("LOCAL_STACK_EXTERNAL") == "1":
        pytest.skip("the fault storm needs a stack of its own (fault switches on)")
    offset = int(os.environ.get("STORM_STACK_PORT_OFFSET", "300"))
    api = int(os.environ.get("LOCAL_API_PORT", "3000")) + offset
    function_env = {
        "FAULT_INJECTION": json.dumps(CONSUMER_FAULTS),
        "GATEWAY_TIMEOUT_SECONDS": "2",
        "PENDING_ORDER_REVERIFY_MINUTES": "0",
        "RECONCILER_BUDGET_SECONDS": "30",
    }
    started = Stack.start(
        api_port=api,
        gateway_port=api + 1,
        aws_port=int(os.environ.get("LOCAL_AWS_PORT", "5000")) + offset,
        log_name=f"storm-{api}",
        extra_env={"LOCAL_FUNCTION_ENV": json.dumps(function_env), "LOCAL_MAX_CONCURRENCY": "4"},
        timeout=120,
    )
    yield started  # type: ignore[misc]
    started.stop()


# ---------------------------------------------------------------- talking to the stack and the emulator


def emulator(stack: Stack, path: str, *, method: str = "POST", **body: Any) -> requests.Response:
    response = requests.request(method, f"{stack.gateway}/_emulator/{path}", json=body or None, timeout=TIMEOUT)
    assert response.status_code < 500, response.text
    return response


def paystack(stack: Stack, path: str, **params: Any) -> requests.Response:
    return requests.get(
        f"{stack.gateway}{path}", params=params, headers={"Authorization": f"Bearer {SECRET}"}, timeout=TIMEOUT
    )


def retrying(call: Callable[[], requests.Response], ok: tuple[int, ...], tally: Tally, what: str) -> requests.Response:
    """The call again after a 5xx (what a client does after a lost answer), up to 6 times."""
    for _ in range(6):
        response = call()
        if response.status_code in ok:
            return response
        assert response.status_code >= 500, f"{what}: {response.status_code} {response.text}"
        tally.add(f"retried_{what}")
        time.sleep(0.3)
    raise AssertionError(f"{what} kept failing: {response.status_code} {response.text}")


def order_of(stack: Stack, token: str, order_id: str) -> dict[str, Any]:
    response = requests.get(f"{stack.api}/orders/{order_id}", headers=bearer(token), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return dict(response.json())


def table_order(stack: Stack, order_id: str) -> dict[str, Any]:
    item = stack.client("dynamodb").get_item(
        TableName=stack.table_name, Key={"PK": {"S": f"ORDER#{order_id}"}, "SK": {"S": "ORDER"}}, ConsistentRead=True
    )["Item"]
    return {key: next(iter(value.values())) for key, value in item.items()}


def order_id_of_reference(stack: Stack, reference: str) -> str | None:
    item = (
        stack.client("dynamodb")
        .get_item(
            TableName=stack.table_name,
            Key={"PK": {"S": f"REF#paystack#{reference}"}, "SK": {"S": "REF"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return item["order_id"]["S"] if item else None


def run_schedule(stack: Stack, function: str) -> dict[str, Any]:
    result: dict[str, Any] = stack.run_schedule(function)
    return result


# ---------------------------------------------------------------- the storm


class Storm:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.tally = Tally()
        self.random = random.Random(2026)  # every decision is drawn up front, in order: a repeatable storm
        self.creators: list[tuple[dict[str, Any], str]] = []
        self.products: list[dict[str, Any]] = []
        self.buyers: list[str] = []
        self.admin = ""
        self.sales: list[Sale] = []
        self.phases: dict[str, float] = {}
        self._phase_started = time.monotonic()

    def phase(self, name: str) -> None:
        now = time.monotonic()
        self.phases[name] = round(now - self._phase_started, 1)
        self._phase_started = now

    # --- the emulator's faults, counted before each is replaced or cleared
    def fault(self, operation: str, **values: Any) -> None:
        self._count_fault(operation)
        emulator(self.stack, "faults", operation=operation, **values)

    def clear_fault(self, operation: str | None = None) -> None:
        self._count_fault(operation)
        params = {"operation": operation} if operation else None
        requests.delete(f"{self.stack.gateway}/_emulator/faults", params=params, timeout=TIMEOUT)

    def _count_fault(self, operation: str | None) -> None:
        faults = emulator(self.stack, "faults", method="GET").json()["data"]
        for name, fault in faults.items():
            if operation is None or name == operation:
                self.tally.add("emulator_faults", int(fault.get("injected", 0)))

    # --- the cast
    def set_up(self) -> None:
        with ThreadPoolExecutor(max_workers=4) as pool:
            self.creators = list(pool.map(lambda _: a_user(self.stack, "creator"), range(CREATORS)))
            self.buyers = [token for _, token in pool.map(lambda _: a_user(self.stack, "customer"), range(BUYERS))]
            self.products = list(
                pool.map(
                    lambda pair: a_published_product(self.stack, pair[0][1], price=pair[1], title=f"Storm {pair[1]}"),
                    zip(self.creators, PRICES, strict=True),
                )
            )
        self.admin = a_user(self.stack, "admin")[1]
        for _, token in self.creators:
            response = requests.put(
                f"{self.stack.api}/wallet/payout-account",
                json={"bank_code": "058", "account_number": "0123456789", "currency": "NGN"},
                headers=bearer(token),
                timeout=TIMEOUT,
            )
            assert response.status_code == 200, response.text

    def kinds(self) -> list[str]:
        plan = (
            ["normal"] * 62
            + ["declined_then_paid"] * 10
            + ["missed_webhook"] * 6
            + ["expired_then_paid"] * 7
            + ["abandoned"] * 5
            + ["underpaid"] * 6
            + ["overpaid"] * 4
        )
        shares = Counter(plan)
        kinds = [kind for kind, share in shares.items() for _ in range(max(1, round(share * SALES / len(plan))))]
        self.random.shuffle(kinds)
        return kinds

    # --- one sale
    def order(self, sale: Sale) -> None:
        key = str(uuid.uuid4())
        headers = {**bearer(sale.buyer), "Idempotency-Key": key}
        body = {"product_id": sale.product["id"]}
        response = retrying(
            lambda: requests.post(f"{self.stack.api}/orders", json=body, headers=headers, timeout=TIMEOUT),
            (201,),
            self.tally,
            "checkout",
        )
        checkout = response.json()
        sale.order_id, sale.reference = checkout["order"]["id"], checkout["payment"]["reference"]
        self.tally.add("orders_created")
        page = requests.get(checkout["payment"]["authorization_url"], timeout=TIMEOUT)
        assert page.status_code == 200, "the payment page of a recovered checkout must open"

    def pay(self, sale: Sale, **values: Any) -> None:
        emulator(self.stack, f"transactions/{sale.reference}/pay", **values)

    def sell(self, sale: Sale) -> None:
        self.order(sale)
        product_price = int(sale.product["price"])
        if sale.kind in ("expired_then_paid", "abandoned"):
            return
        if sale.kind == "declined_then_paid":
            emulator(self.stack, f"transactions/{sale.reference}/decline")
            retrying(
                lambda: requests.post(
                    f"{self.stack.api}/orders/{sale.order_id}/verify", headers=bearer(sale.buyer), timeout=TIMEOUT
                ),
                (200,),
                self.tally,
                "verify",
            )
            self.pay(sale)
        elif sale.kind == "missed_webhook":
            self.pay(sale, webhook=False)
        elif sale.kind == "underpaid":
            self.pay(sale, amount=product_price - 10000)
        elif sale.kind == "overpaid":
            self.pay(sale, amount=product_price + 2500)
        else:
            self.pay(sale)
        self.tally.add(f"sale_{sale.kind}")
        if sale.duplicates and sale.kind != "missed_webhook":
            copies = sale.duplicates
            emulator(self.stack, f"transactions/{sale.reference}/webhook", times=copies, concurrent=copies > 1)
            self.tally.add("duplicate_webhooks", copies)

    # --- waiting
    def wait_settled(self, expected: Callable[[Sale], set[str]], timeout: float, what: str) -> None:
        """Until every order is in one of its expected statuses (the reconciler run meanwhile, for missed webhooks)."""
        waiting = list(self.sales)

        def settled() -> list[str]:
            nonlocal waiting
            waiting = [s for s in waiting if str(table_order(self.stack, s.order_id)["status"]) not in expected(s)]
            if waiting:
                run_schedule(self.stack, "ReconcilerFunction")
            return [f"{s.order_id} ({s.kind})" for s in waiting]

        wait_until(lambda: not settled(), timeout=timeout, interval=3, what=what)

    # --- refunds
    def refund(self, sale: Sale, creator_token: str) -> None:
        price = int(sale.product["price"])
        amount, by_admin, with_key = sale.refund_plan
        sale.refund_intent = price if amount is None else amount
        token = self.admin if by_admin else creator_token
        key = str(uuid.uuid4()) if with_key else None
        body = {"amount": amount} if amount is not None else None
        headers = {**bearer(token), **({"Idempotency-Key": key} if key else {})}
        url = f"{self.stack.api}/orders/{sale.order_id}/refund"
        for _ in range(20):
            response = requests.post(url, json=body, headers=headers, timeout=TIMEOUT)
            if response.status_code == 202:
                self.tally.add("refunds_accepted")
                if key:  # the client lost our answer too: the same request once more
                    again = requests.post(url, json=body, headers=headers, timeout=TIMEOUT)
                    assert again.status_code == 202, again.text
                    assert again.json()["refund"]["id"] == response.json()["refund"]["id"]
                    self.tally.add("refund_replays_with_key")
                return
            problem = response.json()
            assert response.status_code >= 500 or problem["type"].endswith("/refund-in-progress"), response.text
            self.tally.add("refund_retries")
            time.sleep(1.0)
            if key is None and self.made(sale, token):
                self.tally.add("refund_found_before_a_keyless_retry")
                return  # a client without a key looks before it asks again
        raise AssertionError(f"the refund of {sale.order_id} never went through")

    def made(self, sale: Sale, token: str) -> bool:
        listed = requests.get(
            f"{self.stack.api}/orders/{sale.order_id}/refunds", headers=bearer(token), timeout=TIMEOUT
        )
        return any(r["kind"] == "sale" and r["status"] != "failed" for r in listed.json()["items"])

    # --- payouts
    def payout(self, creator_token: str, amount: int) -> str:
        key = str(uuid.uuid4())
        headers = {**bearer(creator_token), "Idempotency-Key": key}
        body = {"amount": amount, "currency": "NGN"}
        first = requests.post(f"{self.stack.api}/wallet/payouts", json=body, headers=headers, timeout=TIMEOUT)
        again = requests.post(f"{self.stack.api}/wallet/payouts", json=body, headers=headers, timeout=TIMEOUT)
        assert first.status_code == 202, first.text
        assert again.json()["id"] == first.json()["id"]
        return str(first.json()["id"])


def test_a_fault_storm_loses_nothing_and_pays_nothing_twice(
    storm_stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = storm_stack
    started = time.monotonic()
    storm = Storm(stack)
    storm.set_up()

    # ---- phase 1: the sales, under faults
    storm.phase("set up")
    storm.fault("verify", mode="error", probability=0.15, seed=7)
    storm.fault("initialize", mode="lost", probability=0.1, seed=3)
    kinds = storm.kinds()
    storm.sales = [
        Sale(
            index=i,
            kind=kind,
            buyer=storm.buyers[i % BUYERS],
            product=storm.products[i % CREATORS],
            creator_id=storm.creators[i % CREATORS][0]["id"],
        )
        for i, kind in enumerate(kinds)
    ]
    for sale in storm.sales:
        sale.duplicates = 0 if storm.random.random() >= 0.3 else (1 if storm.random.random() < 0.5 else 2)
    half = len(storm.sales) // 2
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(storm.sell, storm.sales[:half]))
        # The second half: verify times out (past the client's 2 s) instead of answering 500.
        storm.fault("verify", mode="timeout", seconds=3, probability=0.1, seed=8)
        list(pool.map(storm.sell, storm.sales[half:]))

    def expected_after_sales(sale: Sale) -> set[str]:
        if sale.kind in ("expired_then_paid", "abandoned"):
            return {"pending"}
        return {"failed"} if sale.kind in MISPAID_KINDS else {"paid"}

    storm.wait_settled(expected_after_sales, timeout=300, what="every sale settled or failed")
    storm.phase("sales")

    # ---- phase 2: refunds, under lost answers
    # The client retries a failed listing (a GET) twice itself: 0.6 makes about one lost answer in five unclear.
    storm.fault("refund", mode="lost", probability=0.5, seed=5)
    storm.fault("refund_list", mode="error", probability=0.6, seed=6)
    tokens = {creator["id"]: token for creator, token in storm.creators}
    paid = [s for s in storm.sales if s.kind == "normal"]
    to_refund = paid[:: max(1, len(paid) // 24)][:24]
    for sale in to_refund:
        price = int(sale.product["price"])
        partial = storm.random.random() < 0.5
        sale.refund_plan = (price // 3 if partial else None, storm.random.random() < 0.3, storm.random.random() < 0.5)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(lambda sale: storm.refund(sale, tokens[sale.creator_id]), to_refund))

    # ---- phase 3: payouts whose transfers succeed, fail or are reversed (lost transfer answers too)
    storm.phase("refunds")
    storm.fault("transfer", mode="lost", probability=0.2, seed=9)
    emulator(stack, "config", transfer_outcome="pending")
    payouts = [(storm.payout(token, 100000 + 5000 * n), token) for _, token in storm.creators for n in range(2)]
    outcomes: dict[str, str] = {}
    for n, (payout_id, _) in enumerate(payouts):
        wait_until(
            lambda pid=payout_id: paystack(stack, f"/transfer/verify/{pid}").status_code == 200,
            timeout=60,
            interval=0.5,
            what="the transfer initiated",
        )
        outcome = ("succeed", "fail", "reverse")[n % 3]
        if outcome == "fail":
            emulator(stack, f"transfers/{payout_id}/fail")
        else:
            emulator(stack, f"transfers/{payout_id}/succeed")
        if outcome == "reverse":
            emulator(stack, f"transfers/{payout_id}/reverse")
        outcomes[payout_id] = {"succeed": "paid", "fail": "failed", "reverse": "reversed"}[outcome]
        storm.tally.add(f"payouts_{outcomes[payout_id]}")

    storm.phase("payouts")
    # ---- phase 4: a day passes (the reconciler expires the unpaid), then late payments
    storm.clear_fault("verify")
    stack.set_clock(25 * 3600)
    try:
        for _ in range(5):
            if run_schedule(stack, "ReconcilerFunction")["checked"] == 0:
                break
    finally:
        stack.set_clock(0)
    late = [s for s in storm.sales if s.kind == "expired_then_paid"]
    for sale in late:
        assert table_order(stack, sale.order_id)["status"] == "expired"
        storm.pay(sale)
    wait_until(
        lambda: all(table_order(stack, s.order_id)["status"] == "paid" for s in late),
        timeout=120,
        interval=2,
        what="the late payments settled",
    )

    # ---- phase 5: a verify outage fills the payments DLQ; an unreadable message; then make redrive
    storm.phase("expiry")
    storm.clear_fault()  # the random faults end here (counted); the outage's 500s are not counted as injected
    emulator(stack, "faults", operation="verify", mode="error", count=100000)
    outage = [
        Sale(
            index=SALES + n,
            kind="outage",
            buyer=storm.buyers[n],
            product=storm.products[n],
            creator_id=storm.creators[n][0]["id"],
        )
        for n in range(3)
    ]
    for sale in outage:
        storm.order(sale)
        storm.pay(sale)
    storm.sales += outage
    stack.client("sqs").send_message(QueueUrl=stack.queue_urls["PaymentsQueue"], MessageBody="{not json")
    dlq = stack.queue_urls["PaymentsDLQ"]

    def dlq_depth(url: str) -> int:
        attributes = stack.client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def dlq_bodies() -> list[str]:
        """What the DLQ holds: every message received for a second (then visible again), by message id."""
        seen: dict[str, str] = {}
        while batch := stack.client("sqs").receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=1):
            if not batch.get("Messages"):
                break
            seen.update({m["MessageId"]: m["Body"] for m in batch["Messages"]})
        time.sleep(1.5)  # all visible again (for the redrive, or the next look)
        return list(seen.values())

    def outage_in_dlq() -> bool:
        bodies = dlq_bodies()
        return "{not json" in bodies and all(any(s.reference in body for body in bodies) for s in outage)

    wait_until(outage_in_dlq, timeout=180, interval=1, what="the outage and the unreadable message in the DLQ")
    emulator(stack, "faults", method="DELETE")  # the outage is over
    in_dlq = dlq_depth(dlq)
    redrive = subprocess.run(
        [sys.executable, "-m", "localdev.redrive", "--endpoint", stack.aws_endpoint],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert redrive.returncode == 0, redrive.stderr
    storm.tally.add("redriven", in_dlq)

    def expected_final(sale: Sale) -> set[str]:
        if sale.kind == "abandoned":
            return {"expired"}
        if sale.kind in MISPAID_KINDS:
            return {"failed"}
        if sale.refund_intent is not None:
            return {"refunded", "partially_refunded"}
        return {"paid"}

    storm.wait_settled(expected_final, timeout=240, what="every order in its final state")

    try:
        wait_until(lambda: dlq_bodies() == ["{not json"], timeout=180, interval=1, what="only the unreadable message")
    except AssertionError:
        raise AssertionError(f"PaymentsDLQ holds {dlq_bodies()}") from None
    for name in ("PaymentsQueue", "DeliveryQueue", "PayoutsQueue"):
        wait_until(lambda n=name: stack.queue_depth(n) == 0, timeout=120, interval=1, what=f"{name} drained")
    stack.set_clock(3 * 60)  # the refund reconciler's look at what is still open
    try:
        run_schedule(stack, "RefundReconcilerFunction")
    finally:
        stack.set_clock(0)

    storm.phase("outage and redrive")
    # ---- the checks (no more faults)
    storm.clear_fault()
    violations: dict[str, list[str]] = {
        name: [] for name in ("lost_orders", "double_credits", "double_refunds", "emails", "wallets")
    }
    transactions = emulator(stack, "transactions", method="GET").json()["data"]
    by_reference = {t["reference"]: t for t in transactions}
    for txn in transactions:
        if txn["status"] not in ("success", "reversed"):
            continue
        storm.tally.add("captured")
        order_id = order_id_of_reference(stack, txn["reference"])
        order = table_order(stack, order_id) if order_id else None
        settled = order is not None and order["status"] in ("paid", "partially_refunded", "refunded")
        returned = txn["refunded_amount"] == txn["amount"]
        if not settled and not returned:
            violations["lost_orders"].append(
                f"{txn['reference']}: {order and order['status']}, refunded {txn['refunded_amount']}"
            )
    ledgers = {creator["id"]: ledger(stack, creator["id"]) for creator, _ in storm.creators}
    for sale in storm.sales:
        sales = [e for e in ledgers[sale.creator_id] if e["order_id"] == sale.order_id and e["type"] == "sale"]
        if len(sales) > 1 or (sale.kind in PAID_KINDS and len(sales) != 1):
            violations["double_credits"].append(f"{sale.order_id} ({sale.kind}): {len(sales)} sale entries")
        order = table_order(stack, sale.order_id)
        gateway_refunds = paystack(stack, "/refund", transaction=sale.reference, perPage=100).json()["data"]
        made = [r for r in gateway_refunds if r["status"] != "failed"]
        processed = sum(int(r["amount"]) for r in gateway_refunds if r["status"] == "processed")
        if sale.kind in PAID_KINDS:
            refunded = int(order.get("refunded_amount", 0) or 0)
            if (
                processed != refunded
                or processed > (sale.refund_intent or 0)
                or len(made) > (1 if sale.refund_intent else 0)
            ):
                violations["double_refunds"].append(
                    f"{sale.order_id}: gateway {processed} in {len(made)}, ours {refunded}, asked {sale.refund_intent}"
                )
        elif sale.kind in MISPAID_KINDS and processed != by_reference[sale.reference]["amount"]:
            violations["double_refunds"].append(
                f"{sale.order_id} ({sale.kind}): returned {processed} of {by_reference[sale.reference]['amount']}"
            )
    mails = Counter(
        line.split(": ", 1)[1].strip()
        for mail in stack.outbox()
        for line in mail["text"].splitlines()
        if line.startswith("Order: ")
    )
    for sale in storm.sales:
        expected = 1 if sale.kind in PAID_KINDS else 0
        if mails[sale.order_id] != expected:
            violations["emails"].append(f"{sale.order_id} ({sale.kind}): {mails[sale.order_id]} emails")
    for creator, token in storm.creators:
        try:
            money = assert_ledger_matches_balance(stack, creator["id"])
        except AssertionError as error:
            violations["wallets"].append(f"{creator['id']}: {error}")
            continue
        rows = requests.get(f"{stack.api}/wallet", headers=bearer(token), timeout=TIMEOUT).json()["balances"]
        listed = sum(e["amount"] for e in ledger(stack, creator["id"]))
        row = next(r for r in rows if r["currency"] == "NGN")
        if listed != row["available"] + row["pending"] + row["on_hold_for_payouts"] or money["on_hold"] != 0:
            violations["wallets"].append(f"{creator['id']}: listed {listed} vs {row}")
        payouts_listed = requests.get(f"{stack.api}/wallet/payouts", headers=bearer(token), timeout=TIMEOUT).json()[
            "items"
        ]
        for payout in payouts_listed:
            if payout["id"] in outcomes and payout["status"] != outcomes[payout["id"]]:
                violations["wallets"].append(f"payout {payout['id']}: {payout['status']} != {outcomes[payout['id']]}")
    storm.tally.add("consumer_faults", stack.logs().count('"message":"fault injected"'))

    counts = storm.tally.counts
    summary = {
        "sales": counts["orders_created"],
        "paid at the emulator": sum(v for k, v in counts.items() if k.startswith("sale_")),
        "duplicates": counts["duplicate_webhooks"],
        "faults injected": counts["consumer_faults"] + counts["emulator_faults"],
        "  of which consumer": counts["consumer_faults"],
        "  of which emulator": counts["emulator_faults"],
        "checkout retries": counts["retried_checkout"],
        "refunds": counts["refunds_accepted"],
        "refund retries": counts["refund_retries"],
        "captured charges": counts["captured"],
        "redriven from the DLQ": counts["redriven"],
        "double credits": len(violations["double_credits"]),
        "lost orders": len(violations["lost_orders"]),
        "double refunds": len(violations["double_refunds"]),
        "email mismatches": len(violations["emails"]),
        "wallet mismatches": len(violations["wallets"]),
        "seconds": round(time.monotonic() - started),
    }
    with capsys.disabled():
        sys.stdout.write("\nfault storm: " + ", ".join(f"{k.strip()} {v}" for k, v in summary.items()) + "\n")
        sys.stdout.write("  kinds: " + json.dumps(dict(Counter(s.kind for s in storm.sales))) + "\n")
        sys.stdout.write("  seconds per phase: " + json.dumps(storm.phases) + "\n")
    assert {name: found[:5] for name, found in violations.items() if found} == {}
