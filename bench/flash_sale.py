"""The hot wallet: many sales for ONE creator at the same moment, against the same sales spread out.

In-process moto (resources from template.yaml, DynamoDB requests serialised as the local stack
does), sales applied through ``market.repositories.wallets.apply_change`` (a sale credit and a
platform fee debit per sale, the wallet item conditioned on its version) from T threads. Only
the wallet's own items are written here; a real settlement adds the order, the exactly-once
guard, the counters and the hold to the same transaction.

Printed per scenario: sales/s (moto's, not DynamoDB's: compare scenarios, not absolutes),
transaction attempts and conflicts (every retry is a failed version condition and a fresh
read), DynamoDB round trips and botocore clients created per sale, and whether the ledger still
sums to the balance (``check_wallet``). DESIGN.md: one wallet item tops out near 160 sales/s on
DynamoDB and far lower under conflicts; grouping a batch's sales per creator is the remedy, so
a batched scenario (10 sales per transaction, the payments queue's batch size) is measured too.
Each scenario starts no sale after ``--max-seconds`` (the table shows how many of N were applied),
so the whole run stays short on a slow machine.

    python -m bench.flash_sale [--sales 200] [--threads 8] [--creators 50] [--batch 10]
                               [--max-seconds 10] [--skip-what-if]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from bench.support import (
    ApiCalls,
    heading,
    in_process_aws,
    machine_line,
    median,
    percentile,
    summary,
)
from localdev.caches import reset_caches

if TYPE_CHECKING:
    from market.domain.wallet import WalletChange

CURRENCY = "NGN"
PRICE = 120_000
FEE = 6_000  # 500 bps
NET = PRICE - FEE
BUCKET = "pending"  # NGN sales wait one hold day, as the template's HoldDays says


@dataclass(frozen=True)
class Batch:
    creator_id: str
    order_ids: tuple[str, ...]


@dataclass
class ScenarioResult:
    name: str
    sales: int  # applied within the time cap
    planned: int
    threads: int
    elapsed_s: float
    latencies_ms: list[float]
    transactions: int
    conflicts: int
    requeued: int
    round_trips: int
    clients: int
    problems: list[str]

    @property
    def rate(self) -> float:
        return self.sales / self.elapsed_s if self.elapsed_s else 0.0


def change_for(batch: Batch) -> WalletChange:
    from market.domain.wallet import Movement, WalletChange

    movements = []
    for order_id in batch.order_ids:
        movements.append(Movement("sale", BUCKET, PRICE, order_id=order_id))
        movements.append(Movement("fee", BUCKET, -FEE, order_id=order_id))
    count = len(batch.order_ids)
    return WalletChange(
        creator_id=batch.creator_id,
        currency=CURRENCY,
        movements=movements,
        lifetime={"lifetime_gross": PRICE * count, "lifetime_fees": FEE * count, "lifetime_net": NET * count},
    )


def plan(name: str, sales: int, creators: int, per_transaction: int) -> list[Batch]:
    """``sales`` orders over ``creators`` creators, ``per_transaction`` of one creator's sales per change."""
    per_creator: dict[str, list[str]] = {}
    for index in range(sales):
        creator = f"usr_{name}_{index % creators:04d}"
        per_creator.setdefault(creator, []).append(f"ord_{name}_{index:05d}")
    batches = []
    for creator, orders in per_creator.items():
        for start in range(0, len(orders), per_transaction):
            batches.append(Batch(creator, tuple(orders[start : start + per_transaction])))
    # Interleave creators, as a queue would deliver them.
    return sorted(batches, key=lambda b: b.order_ids[0])


def run_scenario(
    name: str, batches: Sequence[Batch], threads: int, calls: ApiCalls, max_seconds: float
) -> ScenarioResult:
    from market.domain.errors import TransientError
    from market.repositories.wallets import apply_change, check_wallet, get_balance

    calls.reset()
    latencies: list[float] = []
    applied: list[Batch] = []
    requeued = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + max_seconds

    def apply(batch: Batch) -> None:
        nonlocal requeued
        if time.perf_counter() > deadline:
            return  # over the time cap: not started
        change = change_for(batch)
        start = time.perf_counter()
        while True:
            try:
                apply_change(change)
                break
            except TransientError:
                if time.perf_counter() > deadline:
                    return  # over the time cap: given up, nothing written
                with lock:
                    requeued += 1  # the wallet stayed busy past max_attempts: SQS would deliver it again
        latencies.append((time.perf_counter() - start) * 1000)
        applied.append(batch)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(apply, batches))
    elapsed = time.perf_counter() - start
    transactions = calls.total("dynamodb", "TransactWriteItems")
    conflicts = sum(
        count for (service, operation, _), count in calls.errors.items() if operation == "TransactWriteItems"
    )
    round_trips = calls.total("dynamodb")
    clients = calls.clients_created

    problems = []
    expected: dict[str, int] = {}
    for batch in applied:
        expected[batch.creator_id] = expected.get(batch.creator_id, 0) + len(batch.order_ids)
    for creator, count in expected.items():
        problems += check_wallet(creator)
        balance = get_balance(creator, CURRENCY)
        if balance.pending != count * NET:
            problems.append(f"{creator}: pending {balance.pending} != {count} x {NET}")
    return ScenarioResult(
        name=name,
        sales=sum(len(batch.order_ids) for batch in applied),
        planned=sum(len(batch.order_ids) for batch in batches),
        threads=threads,
        elapsed_s=elapsed,
        latencies_ms=latencies,
        transactions=transactions,
        conflicts=conflicts,
        requeued=requeued,
        round_trips=round_trips,
        clients=clients,
        problems=problems,
    )


