"""Rate limits on register and order creation (and the scopes guest checkout and resend will use):
DynamoDB counters per IP and per account or address, 429 problem+json with Retry-After.

In-process functions against moto with the template's IAM enforced; the limits are lowered through
``RATE_LIMITS`` as a deploy would set the ``RateLimits`` parameter.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from localdev.caches import reset_caches
from market.auth import passwords
from market.auth.tokens import issue_access_token
from market.domain.errors import TooManyRequests, TransientError
from market.domain.limits import DEFAULT_RATE_LIMITS
from market.gateways.registry import reset_gateways
from market.services import limits
from market.settings import get_settings
from tests.fixtures.aws import AwsCalls, AwsResources
from tests.fixtures.events import REPO_ROOT, header, http_event, json_body, lambda_context, load_function
from tests.fixtures.payments import a_product, a_user, install_fake_gateway

pytestmark = pytest.mark.usefixtures("fast_argon2")


@pytest.fixture
def lowered(aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(
        "RATE_LIMITS", "register-ip:3,register-email:2,order-ip:4,order-account:2,resend-email:1,guest-checkout-ip:1"
    )
    monkeypatch.setenv("RATE_LIMIT_WINDOW_SECONDS", "600")
    reset_caches()
    install_fake_gateway()
    yield
    reset_gateways()
    reset_caches()


def register(email: str, ip: str) -> dict[str, Any]:
    body = {"email": email, "password": "a-long-enough-password", "role": "customer"}
    event = http_event("POST", "/auth/register", body=body, source_ip=ip)
    return load_function("functions/auth/app.py").lambda_handler(event, lambda_context("AuthFunction"))  # type: ignore[no-any-return]


def order(buyer: str, product_id: str, ip: str) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {issue_access_token(buyer, 'customer')[0]}"}
    event = http_event("POST", "/orders", body={"product_id": product_id}, headers=headers, source_ip=ip)
    return load_function("functions/checkout/app.py").lambda_handler(event, lambda_context("CheckoutFunction"))  # type: ignore[no-any-return]


def assert_429(response: dict[str, Any], window: int = 600) -> None:
    assert response["statusCode"] == 429, response.get("body")
    assert header(response, "content-type") == "application/problem+json"
    body = json_body(response)
    assert body["status"] == 429
    assert {"type", "title", "detail"} <= set(body)
    assert 1 <= int(header(response, "retry-after") or 0) <= window


def unique_email() -> str:
    return f"rl-{uuid.uuid4().hex[:10]}@example.com"


def test_register_is_limited_per_source_ip(lowered: None) -> None:
    answers = [register(unique_email(), "198.51.100.7")["statusCode"] for _ in range(3)]

    assert answers == [201, 201, 201]
    assert_429(register(unique_email(), "198.51.100.7"))
    assert register(unique_email(), "198.51.100.8")["statusCode"] == 201  # another address is not held back


def test_register_is_limited_per_address_whatever_the_ip(lowered: None) -> None:
    email = unique_email()

    first = register(email, "198.51.100.20")
    second = register(email.upper(), "198.51.100.21")  # the same address, another case and IP
    third = register(email, "198.51.100.22")

    assert (first["statusCode"], second["statusCode"]) == (201, 409)
    assert_429(third)


def test_a_refused_address_is_refused_again_without_a_call_or_a_hash_until_its_window_ends(
    lowered: None, aws_calls: AwsCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    ip = "198.51.100.30"
    assert [register(unique_email(), ip)["statusCode"] for _ in range(3)] == [201, 201, 201]
    assert_429(register(unique_email(), ip))  # the counter's condition refused the transaction
    hashed: list[str] = []
    hash_password = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda password: hashed.append(password) or hash_password(password))
    mark = len(aws_calls.made)

    assert_429(register(unique_email(), ip))
    assert (aws_calls.since(mark), hashed) == ([], [])  # counts only grow within a window: no need to ask

    limits.reset_refusals()  # another container has not seen the refusal: the counter still refuses
    assert_429(register(unique_email(), ip))
    # ...and the refused request is counted against both limits after it, as every request is.
    assert aws_calls.since(mark) == ["dynamodb.TransactWriteItems", "dynamodb.UpdateItem", "dynamodb.UpdateItem"]
    assert register(unique_email(), "198.51.100.31")["statusCode"] == 201


def test_orders_are_limited_per_account_and_more_loosely_per_ip(lowered: None) -> None:
    product = a_product(a_user("creator"))
    ada, bola, chike = a_user("customer"), a_user("customer"), a_user("customer")
    ip = "203.0.113.9"  # one carrier-grade NAT address for everyone

    assert [order(ada, product.id, ip)["statusCode"] for _ in range(2)] == [201, 201]
    assert_429(order(ada, product.id, ip))  # the account's limit, while the IP still has room
    assert [order(bola, product.id, ip)["statusCode"] for _ in range(1)] == [201]
    assert_429(order(chike, product.id, ip))  # now the IP's own (generous) limit: 4 requests
    assert order(chike, product.id, "203.0.113.10")["statusCode"] == 201


def test_a_refused_order_still_counts_against_the_limits(lowered: None) -> None:
    # The counters ride in the order's transaction; a request refused before or by it is counted after.
    product = a_product(a_user("creator"))
    ada = a_user("customer")

    assert [order(ada, "prd_does_not_exist", "203.0.113.40")["statusCode"] for _ in range(2)] == [404, 404]

    assert_429(order(ada, product.id, "203.0.113.41"))  # the account's limit (2) went to the refused ones


def test_the_guest_checkout_and_resend_scopes_are_ready_for_their_routes(lowered: None) -> None:
    limits.check_resend("Buyer@Example.com", "192.0.2.1")
    with pytest.raises(TooManyRequests):
        limits.check_resend("buyer@example.com", "192.0.2.2")  # per address, whatever the IP
    limits.take(*limits.guest_checkout_checks("a@example.com", "192.0.2.3"))
    with pytest.raises(TooManyRequests):
        limits.take(*limits.guest_checkout_checks("b@example.com", "192.0.2.3"))  # per IP


def test_a_limit_of_zero_turns_a_scope_off(aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMITS", "resend-email:0,resend-ip:0")
    get_settings.cache_clear()
    for _ in range(20):
        limits.check_resend("buyer@example.com", "192.0.2.1")
    get_settings.cache_clear()


def test_per_ip_limits_are_generous_and_local_defaults_let_a_suite_run_a_thousand_of_each() -> None:
    # Carrier-grade NAT: an address carries many buyers, so per-IP limits are far above per-account ones.
    assert DEFAULT_RATE_LIMITS["order-ip"] >= 10 * DEFAULT_RATE_LIMITS["order-account"]
    assert DEFAULT_RATE_LIMITS["register-ip"] >= 10 * DEFAULT_RATE_LIMITS["register-email"]
    local = json.loads((REPO_ROOT / "localdev" / "parameters.json").read_text())["Parameters"]["RateLimits"]
    values = {scope: int(limit) for scope, _, limit in (pair.partition(":") for pair in local.split(","))}
    assert set(values) == set(DEFAULT_RATE_LIMITS)
    for scope, limit in values.items():
        assert limit >= 1000, scope  # tests race twenty registrations of one address, too


@pytest.fixture
def counter_conflicts(aws_resources: AwsResources) -> Iterator[list[str]]:
    """Real DynamoDB refuses a plain update of an item a transaction holds at that moment
    (``TransactionConflictException``; moto serialises, so it never does): the next ``len(list)``
    updates of a rate counter get that answer, through pynamodb's own error handling."""
    from unittest import mock

    from botocore.exceptions import ClientError
    from pynamodb.connection.base import Connection

    original = Connection._make_api_call
    left: list[str] = []

    def call(self: Connection, operation_name: str, kwargs: dict[str, Any]) -> Any:
        if operation_name == "UpdateItem" and kwargs["Key"]["PK"]["S"].startswith("RATE#") and left:
            left.pop()
            error = ClientError(
                {"Error": {"Code": "TransactionConflictException", "Message": "injected"}}, operation_name
            )
            with mock.patch.object(self.client, "_make_api_call", side_effect=error):
                return original(self, operation_name, kwargs)
        return original(self, operation_name, kwargs)

    with mock.patch.object(Connection, "_make_api_call", call):
        yield left


def test_a_counter_held_by_a_transaction_is_counted_once_it_is_free(
    lowered: None, counter_conflicts: list[str]
) -> None:
    counter_conflicts.extend(["conflict", "conflict"])

    limits.take(("resend-email", "held@example.com"))  # two conflicts, then counted

    assert counter_conflicts == []
    with pytest.raises(TooManyRequests):
        limits.take(("resend-email", "held@example.com"))  # the limit (1) was used by the first


def test_a_counter_held_too_long_is_a_503_not_a_500(lowered: None, counter_conflicts: list[str]) -> None:
    counter_conflicts.extend(["conflict"] * 10)

    with pytest.raises(TransientError):
        limits.take(("resend-email", "busy@example.com"))
