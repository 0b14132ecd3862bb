"""The hot wallet: a flash sale on ONE creator through the real payments consumer, against the emulator's
raw transaction rate for the same item count, measured in the same run.

In-process moto (resources from template.yaml, DynamoDB requests serialised as the local stack does),
the template's environment for the payments function, and the fake of our own gateway port (every
payment verifies at once: the emulators' HTTP is the storm's business, ``bench/storm.py``). N pending
orders of one creator are paid; their ``payment.succeeded`` messages reach
``functions/webhook/payments.py`` as SQS batches of ``--batch`` records from T threads (T Lambda
instances polling one queue); a record reported failed (the wallet stayed busy) is delivered again,
as SQS would. Scenarios, each on a fresh emulator:

- ``raw, plain puts``: T threads sending ``TransactWriteItems`` of plain puts, as many items as the
  grouped consumer's transactions hold (measured in its scenario): the emulator's ceiling for that
  item count, in sales/s (a transaction of B sales counts B);
- ``raw, the same writes``: the grouped consumer's own biggest transaction sent again and again
  on fresh keys, its writes unchanged (updates keep their expressions) but without conditions (a
  condition on state that a fresh key does not have would refuse it): what the emulator costs for
  exactly that transaction, with nothing else around it;
- ``per record``: the consumer handling each record on its own (how it worked before grouping);
- ``grouped``: the consumer as deployed: one transaction per creator's wallet per batch;
- ``grouped, K creators``: the same sales spread over K creators, for comparison.

The figure is grouped sales/s over raw sales/s (goal: at least 50 %), with 0 lost updates (every
order paid, its sale credited exactly once, every balance equal to its ledger and to the sales).
Both raw rates are printed with their ratios. moto parses every update and condition expression
on each call, which makes a transaction of updates several times dearer than one of plain puts
(DynamoDB charges both alike, by size): the ratio to "the same writes" tells how much the consumer
adds around its transaction (reads, gateway, retries), the one to plain puts mostly how dear moto's
expressions are. Then where the grouped consumer's time goes, per AWS operation.

More threads than two add no throughput here (the emulator serves one request at a time, under
its lock and the GIL) but more refused transactions on the one wallet: every consumer that read
the balance before another's commit must compute and send its transaction again (the
``conflicts`` column). The README's performance section has the figure at 1, 2, 4 and 8 threads.

    python -m bench.flash_sale [--sales 300] [--threads 2] [--batch 10] [--creators 50]
                               [--max-seconds 30] [--json PATH]
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.support import (
    ApiCalls,
    Figures,
    heading,
    in_process_aws,
    machine_line,
    median,
    percentile,
    summary,
    write_figures,
)
from localdev.caches import reset_caches

GOAL = 0.5  # grouped sales/s over the raw rate


@dataclass
class Result:
    name: str
    sales: int  # settled within the time cap
    planned: int
    threads: int
    elapsed_s: float
    cpu_s: float = 0.0  # this process's CPU time meanwhile (every thread, moto's included)
    batch_ms: list[float] = field(default_factory=list)
    transactions: int = 0
    conflicts: int = 0  # transactions refused because the wallet's version moved (another sale first)
    requeued: int = 0  # records reported failed and delivered again
    round_trips: int = 0  # DynamoDB calls
    items_per_transaction: list[int] = field(default_factory=list)
    biggest_transaction: list[dict[str, Any]] = field(default_factory=list)
    seconds_by_operation: dict[str, tuple[int, float]] = field(default_factory=dict)
    lost: int = 0
    double: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.sales / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def cpu_rate(self) -> float:
        """Sales per CPU-second: what the rate would be on an idle core (the emulator, the consumer and
        the GIL make the work one thread's), unstretched by other load on a shared machine."""
        return self.sales / self.cpu_s if self.cpu_s else 0.0


class TransactionSizes:
    """Records the item count of every TransactWriteItems (botocore level), beside ``ApiCalls``, and
    the biggest one's items (for the "same writes" replay)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.biggest: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def install(self) -> Callable[[], None]:
        from botocore.client import BaseClient

        original = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private botocore method, patched by name
        sizes = self

        def recording(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            if operation_name == "TransactWriteItems":
                items = api_params.get("TransactItems", [])
                with sizes.lock:
                    sizes.sizes.append(len(items))
                    if len(items) > len(sizes.biggest):
                        sizes.biggest = copy.deepcopy(items)
            return original(client, operation_name, api_params)

        setattr(BaseClient, "_make_api_call", recording)  # noqa: B010
        return lambda: setattr(BaseClient, "_make_api_call", original)


def payments_environment(local: Any) -> dict[str, str]:
    spec = next(spec for spec in local.functions() if spec.logical_id == "PaymentsFunction")
    return dict(spec.environment)


def sqs_event(bodies: list[str], queue_arn: str) -> dict[str, Any]:
    from localdev.pumps import sqs_record

    records = [
        sqs_record(
            {"MessageId": str(uuid.uuid4()), "ReceiptHandle": uuid.uuid4().hex, "Body": body}, queue_arn, "us-east-1"
        )
        for body in bodies
    ]
    return {"Records": records}


def run_consumer(
    name: str, local: Any, *, sales: int, creators: int, threads: int, batch: int, grouped: bool, max_seconds: float
) -> Result:
    """Pay ``sales`` orders over ``creators`` creators and drive the payments consumer with their messages."""
    from market.consumers import consumer
    from market.messages import GatewayEventMessage
    from market.repositories import wallets as wallets_repo
    from tests.fixtures.events import gateway_event_body, lambda_context, load_function
    from tests.fixtures.payments import a_pending_order, install_fake_gateway, ledger, stored_order

    module = load_function("functions/webhook/payments.py")
    deployed = module.handle_batch
    if not grouped:  # the entry module's handler, its records taken one by one (as before grouping)
        setattr(module, "handle_batch", consumer(GatewayEventMessage, module.handle, name="payments"))  # noqa: B010
    gateway = install_fake_gateway()
    orders = []
    for index in range(sales):
        order = a_pending_order(creator_id=f"usr_{name.split()[0]}_{index % creators:03d}", buyer_id=f"usr_b{index}")
        gateway.pay(order)
        orders.append(order)
    queue_arn = local.arn("PaymentsQueue")
    work = [
        [gateway_event_body("charge.success", order.reference) for order in orders[start : start + batch]]
        for start in range(0, len(orders), batch)
    ]
    lock = threading.Lock()
    calls, sizes = ApiCalls(), TransactionSizes()
    result = Result(name=name, sales=0, planned=sales, threads=threads, elapsed_s=0.0)
    restore_sizes = sizes.install()
    start, cpu_start = time.perf_counter(), time.process_time()
    deadline = start + max_seconds

    def worker() -> None:
        while time.perf_counter() < deadline:
            with lock:
                if not work:
                    return
                bodies = work.pop(0)
            event = sqs_event(bodies, queue_arn)
            began = time.perf_counter()
            response = module.lambda_handler(event, lambda_context("PaymentsFunction"))
            failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
            with lock:
                result.batch_ms.append((time.perf_counter() - began) * 1000)
                again = [r["body"] for r in event["Records"] if r["messageId"] in failed]
                if again:
                    result.requeued += len(again)
                    work.append(again)

    try:
        with calls.installed(), ThreadPoolExecutor(max_workers=threads) as pool:
            for future in [pool.submit(worker) for _ in range(threads)]:
                future.result()
            result.elapsed_s = time.perf_counter() - start
            result.cpu_s = time.process_time() - cpu_start
            result.transactions = calls.total("dynamodb", "TransactWriteItems")
            result.conflicts = sum(n for (_, op, _), n in calls.errors.items() if op == "TransactWriteItems")
            result.round_trips = calls.total("dynamodb")
            result.seconds_by_operation = {
                f"{service}.{operation}": (calls.calls[(service, operation)], seconds)
                for (service, operation), seconds in calls.seconds.items()
            }
    finally:
        restore_sizes()
        setattr(module, "handle_batch", deployed)  # noqa: B010
    result.items_per_transaction = list(sizes.sizes)
    result.biggest_transaction = sizes.biggest

    # What every sale must have left behind: paid once, credited once, balances = ledger = sales.
    sale_counts: dict[str, int] = {}
    for creator in {order.creator_id for order in orders}:
        for entry in ledger(creator):
            if entry.type == "sale" and entry.order_id:
                sale_counts[entry.order_id] = sale_counts.get(entry.order_id, 0) + 1
    paid_per_creator: dict[str, int] = {}
    for order in orders:
        entries = sale_counts.get(order.id, 0)
        status = stored_order(order.id).status
        if status == "paid":
            result.sales += 1
            paid_per_creator[order.creator_id] = paid_per_creator.get(order.creator_id, 0) + 1
        if entries > 1:
            result.double += 1
        if (status == "paid") != (entries == 1):
            result.lost += 1
    net = orders[0].amount - _fee(orders[0].amount)
    for creator, count in paid_per_creator.items():
        result.problems += wallets_repo.check_wallet(creator)
        balance = wallets_repo.get_balance(creator, "NGN")
        if balance.available + balance.pending != count * net:
            result.lost += 1
            result.problems.append(f"{creator}: {balance.available + balance.pending} != {count} x {net}")
    return result


def _fee(amount: int) -> int:
    from market.services.payments import fee_for
    from market.settings import get_settings

    return fee_for(amount, "NGN", get_settings())


def plain_puts(table: str, count: int) -> Callable[[str], list[dict[str, Any]]]:
    def items(prefix: str) -> list[dict[str, Any]]:
        return [
            {"Put": {"TableName": table, "Item": {"PK": {"S": f"RAW#{prefix}"}, "SK": {"S": f"ITEM#{n:03d}"}}}}
            for n in range(count)
        ]

    return items


def same_writes(table: str, captured: list[dict[str, Any]]) -> Callable[[str], list[dict[str, Any]]]:
    """``captured`` (a TransactWriteItems' items) on fresh keys, conditions left out."""
    template = []
    for item in captured:
        ((kind, body),) = item.items()
        body = copy.deepcopy(body)
        body.pop("ConditionExpression", None)
        body["TableName"] = table
        used = set(re.findall(r"[#:][A-Za-z0-9_]+", body.get("UpdateExpression", "")))
        for attribute in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
            kept = {name: value for name, value in body.pop(attribute, {}).items() if name in used}
            if kept:
                body[attribute] = kept
        template.append((kind, body))

    def items(prefix: str) -> list[dict[str, Any]]:
        out = []
        for kind, body in template:
            fresh_body = copy.deepcopy(body)
            key = fresh_body["Item"] if kind == "Put" else fresh_body["Key"]
            key["PK"] = {"S": f"RAW#{prefix}#{key['PK']['S']}"}
            out.append({kind: fresh_body})
        return out

    return items


def run_raw(
    name: str,
    local: Any,
    *,
    transactions: int,
    make_items: Callable[[str, Any], Callable[[str], list[dict[str, Any]]]],
    sales_per_tx: int,
    threads: int,
) -> Result:
    """The emulator's own rate for ``TransactWriteItems`` of the given items (no read, nothing around it)."""
    from market import aws

    client = aws.client("dynamodb")
    items_for = make_items(local.physical_name("Table"), local)
    lock = threading.Lock()
    left = [transactions]
    result = Result(name=name, sales=0, planned=transactions * sales_per_tx, threads=threads, elapsed_s=0.0)

    def worker() -> None:
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            items = items_for(uuid.uuid4().hex)
            began = time.perf_counter()
            client.transact_write_items(TransactItems=items)
            with lock:
                result.batch_ms.append((time.perf_counter() - began) * 1000)
                result.sales += sales_per_tx
                result.transactions += 1
                result.items_per_transaction.append(len(items))

    start, cpu_start = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()
    result.elapsed_s = time.perf_counter() - start
    result.cpu_s = time.process_time() - cpu_start
    result.round_trips = result.transactions
    return result


def fresh(run: Callable[[Any], Result]) -> Result:
    # A fresh emulator per scenario, so that no scenario pays for another's table.
    with in_process_aws() as local:
        os.environ.update(payments_environment(local))
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # no metrics blob per batch on stdout
        os.environ.setdefault("JWT_SIGNING_KEY", "bench")
        os.environ.setdefault("CURSOR_SIGNING_KEY", "bench-cursors")  # the ledger check pages with cursors
        os.environ.setdefault("PAYSTACK_SECRET_KEY", "sk_test_local")
        reset_caches()
        return run(local)


def report(results: list[Result]) -> None:
    heading("flash sale through the payments consumer (in-process moto; sales/s are moto's, compare scenarios)")
    print(
        f"{'scenario':34} {'sales':>9} {'sales/s':>8} {'/cpu-s':>7} {'batch p50':>9} {'p99 ms':>7} {'tx':>5} "
        f"{'items/tx':>8} "
        f"{'conflicts':>9} {'requeued':>8} {'ddb/sale':>8}  lost  double  ledger = balance"
    )
    for r in results:
        check = "yes" if not r.problems else f"NO: {r.problems[:2]}"
        print(
            f"{r.name:34} {f'{r.sales}/{r.planned}':>9} {r.rate:8.1f} {r.cpu_rate:7.1f} "
            f"{percentile(r.batch_ms, 50):9.0f} "
            f"{percentile(r.batch_ms, 99):7.0f} {r.transactions:5d} {median(r.items_per_transaction):8.0f} "
            f"{r.conflicts:9d} {r.requeued:8d} {r.round_trips / max(r.sales, 1):8.2f}  {r.lost:4d}  {r.double:6d}  "
            f"{check}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sales", type=int, default=300)
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="consumer instances (threads) polling the queue; 2 keep the in-process emulator busy (one in it, "
        "one preparing): more only add refused transactions on the one wallet, not throughput",
    )
    parser.add_argument("--batch", type=int, default=10, help="records per SQS batch (the template's BatchSize)")
    parser.add_argument("--creators", type=int, default=50, help="creators in the spread-out scenario")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="per scenario: no batch starts after this")
    parser.add_argument("--json", type=Path, help="write the figures as JSON (make bench: bench/results/latest.json)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="No application metrics to publish")

    print(machine_line())
    n, t, b = args.sales, args.threads, args.batch
    common = {"threads": t, "batch": b, "max_seconds": args.max_seconds}
    grouped = fresh(
        lambda local: run_consumer(
            f"grouped {b}/batch, {t} threads", local, sales=n, creators=1, grouped=True, **common
        )
    )
    per_record = fresh(
        lambda local: run_consumer(f"per record, {t} threads", local, sales=n, creators=1, grouped=False, **common)
    )
    spread = fresh(
        lambda local: run_consumer(
            f"spread {args.creators} creators, grouped", local, sales=n, creators=args.creators, grouped=True, **common
        )
    )
    items = round(median(grouped.items_per_transaction)) or 1
    raw = fresh(
        lambda local: run_raw(
            f"raw, plain puts ({items} items)",
            local,
            transactions=max(1, n // b),
            make_items=lambda table, _: plain_puts(table, items),
            sales_per_tx=b,
            threads=t,
        )
    )
    replay = fresh(
        lambda local: run_raw(
            f"raw, the same writes ({len(grouped.biggest_transaction)} items)",
            local,
            transactions=max(1, n // b),
            make_items=lambda table, _: same_writes(table, grouped.biggest_transaction),
            sales_per_tx=b,
            threads=t,
        )
    )
    results = [raw, replay, per_record, grouped, spread]
    report(results)
    heading("where the grouped consumer's time goes (AWS calls, summed over its threads)")
    for operation, (count, seconds) in sorted(grouped.seconds_by_operation.items(), key=lambda kv: -kv[1][1]):
        print(f"{operation:32} {count:5d} calls  {seconds:7.2f} s  {seconds / count * 1000:7.1f} ms each")

    def share(numerator: Result, denominator: Result) -> tuple[float, float]:
        """(by CPU time, by wall time): the first is the figure, the second swings with the machine's load."""
        cpu = numerator.cpu_rate / denominator.cpu_rate if denominator.cpu_rate else 0.0
        wall = numerator.rate / denominator.rate if denominator.rate else 0.0
        return cpu, wall

    ratio_same, ratio_same_wall = share(grouped, replay)
    ratio, ratio_wall = share(grouped, raw)
    before_same, before_same_wall = share(per_record, replay)
    before, _ = share(per_record, raw)
    lost = sum(r.lost for r in (per_record, grouped, spread))
    double = sum(r.double for r in (per_record, grouped, spread))
    consistent = all(not r.problems for r in results)
    print(
        f"one creator, grouped: {ratio_same:.0%} of the emulator's rate for the same writes "
        f"({ratio_same_wall:.0%} by wall time), {ratio:.0%} of plain puts of as many items ({ratio_wall:.0%}); "
        f"goal >= {GOAL:.0%}. Per record: {before_same:.0%} ({before_same_wall:.0%}) and {before:.0%}. "
        "Ratios are per CPU-second of this process (the work is one thread's: moto runs in it, under its lock "
        "and the GIL), which other load on the machine does not stretch; wall-time ratios in brackets."
    )
    figures: Figures = {
        "flash_sale.raw_sales_per_s": round(raw.rate, 1),
        "flash_sale.raw_items_per_transaction": items,
        "flash_sale.raw_same_writes_sales_per_s": round(replay.rate, 1),
        "flash_sale.grouped_sales_per_s": round(grouped.rate, 1),
        "flash_sale.grouped_sales_per_cpu_s": round(grouped.cpu_rate, 1),
        "flash_sale.raw_same_writes_sales_per_cpu_s": round(replay.cpu_rate, 1),
        "flash_sale.grouped_ratio_vs_raw": round(ratio, 3),
        "flash_sale.grouped_ratio_vs_same_writes": round(ratio_same, 3),
        "flash_sale.grouped_ratio_vs_same_writes_wall": round(ratio_same_wall, 3),
        "flash_sale.per_record_sales_per_s": round(per_record.rate, 1),
        "flash_sale.per_record_ratio_vs_raw": round(before, 3),
        "flash_sale.per_record_ratio_vs_same_writes": round(before_same, 3),
        "flash_sale.spread_sales_per_s": round(spread.rate, 1),
        "flash_sale.grouped_conflicts_per_sale": round(grouped.conflicts / max(grouped.sales, 1), 3),
        "flash_sale.per_record_conflicts_per_sale": round(per_record.conflicts / max(per_record.sales, 1), 3),
        "flash_sale.grouped_dynamodb_calls_per_sale": round(grouped.round_trips / max(grouped.sales, 1), 2),
        "flash_sale.per_record_dynamodb_calls_per_sale": round(per_record.round_trips / max(per_record.sales, 1), 2),
        "flash_sale.lost_updates": lost,
        "flash_sale.double_credits": double,
        "flash_sale.ledger_equals_balance": consistent,
        "flash_sale.sales_settled": grouped.sales,
        "flash_sale.sales_planned": grouped.planned,
    }
    summary(
        f"flash sale, one creator: grouped {grouped.rate:.1f} sales/s ({ratio_same:.0%} of the same writes' "
        f"{replay.rate:.1f}/s, {ratio:.0%} of plain puts' {raw.rate:.1f}/s; goal {GOAL:.0%}), "
        f"{grouped.conflicts / max(grouped.sales, 1):.2f} conflicts and "
        f"{grouped.round_trips / max(grouped.sales, 1):.2f} DynamoDB calls per sale; per record "
        f"{per_record.rate:.1f}/s ({before_same:.0%} / {before:.0%}), "
        f"{per_record.conflicts / max(per_record.sales, 1):.2f} conflicts, "
        f"{per_record.round_trips / max(per_record.sales, 1):.2f} calls; lost {lost}, double {double}, "
        f"ledger = balance: {'yes' if consistent else 'NO'}"
    )
    write_figures(args.json, figures)
    return 0 if lost == 0 and double == 0 and consistent else 1


if __name__ == "__main__":
    raise SystemExit(main())
