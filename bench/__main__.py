"""``python -m bench`` (``make bench``): every benchmark in turn, then the key figures together.

Each benchmark runs in a process of its own (they patch botocore, start moto or a local stack);
its output streams as it comes, and its ``»`` lines are repeated in the report at the end. Each
writes its figures (stable keys, ``<benchmark>.<what>``) to a JSON file; they are gathered into
``bench/results/latest.json`` with the machine, the commit and each benchmark's exit code, and the
key ones into ``bench/results/latest.md`` (the table the README's performance section shows).
Running some benchmarks replaces their figures there and keeps the others' (each benchmark's
entry says when it ran).

    python -m bench                          # all of them (the storms take a while)
    python -m bench cold_start flash_sale    # some of them
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import REPO_ROOT
from bench.support import machine_line

# name -> (module, extra arguments)
BENCHMARKS: dict[str, tuple[str, list[str]]] = {
    "cold_start": ("cold_start", []),
    "round_trips": ("round_trips", []),
    "flash_sale": ("flash_sale", []),
    "webhook_storm": ("webhook_storm", []),
    "storm": ("storm", []),
    "storm_faults": ("storm", ["--faults", "--port", "7300"]),
}
RESULTS = REPO_ROOT / "bench" / "results"


def run(name: str, json_path: Path) -> tuple[int, float, list[str]]:
    """(exit code, seconds, summary lines) of one benchmark. ``BENCH_STORM_SALES`` sizes both storms
    (default 1,000): on a shared 2-core machine a smaller one finishes in minutes."""
    module, extra = BENCHMARKS[name]
    if module == "storm" and os.environ.get("BENCH_STORM_SALES"):
        extra = [*extra, "--sales", os.environ["BENCH_STORM_SALES"]]
    start = time.perf_counter()
    summaries = []
    with subprocess.Popen(
        [sys.executable, "-m", f"bench.{module}", *extra, "--json", str(json_path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as process:
        assert process.stdout is not None  # noqa: S101 - set by stdout=PIPE
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith("» "):
                summaries.append(line.rstrip("\n"))
        code = process.wait()
    return code, time.perf_counter() - start, summaries


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


# (figure key, what it is, goal) for the Markdown table; a key the run did not produce is left out.
TABLE: list[tuple[str, str, str]] = [
    ("cold_start.baseline_ms", "cold start: baseline (import boto3 + 1 client), ms", ""),
    ("cold_start.max_ratio_vs_boto3", "cold start: slowest function / baseline", "<= 1.3"),
    ("cold_start.functions_over_budget", "cold start: functions over 1.3x", "0"),
    ("cold_start.WebhookFunction.ratio_vs_boto3", "cold start: webhook receiver / baseline", ""),
    ("round_trips.login.calls", "AWS calls: login (success)", "<= 2"),
    ("round_trips.register.calls", "AWS calls: register", "1"),
    ("round_trips.settlement_batch_per_sale.calls", "AWS calls per sale: settlement, 10 of one creator", ""),
    ("round_trips.flows_over_floor", "flows above their round-trip floor (README explains each)", ""),
    (
        "flash_sale.grouped_ratio_vs_same_writes",
        "flash sale, one creator: grouped / emulator's rate, same writes",
        ">= 0.5",
    ),
    ("flash_sale.grouped_ratio_vs_raw", "flash sale, one creator: grouped / emulator's rate, plain puts", ""),
    ("flash_sale.per_record_ratio_vs_same_writes", "flash sale, one creator: per record (before) / same writes", ""),
    ("flash_sale.grouped_conflicts_per_sale", "flash sale: refused transactions per sale, grouped", ""),
    ("flash_sale.lost_updates", "flash sale: lost updates", "0"),
    ("webhook_storm.requests_per_s", "webhook receiver storm: requests/s", ""),
    ("webhook_storm.p99_ms", "webhook receiver storm: p99 ms", ""),
    ("storm.sales_per_s", "storm: sales/s, pay -> paid", ""),
    ("storm.ratio_vs_raw_transactions", "storm: sales/s / emulator's raw transactions/s", ""),
    ("storm.webhook_p99_ms", "storm: webhook receive p99 ms", ""),
    ("storm.pay_to_email_p99_ms", "storm: pay -> email p99 ms", ""),
    ("storm.double_credits", "storm: double_credits", "0"),
    ("storm.lost_orders", "storm: lost_orders", "0"),
    ("storm_faults.double_credits", "storm, verify failing 30 %: double_credits", "0"),
    ("storm_faults.lost_orders", "storm, verify failing 30 %: lost_orders", "0"),
    ("storm_faults.pay_to_email_p99_ms", "storm, verify failing 30 %: pay -> email p99 ms", ""),
]


def markdown(results: dict[str, Any]) -> str:
    figures = results["figures"]
    runs = results["benchmarks"]
    when = ", ".join(f"{name} {run.get('ran_at', '?')} ({run.get('commit', '?')})" for name, run in runs.items())
    lines = [
        f"Written {results['generated_at']} on {results['machine']}; runs: {when}.",
        "",
        "| figure | value | goal |",
        "| --- | ---: | --- |",
    ]
    for key, label, goal in TABLE:
        if key in figures:
            value = figures[key]
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            lines.append(f"| {label} | {shown} | {goal} |")
    failed = [name for name, run in results["benchmarks"].items() if run["exit_code"] != 0]
    if failed:
        lines += ["", f"Benchmarks that exited non-zero: {', '.join(failed)}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)

    start = time.perf_counter()
    report = []
    results: dict[str, Any] = {"benchmarks": {}, "figures": {}}
    latest = RESULTS / "latest.json"
    if latest.exists():  # keep the figures of the benchmarks not run this time
        kept = json.loads(latest.read_text())
        results["benchmarks"] = {k: v for k, v in kept.get("benchmarks", {}).items() if k not in names}
        results["figures"] = {k: v for k, v in kept.get("figures", {}).items() if k.split(".", 1)[0] not in names}
    results.update(
        generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), machine=machine_line(), commit=commit()
    )
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for name in names:
            print(f"\n######## bench.{name}", flush=True)
            json_path = Path(tmp) / f"{name}.json"
            code, seconds, summaries = run(name, json_path)
            if code != 0:
                summaries.append(f"» {name}: FAILED (exit {code})")
            report.append((name, seconds, summaries))
            results["benchmarks"][name] = {
                "exit_code": code,
                "seconds": round(seconds, 1),
                "ran_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "machine": machine_line(),
                "commit": results["commit"],
            }
            if json_path.exists():
                results["figures"].update(json.loads(json_path.read_text()))
    RESULTS.mkdir(parents=True, exist_ok=True)
    latest.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    (RESULTS / "latest.md").write_text(markdown(results))
    print(f"\n######## report ({machine_line()}; {time.perf_counter() - start:.0f} s in all)")
    for name, seconds, summaries in report:
        print(f"[{name}, {seconds:.0f} s]")
        for line in summaries:
            print(f"  {line}")
    print("figures: bench/results/latest.json, table: bench/results/latest.md")
    return 1 if any(run["exit_code"] for run in results["benchmarks"].values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
