"""AWS calls per request for every flow, counted at botocore (boto3 and pynamodb clients alike),
against each flow's floor.

In-process moto with the template's resources and every function's environment as the template
resolves it (so the signing key comes from SSM, as on AWS; hold periods off, so that a sale can be
paid out at once); the gateway is the in-memory fake of our port (``tests.fixtures.wallet``), so
only AWS calls are counted. Each flow's handler is called as Lambda would call it (payload-2.0
events, SQS batches), after its own set-up (not counted). For each: the first call after the
layer's caches are cleared (a fresh container: settings, clients, the SSM value, table
connections) and the median of warm calls after it, per unit (a sale, for the batch). The floor
is the fewest round trips the flow's design needs (README, "Performance", says why each is what
it is); "over" marks a flow above it. Every call is a network round trip on AWS; the milliseconds
are moto's.

    python -m bench.round_trips [--warm 5] [--json PATH]
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
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.support import (
    ApiCalls,
    Figures,
    describe_calls,
    heading,
    in_process_aws,
    machine_line,
    median,
    summary,
    write_figures,
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
    floor: float = 0.0  # round trips per unit the flow's design needs
    units: int = 1  # what one call settles (a batch's sales), for calls per unit
    prepare: Callable[[], None] | None = None  # state the next call needs, not counted
    key: str = ""  # the figure's stable name
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


def status_of(response: dict[str, Any]) -> int:
    """An API response's status; a queue consumer's: 200 when no record failed, else 500."""
    if "statusCode" in response:
        return int(response["statusCode"])
    return 500 if response.get("batchItemFailures") else 200


_fake_gateway: list[Any] = []  # the fake of our gateway port, put back after each reset of the caches


def fresh_container() -> None:
    """What a new Lambda container starts with: no settings, clients, SSM value or connections cached."""
    from market.gateways.registry import override_gateway

    reset_caches()
    for fake in _fake_gateway:
        override_gateway("paystack", fake)


def measure(route: Route, calls: ApiCalls, warm: int) -> None:
    if route.prepare:
        route.prepare()
    fresh_container()
    before = calls.snapshot()
    response = call(route)
    route.cold_calls, route.cold_clients = calls.since(before)
    route.cold_status = status_of(response)
    for _ in range(warm):
        if route.prepare:
            route.prepare()
        before = calls.snapshot()
        start = time.perf_counter()
        response = call(route)
        route.warm_ms.append((time.perf_counter() - start) * 1000)
        made, clients = calls.since(before)
        route.warm_counts.append(sum(made.values()))
        route.warm_clients.append(clients)
        route.warm_calls = made
        route.statuses[status_of(response)] += 1


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
    # ... and the delivery email's sender verified in SES.
    boto3.client("ses", region_name=local.region).verify_email_identity(EmailAddress=local.parameters["EmailSender"])


def build_routes() -> list[Route]:
    from tests.fixtures.events import (
        gateway_event_body,
        http_event,
        json_body,
        lambda_context,
        load_function,
        sqs_event,
    )
    from tests.fixtures.payments import a_product
    from tests.fixtures.wallet import install_fake_gateway

    gateway = install_fake_gateway()
    gateway.transfer_outcome = "success"
    _fake_gateway[:] = [gateway]
    auth = load_function("functions/auth/app.py")
    upload = load_function("functions/upload/app.py")
    checkout = load_function("functions/checkout/app.py")
    receiver = load_function("functions/webhook/receiver.py")
    payments = load_function("functions/webhook/payments.py")
    delivery = load_function("functions/delivery/app.py")
    delivery_worker = load_function("functions/delivery/worker.py")
    wallet = load_function("functions/wallet/app.py")
    payouts_worker = load_function("functions/wallet/payouts.py")

    def email() -> str:
        return f"bench-{uuid.uuid4().hex[:12]}@example.com"

    def register_event(role: str = "customer", address: str | None = None) -> dict[str, Any]:
        body = {"email": address or email(), "password": PASSWORD, "role": role, "display_name": "Bench"}
        return http_event("POST", "/auth/register", body=body)

    def signed_up(role: str) -> tuple[str, dict[str, str]]:
        address = email()
        created = auth.lambda_handler(register_event(role, address), lambda_context())
        if created["statusCode"] != 201:
            raise RuntimeError(f"cannot register the benchmark's {role}: {created}")
        login_event = http_event("POST", "/auth/login", body={"email": address, "password": PASSWORD})
        tokens = json_body(auth.lambda_handler(login_event, lambda_context()))
        return str(json_body(created)["id"]), {"authorization": f"Bearer {tokens['access_token']}"}

    creator_id, bearer = signed_up("creator")
    _, buyer = signed_up("customer")
    creator_email = email()
    auth.lambda_handler(register_event("creator", creator_email), lambda_context())
    product = {"title": "Bench book", "description": "Pages", "price": 250000, "currency": "NGN"}
    draft = json_body(
        upload.lambda_handler(http_event("POST", "/products", body=product, headers=bearer), lambda_context())
    )
    published = a_product(creator_id, price=250000)
    ticket = {"filename": "book.pdf", "content_type": "application/pdf", "size_bytes": 123456}

    def new_order() -> dict[str, Any]:
        event = http_event("POST", "/orders", body={"product_id": published.id}, headers=buyer)
        made: dict[str, Any] = json_body(checkout.lambda_handler(event, lambda_context()))["order"]
        return made

    def paid_order() -> dict[str, Any]:
        order = new_order()
        gateway.paid[order["reference"]] = (order["amount"], order["currency"])
        return order

    def settled_order() -> dict[str, Any]:
        order = paid_order()
        body = gateway_event_body("charge.success", order["reference"])
        payments.lambda_handler(sqs_event(body, queue="PaymentsQueue"), lambda_context())
        return order

    state: dict[str, Any] = {}

    def webhook_event() -> dict[str, Any]:
        import hashlib
        import hmac
        import json

        body = json.dumps({"event": "charge.success", "data": {"reference": f"mkt-{uuid.uuid4().hex}"}})
        signature = hmac.new(PAYSTACK_KEY.encode(), body.encode(), hashlib.sha512).hexdigest()
        event = http_event("POST", "/webhooks/paystack", body=body, headers={"x-paystack-signature": signature})
        event["rawPath"] = "/webhooks/paystack"
        return event

    def prepare_settlement(count: int) -> Callable[[], None]:
        def prepare() -> None:
            state["payments"] = [gateway_event_body("charge.success", paid_order()["reference"]) for _ in range(count)]

        return prepare

    def prepare_delivery() -> None:
        order = settled_order()
        state["delivery"] = json.dumps({"order_id": order["id"], "product_id": order["product_id"]})

    def prepare_download() -> None:
        order = settled_order()
        event = http_event("POST", f"/orders/{order['id']}/download-link", headers=buyer)
        link = json_body(delivery.lambda_handler(event, lambda_context()))
        state["token"] = link["url"].rsplit("/", 1)[-1]

    def prepare_link() -> None:
        state["order"] = settled_order()["id"]

    def prepare_payout() -> None:
        settled_order()  # a sale for the creator: money to pay out

    def prepare_payout_worker() -> None:
        event = http_event("POST", "/wallet/payouts", body={"amount": 100000, "currency": "NGN"}, headers=bearer)
        state["payout"] = json_body(wallet.lambda_handler(event, lambda_context()))["id"]

    import json

    # A payout account (once); the resolve call is the gateway's.
    account = {"bank_code": "058", "account_number": "0123456789", "currency": "NGN"}
    wallet.lambda_handler(http_event("PUT", "/wallet/payout-account", body=account, headers=bearer), lambda_context())

    return [
        Route("POST /auth/register", auth, register_event, floor=1, key="register"),
        Route(
            "POST /auth/login",
            auth,
            lambda: http_event("POST", "/auth/login", body={"email": creator_email, "password": PASSWORD}),
            floor=2,
            key="login",
        ),
        Route("GET /me", auth, lambda: http_event("GET", "/me", headers=bearer), floor=1, key="me"),
        Route(
            "POST /products",
            upload,
            lambda: http_event("POST", "/products", body=product, headers=bearer),
            floor=1,
            key="create_product",
        ),
        Route(
            "POST /products/{id}/upload",
            upload,
            lambda: http_event("POST", f"/products/{draft['id']}/upload", body=ticket, headers=bearer),
            floor=2,
            key="presign",
        ),
        Route(
            "GET /products",
            upload,
            lambda: http_event("GET", "/products", query={"limit": "20"}),
            floor=1,
            key="catalog",
        ),
        Route(
            "POST /orders",
            checkout,
            lambda: http_event("POST", "/orders", body={"product_id": published.id}, headers=buyer),
            floor=3,  # product + buyer read; order, reference, counters (one transaction); page URL after initialize
            key="create_order",
        ),
        Route("POST /webhooks/paystack", receiver, webhook_event, floor=1, key="webhook_receive"),
        Route(
            "settlement (1 record)",
            payments,
            lambda: sqs_event(*state["payments"], queue="PaymentsQueue"),
            floor=5,  # references + guards, orders (2 batched reads); balance; the transaction; the delivery message
            prepare=prepare_settlement(1),
            key="settlement_one",
        ),
        Route(
            "settlement (10 of one creator)",
            payments,
            lambda: sqs_event(*state["payments"], queue="PaymentsQueue"),
            floor=0.5,  # the same five calls for the whole batch of one creator
            units=10,
            prepare=prepare_settlement(10),
            key="settlement_batch_per_sale",
        ),
        Route(
            "delivery (1 record)",
            delivery_worker,
            lambda: sqs_event(state["delivery"], queue="DeliveryQueue"),
            floor=4,  # order + product read; lease, unsent check, grant, library entry (one transaction); email; mark
            prepare=prepare_delivery,
            key="delivery",
        ),
        Route(
            "POST /orders/{id}/download-link",
            delivery,
            lambda: http_event("POST", f"/orders/{state['order']}/download-link", headers=buyer),
            floor=3,  # the order, then its product (named by the order); grant and rate counter in one transaction
            prepare=prepare_link,
            key="download_link",
        ),
        Route(
            "GET /downloads/{token}",
            delivery,
            lambda: http_event("GET", f"/downloads/{state['token']}"),
            floor=2,  # the grant; one transaction taking a use and checking the order still gives access
            prepare=prepare_download,
            key="download",
        ),
        Route("GET /wallet", wallet, lambda: http_event("GET", "/wallet", headers=bearer), floor=1, key="wallet_read"),
        Route(
            "POST /wallet/payouts",
            wallet,
            lambda: http_event("POST", "/wallet/payouts", body={"amount": 100000, "currency": "NGN"}, headers=bearer),
            floor=3,  # payout account + balance read; the hold transaction; the queue message
            prepare=prepare_payout,
            key="payout_request",
        ),
        Route(
            "payout transfer (1 record)",
            payouts_worker,
            lambda: sqs_event(json.dumps({"payout_id": state["payout"]}), queue="PayoutsQueue"),
            floor=4,  # the payout; marked processing before the gateway call; balance read; the settling transaction
            prepare=prepare_payout_worker,
            key="payout_transfer",
        ),
    ]


def report(routes: list[Route], warm: int, figures: Figures) -> None:
    heading(f"AWS calls per request (in-process moto; warm = median of {warm}; per unit: a sale of a batch)")
    width = max(len(route.label) for route in routes)
    print(f"{'flow':{width}}  status  cold calls (clients)  warm calls (clients)  per unit  floor  warm ms  warm calls")
    over = []
    for route in routes:
        statuses = "/".join(str(code) for code in sorted({route.cold_status, *route.statuses}))
        cold = f"{sum(route.cold_calls.values())} ({route.cold_clients})"
        warm_calls = median(route.warm_counts)
        per_unit = warm_calls / route.units
        warm_line = f"{warm_calls:.0f} ({median(route.warm_clients):.0f})"
        mark = "  over" if per_unit > route.floor + 1e-9 else ""
        if mark:
            over.append(route.label)
        print(
            f"{route.label:{width}}  {statuses:6}  {cold:>20}  {warm_line:>20}  {per_unit:8.2f}  {route.floor:5.1f}  "
            f"{median(route.warm_ms):7.0f}  {describe_calls(route.warm_calls)}{mark}"
        )
        figures[f"round_trips.{route.key}.calls"] = round(per_unit, 2)
        figures[f"round_trips.{route.key}.floor"] = route.floor
    print("cold calls: " + "; ".join(f"{r.label}: {describe_calls(r.cold_calls)}" for r in routes))
    figures["round_trips.flows_over_floor"] = len(over)
    summary(
        "AWS calls per request, warm (floor): "
        + ", ".join(f"{r.label} {median(r.warm_counts) / r.units:.2g} ({r.floor:g})" for r in routes)
        + (f"; over the floor: {', '.join(over)}" if over else "; every flow at its floor")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm", type=int, default=5, help="warm requests per route after the first")
    parser.add_argument("--json", type=Path, help="write the figures as JSON (make bench: bench/results/latest.json)")
    args = parser.parse_args(argv)

    print(machine_line())
    # Powertools warns when a handler publishes no metric; not a figure.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    calls = ApiCalls()
    with in_process_aws() as local:
        os.environ.update(function_environment(local))
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the template says INFO; the figures are the output here
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        os.environ["HOLD_DAYS"] = ""  # no hold period: a sale can be paid out at once (as locally)
        seed_parameters(local)
        reset_caches()
        routes = build_routes()
        with calls.installed():
            for route in routes:
                measure(route, calls, args.warm)
    figures: Figures = {}
    report(routes, args.warm, figures)
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
