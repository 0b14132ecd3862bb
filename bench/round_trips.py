"""AWS calls per request for the main routes, counted at botocore (boto3 and pynamodb clients alike).

In-process moto with the template's resources and every function's environment as the template
resolves it (so the signing key comes from SSM, as on AWS); each route's handler is called with
payload-2.0 events. For each route: the first request after the layer's caches are cleared (a
fresh container: settings, clients, the SSM value, table connections) and the median of warm
requests after it. Every call is a network round trip on AWS; the milliseconds are moto's.

    python -m bench.round_trips [--warm 5]
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from bench.support import (
    ApiCalls,
    describe_calls,
    heading,
    in_process_aws,
    machine_line,
    median,
    summary,
)
from localdev.caches import reset_caches

PASSWORD = "correct horse battery staple"  # noqa: S105 - a benchmark user's password
SIGNING_KEY = "bench-signing-key-0123456789abcdef0123456789"
PAYSTACK_KEY = "sk_test_local"


@dataclass
class Route:
    label: str
    module: ModuleType
    event: Callable[[], dict[str, Any]]
    cold_calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    cold_clients: int = 0
    cold_status: int = 0
    warm_counts: list[int] = field(default_factory=list)
    warm_calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    warm_clients: list[int] = field(default_factory=list)
    warm_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


def call(route: Route) -> dict[str, Any]:
    from tests.fixtures.events import lambda_context

    response: dict[str, Any] = route.module.lambda_handler(route.event(), lambda_context(route.label))
    return response


def measure(route: Route, calls: ApiCalls, warm: int) -> None:
    reset_caches()
    before = calls.snapshot()
    response = call(route)
    route.cold_calls, route.cold_clients = calls.since(before)
    route.cold_status = int(response["statusCode"])
    for _ in range(warm):
        before = calls.snapshot()
        start = time.perf_counter()
        response = call(route)
        route.warm_ms.append((time.perf_counter() - start) * 1000)
        made, clients = calls.since(before)
        route.warm_counts.append(sum(made.values()))
        route.warm_clients.append(clients)
        route.warm_calls = made
        route.statuses[int(response["statusCode"])] += 1


def function_environment(local: Any) -> dict[str, str]:
    """Every function's template variables (queue URLs resolved to the emulator's)."""
    env: dict[str, str] = {}
    for spec in local.functions():
        env.update(spec.environment)
    return env


def seed_parameters(local: Any) -> None:
    """What the local stack's operator step does: the template's secrets in SSM."""
    import boto3

    ssm = boto3.client("ssm", region_name=local.region)
    for parameter, value in (
        ("JwtSigningKeyParameter", SIGNING_KEY),
        ("CursorSigningKeyParameter", SIGNING_KEY + "-cursors"),
        ("PaystackSecretParameter", PAYSTACK_KEY),
    ):
        name = "/" + local.parameters[parameter].lstrip("/")
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def build_routes() -> list[Route]:
    from tests.fixtures.events import http_event, json_body, lambda_context, load_function

    auth = load_function("functions/auth/app.py")
    upload = load_function("functions/upload/app.py")
    wallet = load_function("functions/wallet/app.py")

    def email() -> str:
        return f"bench-{uuid.uuid4().hex[:12]}@example.com"

    def register_event(role: str = "customer", address: str | None = None) -> dict[str, Any]:
        body = {"email": address or email(), "password": PASSWORD, "role": role, "display_name": "Bench"}
        return http_event("POST", "/auth/register", body=body)

    creator_email = email()
    created = auth.lambda_handler(register_event("creator", creator_email), lambda_context())
    if created["statusCode"] != 201:
        raise RuntimeError(f"cannot register the benchmark's creator: {created}")
    login_event = http_event("POST", "/auth/login", body={"email": creator_email, "password": PASSWORD})
    tokens = json_body(auth.lambda_handler(login_event, lambda_context()))
    bearer = {"authorization": f"Bearer {tokens['access_token']}"}
    product = {"title": "Bench book", "description": "Pages", "price": 250000, "currency": "NGN"}

    return [
        Route("POST /auth/register", auth, register_event),
        Route(
            "POST /auth/login",
            auth,
            lambda: http_event("POST", "/auth/login", body={"email": creator_email, "password": PASSWORD}),
        ),
        Route("GET /me", auth, lambda: http_event("GET", "/me", headers=bearer)),
        Route("POST /products", upload, lambda: http_event("POST", "/products", body=product, headers=bearer)),
        Route("GET /products", upload, lambda: http_event("GET", "/products", query={"limit": "20"})),
        Route("GET /wallet", wallet, lambda: http_event("GET", "/wallet", headers=bearer)),
    ]


def report(routes: list[Route], warm: int) -> None:
    heading(f"AWS calls per request (in-process moto; warm = median of {warm})")
    width = max(len(route.label) for route in routes)
    print(f"{'route':{width}}  status  cold calls (clients)  warm calls (clients)  warm ms  warm calls")
    for route in routes:
        statuses = "/".join(str(code) for code in sorted({route.cold_status, *route.statuses}))
        cold = f"{sum(route.cold_calls.values())} ({route.cold_clients})"
        warm_line = f"{median(route.warm_counts):.0f} ({median(route.warm_clients):.0f})"
        print(
            f"{route.label:{width}}  {statuses:6}  {cold:>20}  {warm_line:>20}  {median(route.warm_ms):7.0f}  "
            f"{describe_calls(route.warm_calls)}"
        )
    print("cold calls: " + "; ".join(f"{r.label}: {describe_calls(r.cold_calls)}" for r in routes))
    summary(
        "AWS calls per request, warm (cold): "
        + ", ".join(f"{r.label} {median(r.warm_counts):.0f} ({sum(r.cold_calls.values())})" for r in routes)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm", type=int, default=5, help="warm requests per route after the first")
    args = parser.parse_args(argv)

    print(machine_line())
    # Powertools warns when a handler publishes no metric; not a figure.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    calls = ApiCalls()
    with in_process_aws() as local:
        os.environ.update(function_environment(local))
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the template says INFO; the figures are the output here
        seed_parameters(local)
        reset_caches()
        routes = build_routes()
        with calls.installed():
            for route in routes:
                measure(route, calls, args.warm)
    report(routes, args.warm)


if __name__ == "__main__":
    main()
