"""Checkout at the edges (issue 13), in process against moto with a fake of the gateway port: a replay after a
lost initialize answer, the bound on a buyer's open orders and the per-IP limit on order creation."""

from __future__ import annotations

from typing import Any

import pytest

from market.services.payments import settle_order
from market.settings import get_settings
from tests.fixtures.checkout import Api
from tests.fixtures.events import http_event, json_body, lambda_context
from tests.fixtures.payments import FakeGateway, a_product, a_user, stored_order


@pytest.fixture
def product_id() -> str:
    return a_product(a_user("creator")).id


@pytest.fixture
def buyer() -> tuple[str, str]:
    return (a_user("customer"), "customer")


def limits(monkeypatch: pytest.MonkeyPatch, **values: int | str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, str(value))
    get_settings.cache_clear()


def buy_from(api: Api, buyer: tuple[str, str], product_id: str, ip: str) -> tuple[int, Any, dict[str, str]]:
    from market.auth.tokens import issue_access_token

    event = http_event(
        "POST",
        "/orders",
        body={"product_id": product_id},
        headers={"authorization": f"Bearer {issue_access_token(buyer[0], buyer[1])[0]}"},
        source_ip=ip,
    )
    response = api.module.lambda_handler(event, lambda_context("CheckoutFunction"))
    headers = {key.lower(): str(value) for key, value in (response.get("headers") or {}).items()}
    return response["statusCode"], json_body(response), headers


# ---------------------------------------------------------------- a lost initialize answer


def test_a_replay_after_a_lost_initialize_answer_gets_the_same_order_with_a_usable_page(
    api: Api, gateway: FakeGateway, buyer: tuple[str, str], product_id: str
) -> None:
    # Defect 5 (issue 13): every replay repeated the reference the gateway already held (502
    # duplicate_reference) for the key's whole life.
    gateway.lose_initialize_answers = 1  # the gateway made the transaction; its answer was lost

    first_status, first, _ = api.buy(buyer, product_id, key="order-key-1")
    second_status, second, _ = api.buy(buyer, product_id, key="order-key-1")
    third_status, third, _ = api.buy(buyer, product_id, key="order-key-1")

    assert first_status == 503, first
    assert second_status == 201, second
    assert third_status == 201, third
    order = stored_order(second["order"]["id"])
    assert third["order"]["id"] == order.id
    assert second["payment"]["authorization_url"] == third["payment"]["authorization_url"]
    assert second["payment"]["authorization_url"].endswith(order.reference)
    assert (order.checkout_attempt, second["payment"]["reference"]) == (2, order.reference)
    assert len(gateway.initialized) == 2  # one attempt each, the second with its own reference
    assert gateway.initialized[1] == order.reference != gateway.initialized[0]


def test_the_order_settles_on_the_reference_of_its_last_attempt(
    api: Api, gateway: FakeGateway, buyer: tuple[str, str], product_id: str
) -> None:
    gateway.lose_initialize_answers = 1
    api.buy(buyer, product_id, key="order-key-2")
    _, checkout, _ = api.buy(buyer, product_id, key="order-key-2")
    order = stored_order(checkout["order"]["id"])
    gateway.pay(order)

    result = settle_order(order)

    assert result.order is not None
    assert result.order.status == "paid"


# ---------------------------------------------------------------- abuse bounds


def test_a_buyer_cannot_have_more_open_orders_than_the_limit(
    api: Api, gateway: FakeGateway, buyer: tuple[str, str], product_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Defect 6 (issue 13): any signed-in user could create unlimited pending orders.
    limits(monkeypatch, MAX_PENDING_ORDERS_PER_BUYER=2)
    statuses = [api.buy(buyer, product_id)[0] for _ in range(2)]
    third_status, third, _ = api.buy(buyer, product_id)

    assert statuses == [201, 201]
    assert third_status == 409
    assert third["type"].endswith("/too-many-pending-orders")

    # One is paid: there is room for one more.
    _, listed, _ = api.call("GET", "/orders", as_user=buyer)
    first = stored_order(listed["items"][0]["id"])
    gateway.pay(first)
    settle_order(first)
    assert api.buy(buyer, product_id)[0] == 201
    assert api.buy(buyer, product_id)[0] == 409


def test_a_replay_with_the_same_key_counts_against_no_limit(
    api: Api, buyer: tuple[str, str], product_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits(monkeypatch, MAX_PENDING_ORDERS_PER_BUYER=1, RATE_LIMITS="order-ip:1,order-account:1")

    replies = [api.buy(buyer, product_id, key="same")[:2] for _ in range(3)]

    assert [status for status, _ in replies] == [201, 201, 201]
    assert len({body["order"]["id"] for _, body in replies}) == 1


def test_order_creation_is_limited_per_source_ip(api: Api, product_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    limits(monkeypatch, RATE_LIMITS="order-ip:3")
    buyers = [(a_user("customer"), "customer") for _ in range(4)]

    from_one_address = [buy_from(api, buyer, product_id, "203.0.113.7") for buyer in buyers]
    elsewhere = buy_from(api, buyers[0], product_id, "198.51.100.2")

    assert [status for status, _, _ in from_one_address] == [201, 201, 201, 429]
    _, problem, headers = from_one_address[-1]
    assert problem["type"].endswith("/too-many-requests")
    assert int(headers["retry-after"]) >= 1
    assert elsewhere[0] == 201
