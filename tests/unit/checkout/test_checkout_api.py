"""Checkout API in process (functions/checkout/app.py) against moto with a fake of the gateway port:
creating orders (with Idempotency-Key), who may read an order, and verify on demand.
"""

from __future__ import annotations

from typing import Any

import pytest

from market import clock
from market.repositories import wallets as wallets_repo
from tests.fixtures.checkout import Api, assert_problem
from tests.fixtures.payments import (
    NET,
    PRICE,
    FakeGateway,
    a_product,
    a_user,
    delivery_messages,
    order_items_of_buyer,
    pending_marker_exists,
    stored_order,
)

ORDER_FIELDS = {
    "id",
    "product_id",
    "buyer_id",
    "creator_id",
    "amount",
    "currency",
    "status",
    "gateway",
    "reference",
    "created_at",
    "paid_at",
}


@pytest.fixture
def creator() -> tuple[str, str]:
    return (a_user("creator"), "creator")


@pytest.fixture
def buyer() -> tuple[str, str]:
    return (a_user("customer"), "customer")


# ---------------------------------------------------------------- POST /orders


def test_buying_a_published_product_creates_a_pending_order_and_a_payment_page(
    api: Api, gateway: FakeGateway, creator: tuple[str, str], buyer: tuple[str, str]
) -> None:
    product = a_product(creator[0], price=PRICE, currency="NGN")

    status, body, headers = api.buy(buyer, product.id)

    assert status == 201, body
    assert headers["content-type"] == "application/json"
    order = body["order"]
    assert set(order) >= ORDER_FIELDS
    assert order["id"]
    assert (order["product_id"], order["buyer_id"], order["creator_id"]) == (product.id, buyer[0], creator[0])
    assert (order["amount"], order["currency"], order["status"]) == (PRICE, "NGN", "pending")
    assert order["gateway"] == "paystack"
    assert order["created_at"].endswith("Z")
    assert order["paid_at"] is None
    assert body["payment"] == {
        "gateway": "paystack",
        "reference": order["reference"],
        "authorization_url": f"https://checkout.fake-gateway.test/{order['reference']}",
    }
    assert gateway.initialized == [order["reference"]]
    stored = stored_order(order["id"])
    assert stored.status == "pending"
    assert stored.authorization_url == body["payment"]["authorization_url"]
    assert pending_marker_exists(stored)


def test_each_order_gets_its_own_reference(api: Api, creator: tuple[str, str], buyer: tuple[str, str]) -> None:
    product = a_product(creator[0])

    _, first, _ = api.buy(buyer, product.id)
    _, second, _ = api.buy(buyer, product.id)

    assert first["order"]["id"] != second["order"]["id"]
    assert first["order"]["reference"] != second["order"]["reference"]


def test_buying_your_own_product_is_409(api: Api, gateway: FakeGateway, creator: tuple[str, str]) -> None:
    product = a_product(creator[0])

    assert_problem(*api.buy(creator, product.id), 409)
    assert gateway.initialized == []
    assert order_items_of_buyer(creator[0]) == []


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_buying_an_unpublished_product_is_409(
    api: Api, gateway: FakeGateway, creator: tuple[str, str], buyer: tuple[str, str], status: str
) -> None:
    product = a_product(creator[0], status=status)

    assert_problem(*api.buy(buyer, product.id), 409)
    assert gateway.initialized == []
    assert order_items_of_buyer(buyer[0]) == []


def test_buying_an_unknown_product_is_404(api: Api, buyer: tuple[str, str]) -> None:
    assert_problem(*api.buy(buyer, "prd_does_not_exist"), 404)


def test_buying_without_a_token_is_a_guest_order_that_needs_an_email(api: Api, creator: tuple[str, str]) -> None:
    product = a_product(creator[0])

    status, body, headers = api.call("POST", "/orders", body={"product_id": product.id})

    assert_problem(status, body, headers, 422)  # DESIGN part 2: guest checkout, email required
    assert [error["field"] for error in body["errors"]] == ["email"]


