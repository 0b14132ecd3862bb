"""Guest orders in process (functions/checkout/app.py) against moto with the template's IAM enforced:
the guest token rule, GET /orders/{id} with X-Guest-Token, guest orders in nobody's history, and
POST /orders/resend (202 whatever the address, a resend message per paid guest order, rate limits)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from localdev.caches import reset_caches
from market.auth.tokens import issue_access_token
from market.domain.guest import guest_email_key, guest_token_matches, hash_guest_token, new_guest_token
from market.models.order import OrderItem
from tests.fixtures.aws import AwsResources
from tests.fixtures.delivery import a_guest_order, an_order
from tests.fixtures.events import header, http_event, json_body, lambda_context, load_function
from tests.fixtures.payments import a_product, a_user, delivery_messages

PROBLEM_JSON = "application/problem+json"


def call(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    as_user: tuple[str, str] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    all_headers = dict(headers or {})
    if as_user is not None:
        all_headers["authorization"] = f"Bearer {issue_access_token(*as_user)[0]}"
    event = http_event(method, path, body=body, headers=all_headers, source_ip=source_ip)
    return load_function("functions/checkout/app.py").lambda_handler(event, lambda_context("CheckoutFunction"))  # type: ignore[no-any-return]


def read_with_token(order_id: str, token: str) -> dict[str, Any]:
    return call("GET", f"/orders/{order_id}", headers={"X-Guest-Token": token})


def unique_email() -> str:
    return f"guest-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
def product(aws_resources: AwsResources) -> Any:
    return a_product(a_user("creator"))


# ---------------------------------------------------------------- the token rule (no AWS)


def test_a_guest_token_is_random_stored_as_its_sha256_and_opens_only_itself() -> None:
    token, stored = new_guest_token()
    other, _ = new_guest_token()

    assert len(token) >= 43
    assert token != other
    assert stored == hashlib.sha256(token.encode()).hexdigest() == hash_guest_token(token)
    assert guest_token_matches(token, stored)
    assert not guest_token_matches(other, stored)
    assert not guest_token_matches(stored, stored)  # the stored hash is not a token
    assert not guest_token_matches(None, stored)
    assert not guest_token_matches(token, None)
    assert not guest_token_matches(token + "x" * 200, stored)


def test_a_guests_address_key_is_the_sha256_of_the_normalised_address() -> None:
    assert guest_email_key(" Ada@Example.COM ") == hashlib.sha256(b"ada@example.com").hexdigest()


# ---------------------------------------------------------------- GET /orders/{id}


def test_the_guest_token_reads_its_order_and_the_order_keeps_only_its_hash(product: Any) -> None:
    order, token = a_guest_order(product, email="ada@example.com")

    response = read_with_token(order.id, token)

    assert response["statusCode"] == 200, response["body"]
    body = json_body(response)
    assert (body["id"], body["buyer_id"], body["status"]) == (order.id, None, "paid")
    assert "guest_token" not in body
    assert "guest_token_hash" not in body
    assert header(response, "cache-control") == "no-store"
    item = OrderItem.get(f"ORDER#{order.id}", "ORDER")
    assert item.guest_token_hash == hash_guest_token(token)
    assert token not in str(item.attribute_values)


def test_a_wrong_or_another_orders_guest_token_is_404_like_an_unknown_order(product: Any) -> None:
    first, _ = a_guest_order(product)
    second, second_token = a_guest_order(product)
    buyers_order = an_order(product, buyer_id=a_user("customer"))
    _, first_token = new_guest_token()

    for response in (
        read_with_token(first.id, second_token),
        read_with_token(first.id, first_token),
        read_with_token(first.id, "x" * 43),
        read_with_token(buyers_order.id, second_token),  # a token never opens a signed-in buyer's order
        read_with_token("ord_nosuchorder", second_token),
    ):
        assert response["statusCode"] == 404, response["body"]
        assert header(response, "content-type") == PROBLEM_JSON
    assert read_with_token(second.id, second_token)["statusCode"] == 200


def test_no_token_and_no_bearer_is_401_and_a_bearer_still_wins(product: Any) -> None:
    order, token = a_guest_order(product)
    stranger = (a_user("customer"), "customer")

    assert call("GET", f"/orders/{order.id}")["statusCode"] == 401
    # With a bearer the guest token is not looked at: a stranger's bearer does not open a guest order.
    both = call("GET", f"/orders/{order.id}", headers={"X-Guest-Token": token}, as_user=stranger)
    assert both["statusCode"] == 404


def test_the_creator_sees_a_guest_sale_but_no_buyer_history_holds_it(product: Any) -> None:
    guest_email = unique_email()
    order, _ = a_guest_order(product, email=guest_email)
    # A customer whose account has the guest's address does not get the guest's orders.
    customer = (a_user("customer", email=guest_email), "customer")

    mine = json_body(call("GET", "/orders", as_user=customer))
    creators = json_body(call("GET", "/orders", as_user=(product.creator_id, "creator")))

    assert mine["items"] == []
    assert [item["id"] for item in creators["items"]] == [order.id]
    assert creators["items"][0]["buyer_id"] is None
    assert call("GET", f"/orders/{order.id}", as_user=customer)["statusCode"] == 404


# ---------------------------------------------------------------- POST /orders/resend


def resend(email: Any, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    return call("POST", "/orders/resend", body={"email": email}, source_ip=source_ip)


def test_resend_queues_a_fresh_email_for_each_paid_guest_order_of_the_address_only(product: Any) -> None:
    email = unique_email()
    paid_one, _ = a_guest_order(product, email=email)
    paid_two, _ = a_guest_order(product, email=email)
    a_guest_order(product, email=email, status="pending")
    a_guest_order(product, email=email, status="failed")
    a_guest_order(product, email=unique_email())  # another guest
    an_order(product, buyer_id=a_user("customer", email=email), buyer_email=email)  # an account's, same address
    delivery_messages()  # drain

    response = resend(email.upper())

    assert response["statusCode"] == 202, response["body"]
    assert json_body(response) == {"status": "accepted"}
    messages = delivery_messages()
    assert sorted(m["order_id"] for m in messages) == sorted([paid_one.id, paid_two.id])
    assert all(m["resend"] is True for m in messages)


def test_resend_answers_the_same_202_for_an_address_that_bought_nothing(aws_resources: AwsResources) -> None:
    response = resend(unique_email())

    assert response["statusCode"] == 202
    assert json_body(response) == {"status": "accepted"}
    assert delivery_messages() == []


@pytest.mark.parametrize("email", ["not-an-address", "", None, 42])
def test_resend_needs_an_address(aws_resources: AwsResources, email: Any) -> None:
    response = resend(email)

    assert response["statusCode"] == 422
    assert [error["field"] for error in json_body(response)["errors"]] == ["email"]


@pytest.fixture
def lowered(aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RATE_LIMITS", "resend-email:2,resend-ip:3")
    monkeypatch.setenv("RATE_LIMIT_WINDOW_SECONDS", "600")
    reset_caches()
    yield
    reset_caches()


def assert_429(response: dict[str, Any]) -> None:
    assert response["statusCode"] == 429, response["body"]
    assert header(response, "content-type") == PROBLEM_JSON
    assert 1 <= int(header(response, "retry-after") or 0) <= 600


def test_resend_is_limited_per_address_whatever_the_ip(lowered: None) -> None:
    email = unique_email()

    assert [resend(email, f"192.0.2.{n}")["statusCode"] for n in (1, 2)] == [202, 202]
    assert_429(resend(email.upper(), "192.0.2.3"))
    assert resend(unique_email(), "192.0.2.3")["statusCode"] == 202


def test_resend_is_limited_per_source_ip_whatever_the_address(lowered: None) -> None:
    ip = "198.51.100.40"

    assert [resend(unique_email(), ip)["statusCode"] for _ in range(3)] == [202, 202, 202]
    assert_429(resend(unique_email(), ip))
    assert resend(unique_email(), "198.51.100.41")["statusCode"] == 202