@contextmanager
def connection_shared(enabled: bool) -> Iterator[None]:
    """Within the benchmark only: one pynamodb Connection for every transaction (a what-if)."""
    if not enabled:
        yield
        return
    from market.models import base

    original = base.connection
    base.connection = cache(original)
    try:
        yield
    finally:
        base.connection = original


def client_creation_ms(runs: int = 5) -> float:
    """What one new botocore session + DynamoDB client costs in this process."""
    from botocore.session import get_session

    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        get_session().create_client("dynamodb", region_name="us-east-1")
        samples.append((time.perf_counter() - start) * 1000)
    return median(samples)


def report(results: list[ScenarioResult]) -> None:
    heading("flash sale: wallet changes through apply_change (in-process moto)")
    print(
        f"{'scenario':38} {'sales':>7} {'sales/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'tx':>5} {'conflicts':>9} "
        f"{'requeued':>8} {'ddb calls/sale':>14} {'clients/sale':>12}  ledger = balance"
    )
    for r in results:
        check = "yes" if not r.problems else f"NO: {r.problems[:3]}"
        print(
            f"{r.name:38} {f'{r.sales}/{r.planned}':>7} {r.rate:7.1f} {percentile(r.latencies_ms, 50):7.0f} "
            f"{percentile(r.latencies_ms, 99):7.0f} {r.transactions:5d} {r.conflicts:9d} {r.requeued:8d} "
            f"{r.round_trips / max(r.sales, 1):14.2f} {r.clients / max(r.sales, 1):12.2f}  {check}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sales", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--creators", type=int, default=50, help="creators in the spread-out scenario")
    parser.add_argument("--batch", type=int, default=10, help="sales per transaction in the batched scenario")
    parser.add_argument(
        "--max-seconds", type=float, default=10.0, help="per scenario: sales not started by then are skipped"
    )
    parser.add_argument("--skip-what-if", action="store_true", help="skip the shared-connection scenario")
    args = parser.parse_args(argv)

    print(machine_line())
    n, t = args.sales, args.threads
    scenarios = [
        (f"one creator, {t} threads", plan("hot", n, 1, 1), t, False),
        ("one creator, 1 thread", plan("solo", n, 1, 1), 1, False),
        (f"{args.creators} creators, {t} threads", plan("spread", n, args.creators, 1), t, False),
        (f"one creator, {args.batch} sales/tx, {t} threads", plan("batched", n, 1, args.batch), t, False),
    ]
    if not args.skip_what_if:
        scenarios.append((f"one creator, {t} threads, shared conn.*", plan("shared", n, 1, 1), t, True))
    results = []
    for name, batches, threads, shared_connection in scenarios:
        # A fresh emulator per scenario: moto copies the whole table on every transaction, so a
        # bigger table alone would make later scenarios slower.
        calls = ApiCalls()
        with in_process_aws() as local, calls.installed(), connection_shared(shared_connection):
            os.environ["TABLE_NAME"] = local.physical_name("Table")
            reset_caches()
            results.append(run_scenario(name, batches, threads, calls, args.max_seconds))
    creation_ms = client_creation_ms()
    report(results)
    hot, solo, spread, batched = results[:4]
    if not args.skip_what_if:
        print(
            "* what-if, measured by patching in this benchmark only: market.models.base.connection() "
            "returning one cached pynamodb Connection instead of a new one (new botocore session + client) "
            "per transaction"
        )
    print(
        f"a new botocore session + client costs {creation_ms:.0f} ms here; clients/sale > 0 means "
        "transactions build their own (market.models.base.connection())"
    )
    consistent = all(not r.problems for r in results)
    what_if = f"; shared connection {results[4].rate:.1f}/s" if len(results) > 4 else ""
    summary(
        f"flash sale: one wallet, {t} threads {hot.rate:.1f} sales/s, {hot.conflicts / max(hot.sales, 1):.1f} "
        f"conflicts and {hot.round_trips / max(hot.sales, 1):.1f} DynamoDB calls per sale; 1 thread {solo.rate:.1f}/s; "
        f"{args.creators} creators {spread.rate:.1f}/s; {args.batch} sales/tx {batched.rate:.1f}/s{what_if} "
        f"(moto); ledger = balance: {'yes' if consistent else 'NO'}"
    )


if __name__ == "__main__":
    main()
