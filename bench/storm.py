"""The end-to-end storm: N sales by M buyers across K creators (one of them hot), pay -> settled -> emailed.

Starts its own local stack (ports 7200-7210 by default, log ``.localdev/bench-storm.log``), then
through the HTTP API and the Paystack emulator only, as clients and Paystack would:

1. K creators register and each publishes a product (a real PDF uploaded to the presigned POST);
   M buyers register and log in;
2. N orders: ``--hot-share`` of them (half by default) for the hot creator's product, the rest
   spread over the others, buyers taking turns; and ``--warm-up`` orders more, paid and waited
   for before the storm so that it meets started function instances (the counters cover them);
3. the storm: every order is paid on the emulator (which sends the signed ``charge.success``), from
   ``--threads`` client threads; ``--duplicates`` (30 %) of them get their webhook delivered again,
   a third of those as several copies let go at the same moment (``concurrent=true``);
   ``--faults`` makes the emulator's verify fail 30 % of the calls (seeded, so each run is the same);
4. waits until every order is ``paid`` with its delivery email recorded, and every buyer's emails
   are in the outbox (giving up after ``--stall`` seconds without progress);
5. prints sales/s (N over the time from the first pay to the last order paid) beside the emulator's
   raw transaction rate (TransactWriteItems of one sale's settlement items, plain puts, against the
   same moto server just after: the ratio is the figure), p50/p95/p99 of webhook-receive latency (the
   emulator's delivery log: each POST to /webhooks/paystack, as Paystack would time it) and of
   pay -> email (the pay request to the order's ``delivery_email_sent_at``), then the counters:
   ``double_credits`` (orders with more than one sale entry), ``lost_orders`` (not paid, not
   emailed or without their sale entry when the wait ends), ledger = balance for every wallet.

Exits 1 when a counter is not 0 (or a wallet's ledger differs from its balance). Not part of
``make test`` (``tests/load/test_storm_smoke.py`` runs a tiny storm there).

    python -m bench.storm [--sales 1000] [--buyers 100] [--creators 10] [--faults] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from bench import REPO_ROOT
from bench.support import Figures, fake_aws_environment, heading, machine_line, percentile, summary, write_figures

API_PORT, GATEWAY_PORT, FLUTTERWAVE_PORT, AWS_PORT = 7200, 7201, 7204, 7210
PRICE = 150_000
SETTLEMENT_ITEMS = 9  # one sale: order, marker, guard, hold, 2 ledger entries, wallet, 2 counters
TIMEOUT = 60


@dataclass(frozen=True)
class StormConfig:
    sales: int = 1000
    buyers: int = 100
    creators: int = 10
    hot_share: float = 0.5
    duplicates: float = 0.3
    threads: int = 8
    warm_up: int = 40
    raw_transactions: int = 300
    faults: bool = False
    stall: float = 180.0  # give up when no order got paid or emailed for this long
    timeout: float = 7200.0  # and in any case after this long
    seed: int = 15


@dataclass
class Sale:
    order_id: str
    reference: str
    creator_id: str
    buyer_email: str
    paid_at: float = 0.0  # epoch seconds of the pay request
    duplicate: str = ""  # "", "again" or "concurrent"


@dataclass
class StormReport:
    config: StormConfig
    sales: list[Sale]
    warm_up: list[Sale] = field(default_factory=list)
    storm_s: float = 0.0  # first pay to last order paid
    settled_s: float = 0.0  # first pay to last email recorded
    webhook_ms: list[float] = field(default_factory=list)
    webhook_statuses: Counter[int] = field(default_factory=Counter)
    pay_to_email_ms: list[float] = field(default_factory=list)
    raw_tx_per_s: float = 0.0
    double_credits: int = 0
    lost_orders: int = 0
    unpaid: int = 0
    unemailed: int = 0
    emails_missing: int = 0
    ledger_problems: list[str] = field(default_factory=list)
    wallets_checked: int = 0
    unfinished: set[str] = field(default_factory=set)  # order ids not paid or not emailed when the wait ended
    verify_calls: Counter[str] = field(default_factory=Counter)

    @property
    def sales_per_s(self) -> float:
        return len(self.sales) / self.storm_s if self.storm_s else 0.0

    @property
    def ok(self) -> bool:
        return self.double_credits == 0 and self.lost_orders == 0 and not self.ledger_problems


def in_parallel[T, R](threads: int, items: Iterable[T], work: Callable[[T], R]) -> list[R]:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(work, items))


def iso_to_epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# ---------------------------------------------------------------- set-up through the API


def set_up(stack: Any, config: StormConfig, say: Callable[[str], None]) -> tuple[list[Sale], list[Sale]]:
    """(the storm's sales, the warm-up's): the warm-up orders are paid first and waited for, so the
    storm meets function instances that are already started (the counters cover both)."""
    from tests.integration.factories import a_published_product, a_user, an_order

    start = time.perf_counter()
    creators = in_parallel(
        min(config.threads, config.creators), range(config.creators), lambda _: a_user(stack, "creator")
    )
    products = in_parallel(
        min(config.threads, config.creators),
        range(config.creators),
        lambda index: a_published_product(stack, creators[index][1], price=PRICE, title=f"Storm book {index}"),
    )
    say(f"{config.creators} creators with a published product each ({time.perf_counter() - start:.0f} s)")
    start = time.perf_counter()
    buyers = in_parallel(config.threads, range(config.buyers), lambda _: a_user(stack, "customer"))
    say(f"{config.buyers} buyers registered and logged in ({time.perf_counter() - start:.0f} s)")

    rng = random.Random(config.seed)
    hot = round(config.sales * config.hot_share) if config.creators > 1 else config.sales
    plan = [0 if index < hot else 1 + index % (config.creators - 1) for index in range(config.sales)]
    rng.shuffle(plan)
    plan += [index % config.creators for index in range(config.warm_up)]

    def order(index: int) -> Sale:
        buyer, token = buyers[index % config.buyers]
        checkout = an_order(stack, token, products[plan[index]]["id"])
        return Sale(
            order_id=checkout["order"]["id"],
            reference=checkout["payment"]["reference"],
            creator_id=creators[plan[index]][0]["id"],
            buyer_email=buyer["email"],
        )

    start = time.perf_counter()
    everything = in_parallel(config.threads, range(len(plan)), order)
    sales, warm_up = everything[: config.sales], everything[config.sales :]
    say(
        f"{config.sales} orders ({hot} for the hot creator) and {len(warm_up)} to warm up with, in "
        f"{time.perf_counter() - start:.0f} s"
    )
    for sale in sales:
        draw = rng.random()
        if draw < config.duplicates / 3:
            sale.duplicate = "concurrent"
        elif draw < config.duplicates:
            sale.duplicate = "again"
    return sales, warm_up


# ---------------------------------------------------------------- the storm


def storm(stack: Any, sales: list[Sale], config: StormConfig) -> float:
    """Pay every order (and send the chosen duplicates); the epoch second the first pay went out."""
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session  # type: ignore[no-any-return]

    def pay(sale: Sale) -> None:
        http = session()
        sale.paid_at = time.time()
        response = http.post(f"{stack.gateway}/_emulator/transactions/{sale.reference}/pay", timeout=TIMEOUT)
        response.raise_for_status()
        if sale.duplicate:
            query = {"times": "3", "concurrent": "true"} if sale.duplicate == "concurrent" else {"times": "1"}
            again = http.post(
                f"{stack.gateway}/_emulator/transactions/{sale.reference}/webhook", params=query, timeout=TIMEOUT
            )
            again.raise_for_status()

    first = time.time()
    in_parallel(config.threads, sales, pay)
    return first


def order_states(stack: Any, sales: list[Sale]) -> dict[str, dict[str, Any]]:
    """Each order's status and delivery time, read straight from the emulator's table (100 per request)."""
    client = stack.client("dynamodb")
    found: dict[str, dict[str, Any]] = {}
    keys = [{"PK": {"S": f"ORDER#{sale.order_id}"}, "SK": {"S": "ORDER"}} for sale in sales]
    for start in range(0, len(keys), 100):
        pending: dict[str, Any] = {
            stack.table_name: {
                "Keys": keys[start : start + 100],
                "ConsistentRead": True,
                "ProjectionExpression": "order_id, #s, updated_at, delivery_email_sent_at",
                "ExpressionAttributeNames": {"#s": "status"},
            }
        }
        while pending:
            response = client.batch_get_item(RequestItems=pending)
            for item in response["Responses"].get(stack.table_name, []):
                found[item["order_id"]["S"]] = {name: value.get("S") for name, value in item.items()}
            pending = response.get("UnprocessedKeys") or {}
    return found


def _done(state: dict[str, Any]) -> bool:
    return state.get("status") == "paid" and bool(state.get("delivery_email_sent_at"))


def wait_settled(
    stack: Any, sales: list[Sale], config: StormConfig, say: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """Poll until every order is paid and emailed; give up after ``config.stall`` seconds without
    progress (a slow machine is not a lost order) or ``config.timeout`` in all."""
    start = time.monotonic()
    last_progress, last_report = start, 0.0
    seen = (-1, -1)
    states: dict[str, dict[str, Any]] = {}
    waiting = list(sales)
    while True:
        # Only the orders not yet paid and emailed are read again: the polling is the benchmark's own
        # load on the emulator, which the system under test shares.
        states.update(order_states(stack, waiting))
        waiting = [sale for sale in waiting if not _done(states.get(sale.order_id, {}))]
        paid = sum(1 for state in states.values() if state.get("status") == "paid")
        emailed = sum(1 for state in states.values() if state.get("delivery_email_sent_at"))
        if emailed == len(sales) and paid == len(sales):
            return states
        now = time.monotonic()
        if (paid, emailed) != seen:
            seen, last_progress = (paid, emailed), now
        if now - last_progress > config.stall or now - start > config.timeout:
            say(f"gave up waiting: {paid} paid, {emailed} emailed of {len(sales)}")
            return states
        if now - last_report > 15:
            last_report = now
            say(f"  ... {paid} paid, {emailed} emailed of {len(sales)} ({now - start:.0f} s)")
        time.sleep(0.5)


# ---------------------------------------------------------------- the counters


def check_money(stack: Any, report: StormReport) -> None:
    from tests.integration.money import BUCKETS, balance, ledger

    every = [*report.sales, *report.warm_up]
    sales_by_creator: dict[str, list[Sale]] = {}
    for sale in every:
        sales_by_creator.setdefault(sale.creator_id, []).append(sale)
    sale_entries: Counter[str] = Counter()
    for creator, sales in sales_by_creator.items():
        entries = ledger(stack, creator)
        for entry in entries:
            if entry["type"] == "sale" and entry["order_id"]:
                sale_entries[entry["order_id"]] += 1
        current = balance(stack, creator)
        for bucket in BUCKETS:
            total = sum(entry["amount"] for entry in entries if entry["bucket"] == bucket)
            if total != current[bucket]:
                report.ledger_problems.append(f"{creator} {bucket}: ledger {total} != balance {current[bucket]}")
        credited = current["available"] + current["pending"]
        paid = sum(1 for sale in sales if sale_entries[sale.order_id] >= 1)
        expected = paid * (PRICE - _fee(PRICE))
        if credited != expected:
            report.ledger_problems.append(f"{creator}: credited {credited} != {paid} sales x net")
        report.wallets_checked += 1
    report.double_credits = sum(1 for sale in every if sale_entries[sale.order_id] > 1)
    missing_entry = {sale.order_id for sale in every if sale_entries[sale.order_id] == 0}
    report.lost_orders = len(missing_entry | report.unfinished)


def _fee(amount: int, bps: int = 500) -> int:
    from tests.integration.money import expected_net

    return amount - expected_net(amount, bps)


def check_outbox(stack: Any, report: StormReport) -> None:
    wanted = Counter(sale.buyer_email.lower() for sale in [*report.sales, *report.warm_up])
    got: Counter[str] = Counter()
    for item in stack.outbox():
        for address in item["to"]:
            if address.lower() in wanted:
                got[address.lower()] += 1
    report.emails_missing = sum(max(0, count - got[email]) for email, count in wanted.items())


def webhook_latencies(stack: Any, report: StormReport) -> None:
    references = {sale.reference for sale in report.sales}
    response = requests.get(f"{stack.gateway}/_emulator/webhooks", params={"event": "charge.success"}, timeout=TIMEOUT)
    response.raise_for_status()
    for delivery in response.json()["items"]:
        if delivery.get("reference") not in references:
            continue
        for attempt in delivery.get("attempts", []):
            if attempt.get("duration_ms") is not None:
                report.webhook_ms.append(float(attempt["duration_ms"]))
            report.webhook_statuses[int(attempt.get("status_code") or 0)] += 1


def raw_transaction_rate(stack: Any, threads: int, transactions: int = 300) -> float:
    """TransactWriteItems/s of one sale's settlement items (plain puts) against the stack's moto server."""
    import uuid

    client = stack.client("dynamodb")
    client.describe_table(TableName=stack.table_name)  # the client's connection made before timing

    def one(_: int) -> None:
        prefix = uuid.uuid4().hex
        items = [
            {"Put": {"TableName": stack.table_name, "Item": {"PK": {"S": f"RAW#{prefix}"}, "SK": {"S": f"I#{n}"}}}}
            for n in range(SETTLEMENT_ITEMS)
        ]
        client.transact_write_items(TransactItems=items)

    start = time.perf_counter()
    in_parallel(threads, range(transactions), one)
    return transactions / (time.perf_counter() - start)


def verify_calls(stack: Any, report: StormReport) -> None:
    response = requests.get(f"{stack.gateway}/_emulator/calls", params={"operation": "verify"}, timeout=TIMEOUT)
    if response.ok:
        body = response.json()
        for call in body.get("data", []):
            report.verify_calls["fault" if call.get("fault") else str(call.get("status"))] += 1


def run_storm(stack: Any, config: StormConfig, say: Callable[[str], None] = print) -> StormReport:
    """Set up, storm, wait, count (against a running stack)."""
    sales, warm_up = set_up(stack, config, say)
    if warm_up:
        storm(stack, warm_up, config)
        wait_settled(stack, warm_up, config, say)
        say(f"warm-up: {len(warm_up)} sales paid and emailed")
    if config.faults:
        fault = {"operation": "verify", "mode": "error", "probability": 0.3, "seed": config.seed}
        requests.post(f"{stack.gateway}/_emulator/faults", json=fault, timeout=TIMEOUT).raise_for_status()
        say("faults: the emulator's verify fails 30 % of the calls (seeded)")
    requests.delete(f"{stack.gateway}/_emulator/calls", timeout=TIMEOUT)
    duplicates = Counter(sale.duplicate for sale in sales if sale.duplicate)
    say(
        f"storm: {len(sales)} payments from {config.threads} threads; {duplicates['again']} webhooks sent once more, "
        f"{duplicates['concurrent']} three more times at the same moment"
    )
    report = StormReport(config=config, sales=sales, warm_up=warm_up)
    try:
        first = storm(stack, sales, config)
        states = wait_settled(stack, sales, config, say)
    finally:
        if config.faults:
            requests.delete(f"{stack.gateway}/_emulator/faults", timeout=TIMEOUT)
    paid_times, email_times = [], []
    unfinished = report.unfinished
    for sale in sales:
        state = states.get(sale.order_id, {})
        if state.get("status") != "paid":
            report.unpaid += 1
            unfinished.add(sale.order_id)
        elif state.get("updated_at"):
            paid_times.append(iso_to_epoch(state["updated_at"]))
        if state.get("delivery_email_sent_at"):
            sent = iso_to_epoch(state["delivery_email_sent_at"])
            email_times.append(sent)
            report.pay_to_email_ms.append((sent - sale.paid_at) * 1000)
        else:
            report.unemailed += 1
            unfinished.add(sale.order_id)
    report.storm_s = (max(paid_times) - first) if paid_times else 0.0
    report.settled_s = (max(email_times) - first) if email_times else 0.0
    check_money(stack, report)
    check_outbox(stack, report)
    webhook_latencies(stack, report)
    verify_calls(stack, report)
    report.raw_tx_per_s = raw_transaction_rate(stack, config.threads, config.raw_transactions)
    return report


def print_report(report: StormReport) -> Figures:
    config = report.config
    ratio = report.sales_per_s / report.raw_tx_per_s if report.raw_tx_per_s else 0.0
    heading(
        f"storm: {len(report.sales)} sales, {config.buyers} buyers, {config.creators} creators "
        f"({config.hot_share:.0%} on one), {config.duplicates:.0%} webhooks again"
        + (", verify failing 30 %" if config.faults else "")
    )
    print(
        f"sales/s          {report.sales_per_s:8.1f}  (first pay to last order paid: {report.storm_s:.1f} s; "
        f"last email {report.settled_s:.1f} s)"
    )
    print(
        f"emulator raw     {report.raw_tx_per_s:8.1f}  TransactWriteItems/s of one sale's {SETTLEMENT_ITEMS} items "
        f"(plain puts, {config.threads} threads): ratio {ratio:.2f}"
    )
    w50, w95, w99 = (percentile(report.webhook_ms, p) for p in (50, 95, 99))
    e50, e95, e99 = (percentile(report.pay_to_email_ms, p) for p in (50, 95, 99))
    print(
        f"webhook receive  p50 {w50:.0f}  p95 {w95:.0f}  p99 {w99:.0f} ms  ({len(report.webhook_ms)} deliveries, "
        f"statuses {dict(sorted(report.webhook_statuses.items()))})"
    )
    print(f"pay -> email     p50 {e50:.0f}  p95 {e95:.0f}  p99 {e99:.0f} ms")
    if report.verify_calls:
        print(f"verify calls     {dict(sorted(report.verify_calls.items()))}")
    print(f"double_credits   {report.double_credits}")
    print(
        f"lost_orders      {report.lost_orders}  (unpaid {report.unpaid}, not emailed {report.unemailed}; "
        f"emails missing from the outbox {report.emails_missing})"
    )
    print(
        f"ledger = balance {'yes' if not report.ledger_problems else 'NO'} for {report.wallets_checked} wallets"
        + (f": {report.ledger_problems[:3]}" if report.ledger_problems else "")
    )
    prefix = "storm_faults" if config.faults else "storm"
    summary(
        f"{prefix}: {len(report.sales)} sales {report.sales_per_s:.1f}/s = {ratio:.2f}x the emulator's raw "
        f"{report.raw_tx_per_s:.0f} tx/s; webhook p50/p95/p99 {w50:.0f}/{w95:.0f}/{w99:.0f} ms, pay -> email "
        f"{e50:.0f}/{e95:.0f}/{e99:.0f} ms; double_credits {report.double_credits}, lost_orders "
        f"{report.lost_orders}, ledger = balance {'yes' if not report.ledger_problems else 'NO'}"
    )
    return {
        f"{prefix}.sales": len(report.sales),
        f"{prefix}.sales_per_s": round(report.sales_per_s, 2),
        f"{prefix}.raw_transactions_per_s": round(report.raw_tx_per_s, 1),
        f"{prefix}.ratio_vs_raw_transactions": round(ratio, 3),
        f"{prefix}.webhook_p50_ms": round(w50, 1),
        f"{prefix}.webhook_p95_ms": round(w95, 1),
        f"{prefix}.webhook_p99_ms": round(w99, 1),
        f"{prefix}.pay_to_email_p50_ms": round(e50, 1),
        f"{prefix}.pay_to_email_p95_ms": round(e95, 1),
        f"{prefix}.pay_to_email_p99_ms": round(e99, 1),
        f"{prefix}.double_credits": report.double_credits,
        f"{prefix}.lost_orders": report.lost_orders,
        f"{prefix}.emails_missing": report.emails_missing,
        f"{prefix}.ledger_equals_balance": not report.ledger_problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = StormConfig()
    parser.add_argument("--sales", type=int, default=defaults.sales)
    parser.add_argument("--buyers", type=int, default=defaults.buyers)
    parser.add_argument("--creators", type=int, default=defaults.creators)
    parser.add_argument("--hot-share", type=float, default=defaults.hot_share, help="share of the sales on one creator")
    parser.add_argument("--duplicates", type=float, default=defaults.duplicates, help="share of webhooks sent again")
    parser.add_argument("--threads", type=int, default=defaults.threads, help="client threads")
    parser.add_argument("--warm-up", type=int, default=defaults.warm_up, help="sales paid and waited for first")
    parser.add_argument("--faults", action="store_true", help="the emulator's verify fails 30 %% of the calls")
    parser.add_argument("--stall", type=float, default=defaults.stall, help="give up after this long without progress")
    parser.add_argument("--timeout", type=float, default=defaults.timeout, help="give up after this long in any case")
    parser.add_argument("--port", type=int, default=API_PORT, help="API port; gateway +1, Flutterwave +4, AWS +10")
    parser.add_argument("--json", type=Path, help="write the figures as JSON (make bench: bench/results/latest.json)")
    args = parser.parse_args(argv)
    config = StormConfig(
        sales=args.sales,
        buyers=args.buyers,
        creators=args.creators,
        hot_share=args.hot_share,
        duplicates=args.duplicates,
        threads=args.threads,
        warm_up=args.warm_up,
        faults=args.faults,
        stall=args.stall,
        timeout=args.timeout,
    )

    fake_aws_environment()
    from tests.fixtures.stack import Stack

    print(machine_line())
    start = time.perf_counter()
    stack = Stack.start(
        api_port=args.port,
        gateway_port=args.port + 1,
        flutterwave_port=args.port + 4,
        aws_port=args.port + 10,
        log_name="bench-storm",
        timeout=180,
    )
    instances = os.environ.get("LOCAL_MAX_CONCURRENCY", "4")
    print(
        f"local stack ready in {time.perf_counter() - start:.1f} s ({stack.api}, up to {instances} instances per "
        f"function, log {stack.log_path.relative_to(REPO_ROOT)})"
    )
    try:
        report = run_storm(stack, config, say=lambda line: print(line, flush=True))
    finally:
        stack.stop()
    figures = print_report(report)
    write_figures(args.json, figures)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
