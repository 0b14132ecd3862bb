"""``python -m bench`` (``make bench``): every benchmark in turn, then the key figures together.

Each benchmark runs in a process of its own (they patch botocore, start moto or a local stack);
its output streams as it comes, and its ``»`` lines are repeated in the report at the end.

    python -m bench                      # all of them
    python -m bench cold_start flash_sale  # some of them
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench import REPO_ROOT
from bench.support import machine_line

BENCHMARKS = ("cold_start", "round_trips", "flash_sale", "webhook_storm")


def run(name: str) -> tuple[int, float, list[str]]:
    """(exit code, seconds, summary lines) of ``python -m bench.<name>``."""
    start = time.perf_counter()
    summaries = []
    with subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}"],
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
    failed = []
    for name in names:
        print(f"\n######## bench.{name}", flush=True)
        code, seconds, summaries = run(name)
        if code != 0:
            failed.append(name)
            summaries.append(f"» {name}: FAILED (exit {code})")
        report.append((name, seconds, summaries))
    print(f"\n######## report ({machine_line()}; {time.perf_counter() - start:.0f} s in all)")
    for name, seconds, summaries in report:
        print(f"[{name}, {seconds:.0f} s]")
        for line in summaries:
            print(f"  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