@pytest.mark.parametrize("body", [{"product_id": "p"}, {"product_id": "p", "amount": -1}, {}])
def test_buying_with_a_bad_token_is_401_whatever_the_body(api: Api, body: dict[str, Any]) -> None:
    status, problem, headers = api.call("POST", "/orders", body=body, headers={"authorization": "Bearer forged"})

    assert_problem(status, problem, headers, 401)
    assert headers["www-authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize("body", [{}, {"product_id": "p", "quantity": 1}, {"product_id": "p", "amount": -1}])
def test_an_invalid_order_request_is_422(api: Api, buyer: tuple[str, str], body: dict[str, Any]) -> None:
    status, problem, headers = api.call("POST", "/orders", as_user=buyer, body=body)

    assert_problem(status, problem, headers, 422)


# ---------------------------------------------------------------- Idempotency-Key


def test_replaying_an_idempotency_key_returns_the_same_order(
    api: Api, gateway: FakeGateway, creator: tuple[str, str], buyer: tuple[str, str]
) -> None:
    product = a_product(creator[0])

    first_status, first, _ = api.buy(buyer, product.id, key="checkout-7f3a")
    replay_status, replay, _ = api.buy(buyer, product.id, key="checkout-7f3a")

    assert (first_status, replay_status) == (201, 201)
    assert replay["order"]["id"] == first["order"]["id"]
    assert replay["payment"] == first["payment"]
    assert [item.id for item in order_items_of_buyer(buyer[0])] == [first["order"]["id"]]
    assert gateway.initialized == [first["order"]["reference"]]  # the page is initialized once


def test_the_same_idempotency_key_with_another_product_is_422(
    api: Api, creator: tuple[str, str], buyer: tuple[str, str]
) -> None:
    one = a_product(creator[0])
    other = a_product(creator[0], title="Another book")
    api.buy(buyer, one.id, key="checkout-7f3a")

    status, body, headers = api.buy(buyer, other.id, key="checkout-7f3a")

    assert_problem(status, body, headers, 422)
    assert len(order_items_of_buyer(buyer[0])) == 1


def test_idempotency_keys_belong_to_their_caller(api: Api, creator: tuple[str, str]) -> None:
    product = a_product(creator[0])
    ada = (a_user("customer"), "customer")
    bola = (a_user("customer"), "customer")

    _, first, _ = api.buy(ada, product.id, key="same-key")
    status, second, _ = api.buy(bola, product.id, key="same-key")

    assert status == 201
    assert second["order"]["id"] != first["order"]["id"]
    assert second["order"]["buyer_id"] == bola[0]


def test_an_idempotency_key_reused_after_its_window_creates_a_new_order(
    api: Api, creator: tuple[str, str], buyer: tuple[str, str]
) -> None:
    product = a_product(creator[0])
    _, first, _ = api.buy(buyer, product.id, key="checkout-7f3a")
    clock.set_offset(25 * 3600)  # the key is kept for 24 hours

    status, body, _ = api.buy(buyer, product.id, key="checkout-7f3a")

    assert status == 201, body
    assert body["order"]["id"] != first["order"]["id"]
    assert len(order_items_of_buyer(buyer[0])) == 2


# ---------------------------------------------------------------- GET /orders/{id}, GET /orders


@pytest.fixture
def placed(api: Api, creator: tuple[str, str], buyer: tuple[str, str]) -> dict[str, Any]:
    product = a_product(creator[0])
    status, body, _ = api.buy(buyer, product.id)
    assert status == 201, body
    order: dict[str, Any] = body["order"]
    return order


@pytest.mark.parametrize("who", ["buyer", "creator", "admin"])
def test_the_buyer_the_creator_and_an_admin_can_read_an_order(
    api: Api, placed: dict[str, Any], buyer: tuple[str, str], creator: tuple[str, str], who: str
) -> None:
    caller = {"buyer": buyer, "creator": creator, "admin": ("usr_admin", "admin")}[who]

    status, body, _ = api.call("GET", f"/orders/{placed['id']}", as_user=caller)

    assert status == 200, body
    assert body["id"] == placed["id"]
    assert body["status"] == "pending"


@pytest.mark.parametrize(
    "stranger", [("usr_someone_else", "customer"), ("usr_other_creator", "creator")], ids=["customer", "creator"]
)
def test_anyone_else_gets_404_for_an_order(api: Api, placed: dict[str, Any], stranger: tuple[str, str]) -> None:
    assert_problem(*api.call("GET", f"/orders/{placed['id']}", as_user=stranger), 404)


def test_an_unknown_order_is_404(api: Api, buyer: tuple[str, str]) -> None:
    assert_problem(*api.call("GET", "/orders/ord_nope", as_user=buyer), 404)


def test_the_buyer_lists_their_orders_and_the_creator_the_orders_of_their_products(
    api: Api, creator: tuple[str, str], buyer: tuple[str, str]
) -> None:
    product = a_product(creator[0])
    _, mine, _ = api.buy(buyer, product.id)
    someone = (a_user("customer"), "customer")
    _, theirs, _ = api.buy(someone, product.id)

    _, buyer_list, _ = api.call("GET", "/orders", as_user=buyer)
    _, creator_list, _ = api.call("GET", "/orders", as_user=creator)

    assert [o["id"] for o in buyer_list["items"]] == [mine["order"]["id"]]
    assert buyer_list["next_cursor"] is None
    assert {o["id"] for o in creator_list["items"]} == {mine["order"]["id"], theirs["order"]["id"]}


# ---------------------------------------------------------------- POST /orders/{id}/verify


def test_verify_settles_an_order_the_gateway_reports_paid(
    api: Api, gateway: FakeGateway, placed: dict[str, Any], buyer: tuple[str, str], creator: tuple[str, str]
) -> None:
    gateway.pay(stored_order(placed["id"]))

    status, body, _ = api.call("POST", f"/orders/{placed['id']}/verify", as_user=buyer)

    assert status == 200, body
    assert body["id"] == placed["id"]
    assert body["status"] == "paid"
    assert body["paid_at"] == body["created_at"]  # the fake gateway's paid_at is earlier than the order
    assert wallets_repo.get_balance(creator[0], "NGN").available == NET
    assert delivery_messages() == [{"order_id": placed["id"], "product_id": placed["product_id"]}]


def test_verify_twice_credits_once(
    api: Api, gateway: FakeGateway, placed: dict[str, Any], buyer: tuple[str, str], creator: tuple[str, str]
) -> None:
    gateway.pay(stored_order(placed["id"]))

    api.call("POST", f"/orders/{placed['id']}/verify", as_user=buyer)
    status, body, _ = api.call("POST", f"/orders/{placed['id']}/verify", as_user=buyer)

    assert (status, body["status"]) == (200, "paid")
    assert wallets_repo.get_balance(creator[0], "NGN").available == NET
    assert wallets_repo.check_wallet(creator[0]) == []


def test_verify_of_an_unpaid_order_leaves_it_pending(api: Api, placed: dict[str, Any], buyer: tuple[str, str]) -> None:
    status, body, _ = api.call("POST", f"/orders/{placed['id']}/verify", as_user=buyer)

    assert (status, body["status"]) == (200, "pending")


def test_verify_while_the_gateway_is_down_is_503(
    api: Api, gateway: FakeGateway, placed: dict[str, Any], buyer: tuple[str, str]
) -> None:
    gateway.make_unavailable(placed["reference"])

    assert_problem(*api.call("POST", f"/orders/{placed['id']}/verify", as_user=buyer), 503)
    assert stored_order(placed["id"]).status == "pending"


@pytest.mark.parametrize("who", ["creator", "stranger"])
def test_only_the_buyer_may_verify(
    api: Api, gateway: FakeGateway, placed: dict[str, Any], creator: tuple[str, str], who: str
) -> None:
    gateway.pay(stored_order(placed["id"]))
    caller = creator if who == "creator" else ("usr_stranger", "customer")

    assert_problem(*api.call("POST", f"/orders/{placed['id']}/verify", as_user=caller), 404)
    assert stored_order(placed["id"]).status == "pending"
    assert gateway.verified == []
