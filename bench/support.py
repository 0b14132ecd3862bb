"""What the benchmarks share: fake credentials, percentiles, an AWS call counter, in-process moto."""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench  # noqa: F401 - puts the layer and the repository root on sys.path

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
# Never carried into a benchmark: they would point it at another stack or bypass SSM.
LEAKY_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "TABLE_NAME",
    "BUCKET_NAME",
    "JWT_SIGNING_KEY",
    "CURSOR_SIGNING_KEY",
)


def fake_aws_environment() -> None:
    """Fake credentials in this process, never a real account."""
    os.environ.update(FAKE_AWS_ENV)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "MarketplaceBench")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "marketplace-bench")
    for name in LEAKY_VARIABLES:
        os.environ.pop(name, None)


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile (linear interpolation); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def machine_line() -> str:
    """Interpreter, cores and load: figures taken on a busy machine are not comparable."""
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load}"


Figures = dict[str, float | int | str | bool | None]


def write_figures(path: Path | None, figures: Figures) -> None:
    """Write a benchmark's figures (stable keys, ``<benchmark>.<what>``) as JSON, for ``make bench``'s
    ``bench/results/latest.json``; nothing without ``--json``."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")


def heading(title: str) -> None:
    print(f"\n== {title}")


def summary(line: str) -> None:
    """A line for the report at the end of ``make bench``."""
    print(f"» {line}", flush=True)


@dataclass
class ApiCalls:
    """Counts botocore API calls by (service, operation), their error codes, and clients created.

    Installed by wrapping ``BaseClient._make_api_call`` and ``Session.create_client`` for the
    benchmark's duration: boto3 clients and pynamodb's own botocore clients are both counted.
    """

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    seconds: dict[tuple[str, str], float] = field(default_factory=dict)  # time spent in each operation
    clients_created: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def installed(self) -> Iterator[ApiCalls]:
        from botocore.client import BaseClient
        from botocore.exceptions import ClientError
        from botocore.session import Session

        # Private botocore methods, patched by name: the stubs do not declare _make_api_call.
        original_call = getattr(BaseClient, "_make_api_call")  # noqa: B009
        original_create = getattr(Session, "create_client")  # noqa: B009
        counter = self

        def counting_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            with counter.lock:
                counter.calls[(service, operation_name)] += 1
            start = time.perf_counter()
            try:
                return original_call(client, operation_name, api_params)
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", "?"))
                with counter.lock:
                    counter.errors[(service, operation_name, code)] += 1
                raise
            finally:
                with counter.lock:
                    key = (service, operation_name)
                    counter.seconds[key] = counter.seconds.get(key, 0.0) + time.perf_counter() - start

        def counting_create(session: Any, *args: Any, **kwargs: Any) -> Any:
            with counter.lock:
                counter.clients_created += 1
            return original_create(session, *args, **kwargs)

        setattr(BaseClient, "_make_api_call", counting_call)  # noqa: B010
        setattr(Session, "create_client", counting_create)  # noqa: B010
        try:
            yield self
        finally:
            setattr(BaseClient, "_make_api_call", original_call)  # noqa: B010
            setattr(Session, "create_client", original_create)  # noqa: B010

    def snapshot(self) -> tuple[Counter[tuple[str, str]], int]:
        with self.lock:
            return Counter(self.calls), self.clients_created

    def since(self, before: tuple[Counter[tuple[str, str]], int]) -> tuple[Counter[tuple[str, str]], int]:
        calls, clients = self.snapshot()
        return calls - before[0], clients - before[1]

    def total(self, service: str | None = None, operation: str | None = None) -> int:
        with self.lock:
            return sum(
                count
                for (svc, op), count in self.calls.items()
                if (service is None or svc == service) and (operation is None or op == operation)
            )

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.errors.clear()
            self.seconds.clear()
            self.clients_created = 0


def describe_calls(calls: Counter[tuple[str, str]]) -> str:
    """``dynamodb.GetItem x2 ssm.GetParameter`` (in call-count order)."""
    if not calls:
        return "-"
    parts = []
    for (service, operation), count in sorted(calls.items(), key=lambda item: (-item[1], item[0])):
        parts.append(f"{service}.{operation}" + (f" x{count}" if count > 1 else ""))
    return " ".join(parts)


@contextmanager
def in_process_aws(stack_name: str = "bench") -> Iterator[Any]:
    """moto in this process with the template's table, bucket and queues; yields the LocalTemplate."""
    fake_aws_environment()
    import boto3
    from moto import mock_aws

    from localdev.caches import reset_caches
    from localdev.moto_patches import apply_patches
    from localdev.stack import PARAMETERS_FILE
    from localdev.template import LocalTemplate, load_template

    # The local stack's limits (rate limits, pending orders per buyer: all high): each request still
    # takes its counters, so they are counted, but a benchmark's hundreds of orders by one account
    # are not refused.
    local = json.loads(PARAMETERS_FILE.read_text())["Parameters"]
    limits = {name: local[name] for name in ("RateLimits", "MaxPendingOrdersPerBuyer")}
    with mock_aws():
        local = LocalTemplate(load_template(), stack_name=stack_name, parameter_overrides=limits)
        local.create_resources(boto3.Session())
        # As the local stack does: moto's TransactWriteItems is only atomic under this lock.
        apply_patches()
        reset_caches()
        try:
            yield local
        finally:
            reset_caches()


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    """(milliseconds, result) of one call."""
    start = time.perf_counter()
    result = function()
    return (time.perf_counter() - start) * 1000, result
