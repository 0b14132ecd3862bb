"""POST /orders with the pricing options in process (functions/checkout/app.py), against moto with the
template's IAM enforced and a fake of the gateway port: guest checkout, pay what you want, free orders,
discount codes reserved, given back and taken again in the order's own transactions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from market import clock
from market.auth.tokens import issue_access_token
from market.domain.discount import Discount
from market.domain.guest import hash_guest_token
from market.models.order import REF_SK, ReferenceItem, reference_pk
from market.repositories import discounts as discounts_repo
from market.repositories import orders as orders_repo
from market.repositories import products as product_repo
from market.services import payments
from tests.fixtures.events import header, http_event, json_body, lambda_context, load_function
from tests.fixtures.payments import (
    PRICE,
    FakeGateway,
    a_product,
    a_user,
    delivery_messages,
    ledger,
    pending_marker_exists,
    stored_order,
)

User = tuple[str, str]


def call(body: Any, *, as_user: User | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    all_headers = dict(headers or {})
    if as_user is not None:
        all_headers["authorization"] = f"Bearer {issue_access_token(*as_user)[0]}"
    event = http_event("POST", "/orders", body=body, headers=all_headers)
    return load_function("functions/checkout/app.py").lambda_handler(event, lambda_context("CheckoutFunction"))  # type: ignore[no-any-return]


def read(order_id: str, headers: dict[str, str]) -> dict[str, Any]:
    event = http_event("GET", f"/orders/{order_id}", headers=headers)
    return load_function("functions/checkout/app.py").lambda_handler(event, lambda_context("CheckoutFunction"))  # type: ignore[no-any-return]


def fields(response: dict[str, Any]) -> list[str]:
    assert response["statusCode"] == 422, response["body"]
    return sorted(error["field"] for error in json_body(response)["errors"])


@pytest.fixture
def creator(gateway: FakeGateway) -> str:
    return a_user("creator")


@pytest.fixture
def buyer(gateway: FakeGateway) -> User:
    return (a_user("customer"), "customer")


def a_code(creator_id: str, product_ids: tuple[str, ...], **rules: Any) -> Discount:
    rules.setdefault("percent_off", 10)
    return discounts_repo.create(
        Discount(
            creator_id=creator_id,
            code=rules.pop("code", "SAVE10"),
            product_ids=product_ids,
            created_at=clock.now(),
            **rules,
        )
    )


def redemptions(code: Discount) -> int:
    stored = discounts_repo.get(code.creator_id, code.code)
    assert stored is not None
    return stored.redemptions


# ---------------------------------------------------------------- guests


def test_a_guest_order_has_no_buyer_a_token_shown_once_and_is_emailed_to_its_address(
    gateway: FakeGateway, creator: str
) -> None:
    product = a_product(creator)

    response = call({"product_id": product.id, "email": "Ada@Example.com"})

    assert response["statusCode"] == 201, response["body"]
    body = json_body(response)
    assert body["order"]["buyer_id"] is None
    assert body["payment"]["authorization_url"]
    assert header(response, "cache-control") == "no-store"
    order = stored_order(body["order"]["id"])
    assert (order.buyer_email, order.guest_token_hash) == ("ada@example.com", hash_guest_token(body["guest_token"]))
    assert read(order.id, {"X-Guest-Token": body["guest_token"]})["statusCode"] == 200


def test_the_buyer_email_rules_are_422_on_email(gateway: FakeGateway, creator: str, buyer: User) -> None:
    product = a_product(creator)

    assert fields(call({"product_id": product.id})) == ["email"]
    assert fields(call({"product_id": product.id, "email": "nope"})) == ["email"]
    assert fields(call({"product_id": product.id, "email": "b@example.com"}, as_user=buyer)) == ["email"]
    assert call({"product_id": product.id}, headers={"authorization": "Bearer bad"})["statusCode"] == 401
    assert gateway.initialized == []


def test_a_guest_replay_answers_the_same_order_with_a_fresh_token_and_the_first_stops_working(
    gateway: FakeGateway, creator: str
) -> None:
    product = a_product(creator)
    body = {"product_id": product.id, "email": "ada@example.com"}

    first = json_body(call(body, headers={"Idempotency-Key": "k-guest-1"}))
    again = json_body(call(body, headers={"Idempotency-Key": "k-guest-1"}))
    other = call({**body, "email": "bola@example.com"}, headers={"Idempotency-Key": "k-guest-1"})

    assert again["order"]["id"] == first["order"]["id"]
    assert again["guest_token"] != first["guest_token"]
    assert read(first["order"]["id"], {"X-Guest-Token": again["guest_token"]})["statusCode"] == 200
    assert read(first["order"]["id"], {"X-Guest-Token": first["guest_token"]})["statusCode"] == 404
    assert other["statusCode"] == 201  # another address is another guest: its own key space
    assert len(gateway.initialized) == 2


# ---------------------------------------------------------------- pay what you want


def test_pay_what_you_want_lists_and_charges_the_buyers_amount(gateway: FakeGateway, creator: str, buyer: User) -> None:
    product = product_repo.save(replace(a_product(creator, price=100000), pay_what_you_want=True))

    response = call({"product_id": product.id, "amount": 420000}, as_user=buyer)

    assert response["statusCode"] == 201, response["body"]
    order = json_body(response)["order"]
    assert (order["list_price"], order["discount_amount"], order["amount"]) == (420000, 0, 420000)
    assert fields(call({"product_id": product.id, "amount": 99999}, as_user=buyer)) == ["amount"]
    assert fields(call({"product_id": a_product(creator).id, "amount": PRICE + 1}, as_user=buyer)) == ["amount"]


# ---------------------------------------------------------------- free


def test_a_free_order_is_paid_at_once_with_no_gateway_call_reference_marker_or_ledger_and_is_delivered(
    gateway: FakeGateway, creator: str, buyer: User
) -> None:
    product = product_repo.save(replace(a_product(creator, price=10000), price=0, pay_what_you_want=True))
    delivery_messages()

    response = call({"product_id": product.id}, as_user=buyer)

    assert response["statusCode"] == 201, response["body"]
    body = json_body(response)
    assert body["payment"] is None
    assert (body["order"]["status"], body["order"]["gateway"], body["order"]["amount"]) == ("paid", "none", 0)
    assert body["order"]["paid_at"] == body["order"]["created_at"]
    order = stored_order(body["order"]["id"])
    assert (order.platform_fee, order.net_amount) == (0, 0)
    assert gateway.initialized == []
    assert ledger(creator) == []
    assert not pending_marker_exists(order)
    assert ReferenceItem.count(reference_pk("none", order.reference), ReferenceItem.SK == REF_SK) == 0
    assert [m["order_id"] for m in delivery_messages()] == [order.id]


def test_a_free_order_is_one_order_per_idempotency_key_and_a_replay_delivers_again(
    gateway: FakeGateway, creator: str, buyer: User
) -> None:
    product = product_repo.save(replace(a_product(creator, price=10000), price=0, pay_what_you_want=True))
    key = {"Idempotency-Key": "k-free-1"}

    first = json_body(call({"product_id": product.id}, as_user=buyer, headers=key))
    again = json_body(call({"product_id": product.id}, as_user=buyer, headers=key))
    other = call({"product_id": product.id, "amount": 10000}, as_user=buyer, headers=key)

    assert again["order"]["id"] == first["order"]["id"]
    assert again["payment"] is None
    assert other["statusCode"] == 422
    assert [m["order_id"] for m in delivery_messages()] == [first["order"]["id"]] * 2


def test_a_hundred_percent_code_makes_a_free_order_that_cannot_be_refunded(
    gateway: FakeGateway, creator: str, buyer: User
) -> None:
    product = a_product(creator)
    code = a_code(creator, (product.id,), percent_off=100)

    response = call({"product_id": product.id, "discount_code": "save10"}, as_user=buyer)

    body = json_body(response)
    assert (body["order"]["status"], body["order"]["discount_amount"], body["order"]["amount"]) == ("paid", PRICE, 0)
    assert redemptions(code) == 1
    assert not stored_order(body["order"]["id"]).is_refundable


# ---------------------------------------------------------------- discount codes


def test_a_code_is_matched_without_case_reserved_in_the_order_and_stored_on_it(
    gateway: FakeGateway, creator: str, buyer: User
) -> None:
    product = a_product(creator, price=333300)
    code = a_code(creator, (product.id,), percent_off=33, code="THIRD")

    response = call({"product_id": product.id, "discount_code": "tHiRd"}, as_user=buyer)

    assert response["statusCode"] == 201, response["body"]
    order = json_body(response)["order"]
    assert (order["discount_code"], order["list_price"], order["discount_amount"]) == ("THIRD", 333300, 109989)
    assert order["amount"] == 223311
    assert redemptions(code) == 1


def test_the_last_use_goes_to_one_order_and_a_failed_order_gives_it_back(
    gateway: FakeGateway, creator: str, buyer: User
) -> None:
    product = a_product(creator)
    code = a_code(creator, (product.id,), max_redemptions=1)
    other_buyer: User = (a_user("customer"), "customer")
    first = json_body(call({"product_id": product.id, "discount_code": "SAVE10"}, as_user=buyer))["order"]

    assert fields(call({"product_id": product.id, "discount_code": "SAVE10"}, as_user=other_buyer)) == ["discount_code"]
    gateway.report(first["reference"], first["amount"], status="failed")
    assert payments.settle_order(stored_order(first["id"])).order.status == "failed"  # type: ignore[union-attr]
    assert redemptions(code) == 0
    assert call({"product_id": product.id, "discount_code": "SAVE10"}, as_user=other_buyer)["statusCode"] == 201
    assert redemptions(code) == 1


def test_an_expired_order_gives_its_use_back_and_its_late_payment_takes_it_again_past_the_maximum(
    gateway: FakeGateway, creator: str, buyer: User
) -> None:
    product = a_product(creator)
    code = a_code(creator, (product.id,), max_redemptions=1)
    late = stored_order(
        json_body(call({"product_id": product.id, "discount_code": "SAVE10"}, as_user=buyer))["order"]["id"]
    )
    assert orders_repo.close_pending(late, "expired")
    assert redemptions(code) == 0
    assert (
        call({"product_id": product.id, "discount_code": "SAVE10"}, as_user=(a_user("customer"), "customer"))[
            "statusCode"
        ]
        == 201
    )

    gateway.pay(late)
    result = payments.settle_order(stored_order(late.id))

    assert result.order is not None
    assert result.order.status == "paid"
    assert result.order.amount == late.amount  # settled at its price
    assert redemptions(code) == 2  # above max_redemptions by the late order only
    assert fields(call({"product_id": product.id, "discount_code": "SAVE10"}, as_user=buyer)) == ["discount_code"]


@pytest.mark.parametrize("case", ["unknown", "inactive", "expired", "used-up", "other-product", "other-currency"])
def test_a_code_that_does_not_apply_is_422_and_takes_no_use(
    gateway: FakeGateway, creator: str, buyer: User, case: str
) -> None:
    product = a_product(creator)
    rules: dict[str, Any] = {
        "unknown": {"code": "OTHER"},
        "inactive": {"active": False},
        "expired": {"expires_at": datetime.now(UTC) - timedelta(minutes=1)},
        "used-up": {"max_redemptions": 2, "redemptions": 2},
        "other-product": {"product_ids": ("prd_other",)},
        "other-currency": {"percent_off": None, "amount_off": 100, "currency": "GHS"},
    }[case]
    code = a_code(creator, rules.pop("product_ids", (product.id,)), **rules)
    before = redemptions(code)

    response = call({"product_id": product.id, "discount_code": "save10"}, as_user=buyer)

    assert fields(response) == ["discount_code"]
    assert redemptions(code) == before
    assert gateway.initialized == []


def test_another_creators_code_of_the_same_name_does_not_apply(gateway: FakeGateway, creator: str, buyer: User) -> None:
    product = a_product(creator)
    a_code(a_user("creator"), (product.id,))

    assert fields(call({"product_id": product.id, "discount_code": "SAVE10"}, as_user=buyer)) == ["discount_code"]
