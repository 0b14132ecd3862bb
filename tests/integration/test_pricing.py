"""Selling like the stores creators already use, over the local stack (DESIGN.md part 2): guest checkout,
pay what you want, free products, discount codes, and POST /orders/resend."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import requests

from tests.helpers import wait_until
from tests.integration.factories import SAMPLE_PDF, a_published_product, a_user, bearer, pay, unique_email
from tests.integration.money import assert_ledger_matches_balance, balance, expected_net, ledger

TIMEOUT = 30
PRICE = 250000


@pytest.fixture(scope="module")
def creator(stack: Any) -> dict[str, Any]:
    user, token = a_user(stack, "creator")
    return {"user": user, "token": token}


def a_product(stack: Any, creator: dict[str, Any], **pricing: Any) -> dict[str, Any]:
    """A published product; ``pricing`` (pay_what_you_want, suggested_price, price) set before publishing."""
    price = pricing.pop("price", PRICE)
    product = a_published_product(stack, creator["token"], price=max(price, 10000))
    if pricing or price != product["price"]:
        response = requests.patch(
            f"{stack.api}/products/{product['id']}",
            json={"price": price, **pricing},
            headers=bearer(creator["token"]),
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, response.text
        product = response.json()
    return product


def order(stack: Any, body: dict[str, Any], token: str | None = None, **headers: str) -> requests.Response:
    all_headers = {**(bearer(token) if token else {}), **{k.replace("_", "-"): v for k, v in headers.items()}}
    return requests.post(f"{stack.api}/orders", json=body, headers=all_headers, timeout=TIMEOUT)


def fields(response: requests.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return sorted(error["field"] for error in response.json()["errors"])


def outbox(stack: Any, email: str) -> list[dict[str, Any]]:
    response = requests.get(f"{stack.helpers}/_local/outbox", params={"to": email}, timeout=TIMEOUT)
    return list(response.json()["items"])


def guest_order(stack: Any, token: str, order_id: str) -> requests.Response:
    return requests.get(f"{stack.api}/orders/{order_id}", headers={"X-Guest-Token": token}, timeout=TIMEOUT)


def initialize_calls(stack: Any) -> int:
    response = requests.get(f"{stack.gateway}/_emulator/calls", params={"operation": "initialize"}, timeout=TIMEOUT)
    return int(response.json()["meta"]["total"])  # the emulator answers in Paystack's envelope


def a_discount(stack: Any, creator: dict[str, Any], **body: Any) -> dict[str, Any]:
    body.setdefault("code", "C" + uuid.uuid4().hex[:10])
    response = requests.post(f"{stack.api}/discounts", json=body, headers=bearer(creator["token"]), timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return dict(response.json())


# ---------------------------------------------------------------- a guest's whole story


def test_a_guest_buys_pays_gets_the_email_downloads_and_asks_again(stack: Any, creator: dict[str, Any]) -> None:
    product = a_product(stack, creator)
    email = unique_email("guest")

    created = order(stack, {"product_id": product["id"], "email": email})

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["order"]["buyer_id"] is None
    token = body["guest_token"]
    assert len(token) >= 32
    pay(stack, body["payment"]["reference"])
    wait_until(lambda: guest_order(stack, token, body["order"]["id"]).json()["status"] == "paid", what="guest paid")
    wait_until(lambda: len(outbox(stack, email)) == 1, what="the delivery email")
    link = requests.post(
        f"{stack.api}/orders/{body['order']['id']}/download-link", headers={"X-Guest-Token": token}, timeout=TIMEOUT
    )
    assert link.status_code == 201, link.text
    download = requests.get(link.json()["url"], allow_redirects=True, timeout=TIMEOUT)
    assert download.content == SAMPLE_PDF

    resent = requests.post(f"{stack.api}/orders/resend", json={"email": email}, timeout=TIMEOUT)

    assert resent.status_code == 202
    wait_until(lambda: len(outbox(stack, email)) == 2, what="the resent email")


def test_no_guest_token_or_another_orders_token_reads_nothing(stack: Any, creator: dict[str, Any]) -> None:
    product = a_product(stack, creator)
    first = order(stack, {"product_id": product["id"], "email": unique_email("g1")}).json()
    second = order(stack, {"product_id": product["id"], "email": unique_email("g2")}).json()

    assert guest_order(stack, second["guest_token"], first["order"]["id"]).status_code == 404
    assert guest_order(stack, "x" * 43, first["order"]["id"]).status_code == 404
    assert requests.get(f"{stack.api}/orders/{first['order']['id']}", timeout=TIMEOUT).status_code in (401, 404)
    assert guest_order(stack, first["guest_token"], first["order"]["id"]).status_code == 200


def test_resend_answers_202_for_any_address(stack: Any) -> None:
    response = requests.post(f"{stack.api}/orders/resend", json={"email": unique_email("nobody")}, timeout=TIMEOUT)

    assert response.status_code == 202


def test_guest_and_signed_in_email_rules_are_422(stack: Any, creator: dict[str, Any]) -> None:
    product = a_product(stack, creator)
    _, buyer_token = a_user(stack, "customer")

    assert fields(order(stack, {"product_id": product["id"]})) == ["email"]
    assert fields(order(stack, {"product_id": product["id"], "email": "not-an-address"})) == ["email"]
    assert fields(order(stack, {"product_id": product["id"], "email": unique_email()}, buyer_token)) == ["email"]


# ---------------------------------------------------------------- pay what you want


def test_pay_what_you_want_above_the_minimum_is_charged_and_credited_as_amount_minus_fee(
    stack: Any, creator: dict[str, Any]
) -> None:
    product = a_product(stack, creator, price=100000, pay_what_you_want=True, suggested_price=300000)
    _, buyer_token = a_user(stack, "customer")
    before = balance(stack, creator["user"]["id"], "NGN")["available"]

    created = order(stack, {"product_id": product["id"], "amount": 420000}, buyer_token)

    assert created.status_code == 201, created.text
    placed = created.json()["order"]
    assert (placed["list_price"], placed["amount"], placed["discount_amount"]) == (420000, 420000, 0)
    pay(stack, created.json()["payment"]["reference"])
    wait_until(lambda: balance(stack, creator["user"]["id"], "NGN")["available"] > before, what="credited")
    assert balance(stack, creator["user"]["id"], "NGN")["available"] - before == expected_net(420000)
    assert_ledger_matches_balance(stack, creator["user"]["id"])


def test_pay_what_you_want_amount_rules_are_422_on_amount(stack: Any, creator: dict[str, Any]) -> None:
    pwyw = a_product(stack, creator, price=100000, pay_what_you_want=True)
    fixed = a_product(stack, creator)
    _, buyer_token = a_user(stack, "customer")

    assert fields(order(stack, {"product_id": pwyw["id"], "amount": 99999}, buyer_token)) == ["amount"]
    assert fields(order(stack, {"product_id": fixed["id"], "amount": PRICE + 1}, buyer_token)) == ["amount"]
    assert order(stack, {"product_id": fixed["id"], "amount": PRICE}, buyer_token).status_code == 201


# ---------------------------------------------------------------- free


def test_a_free_product_is_paid_at_once_delivered_with_no_gateway_call_and_no_ledger_entry(
    stack: Any, creator: dict[str, Any]
) -> None:
    product = a_product(stack, creator, price=0, pay_what_you_want=True)
    buyer, buyer_token = a_user(stack, "customer")
    calls_before = initialize_calls(stack)
    entries_before = len(ledger(stack, creator["user"]["id"]))

    created = order(stack, {"product_id": product["id"]}, buyer_token)

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["order"]["status"], body["order"]["gateway"], body["payment"]) == ("paid", "none", None)
    assert body["order"]["paid_at"] >= body["order"]["created_at"]
    wait_until(lambda: len(outbox(stack, buyer["email"])) == 1, what="the free product's email")
    assert initialize_calls(stack) == calls_before
    assert len(ledger(stack, creator["user"]["id"])) == entries_before


def test_a_free_order_is_still_one_order_per_idempotency_key(stack: Any, creator: dict[str, Any]) -> None:
    product = a_product(stack, creator, price=0, pay_what_you_want=True)
    _, buyer_token = a_user(stack, "customer")
    key = f"free-{uuid.uuid4().hex}"

    first = order(stack, {"product_id": product["id"]}, buyer_token, Idempotency_Key=key)
    again = order(stack, {"product_id": product["id"]}, buyer_token, Idempotency_Key=key)
    other = order(stack, {"product_id": product["id"], "amount": 10000}, buyer_token, Idempotency_Key=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["order"]["id"] == first.json()["order"]["id"]
    assert other.status_code == 422  # the same key with another body


# ---------------------------------------------------------------- discount codes


def test_a_percent_code_is_matched_without_case_and_stored_on_the_order(stack: Any, creator: dict[str, Any]) -> None:
    product = a_product(stack, creator, price=333300)
    code = a_discount(stack, creator, code="Third-" + uuid.uuid4().hex[:6], percent_off=33, product_ids=[product["id"]])
    _, buyer_token = a_user(stack, "customer")

    created = order(stack, {"product_id": product["id"], "discount_code": code["code"].lower()}, buyer_token)

    assert created.status_code == 201, created.text
    placed = created.json()["order"]
    assert placed["discount_code"] == code["code"]
    assert placed["list_price"] == 333300
    assert placed["discount_amount"] == 109989  # round_half_up(333300 x 33 / 100)
    assert placed["amount"] == 333300 - 109989


def test_a_hundred_percent_code_makes_a_free_order(stack: Any, creator: dict[str, Any]) -> None:
    product = a_product(stack, creator)
    code = a_discount(stack, creator, percent_off=100, product_ids=[product["id"]])
    _, buyer_token = a_user(stack, "customer")

    created = order(stack, {"product_id": product["id"], "discount_code": code["code"]}, buyer_token)

    assert created.status_code == 201, created.text
    assert (created.json()["order"]["status"], created.json()["order"]["amount"]) == ("paid", 0)


@pytest.mark.parametrize("case", ["unknown", "inactive", "expired", "used-up", "other-product", "other-currency"])
def test_a_code_that_does_not_apply_is_422_on_discount_code(stack: Any, creator: dict[str, Any], case: str) -> None:
    product = a_product(stack, creator)
    other = a_product(stack, creator)
    _, buyer_token = a_user(stack, "customer")
    if case == "unknown":
        code = "NOSUCHCODE"
    elif case == "other-currency":
        code = a_discount(stack, creator, amount_off=100, currency="GHS", product_ids=[product["id"]])["code"]
    elif case == "other-product":
        code = a_discount(stack, creator, percent_off=10, product_ids=[other["id"]])["code"]
    elif case == "used-up":
        code = a_discount(stack, creator, percent_off=10, product_ids=[product["id"]], max_redemptions=1)["code"]
        assert order(stack, {"product_id": product["id"], "discount_code": code}, buyer_token).status_code == 201
    elif case == "inactive":
        code = a_discount(stack, creator, percent_off=10, product_ids=[product["id"]])["code"]
        deleted = requests.delete(f"{stack.api}/discounts/{code}", headers=bearer(creator["token"]), timeout=TIMEOUT)
        assert deleted.status_code == 204
    else:
        # A code whose end has passed (the API refuses to create one in the past): seeded as stored.
        code = "EXPIRED-" + uuid.uuid4().hex[:6]
        stack.client("dynamodb").put_item(
            TableName=stack.table_name,
            Item={
                "PK": {"S": f"DISCOUNT#{creator['user']['id']}"},
                "SK": {"S": f"CODE#{code}"},
                "creator_id": {"S": creator["user"]["id"]},
                "code": {"S": code},
                "product_ids": {"L": [{"S": product["id"]}]},
                "percent_off": {"N": "10"},
                "redemptions": {"N": "0"},
                "active": {"BOOL": True},
                "valid_until": {"S": "2020-01-01T00:00:00.000Z"},
                "created_at": {"S": "2019-01-01T00:00:00.000Z"},
            },
        )

    response = order(stack, {"product_id": product["id"], "discount_code": code}, buyer_token)

    assert fields(response) == ["discount_code"]


def test_twenty_buyers_racing_for_a_codes_last_use_make_exactly_one_order(stack: Any, creator: dict[str, Any]) -> None:
    product = a_product(stack, creator)
    code = a_discount(stack, creator, percent_off=50, product_ids=[product["id"]], max_redemptions=1)["code"]
    tokens = [a_user(stack, "customer")[1] for _ in range(20)]
    start = threading.Barrier(20)
    statuses: list[int] = []

    def buy(token: str) -> None:
        start.wait()
        statuses.append(order(stack, {"product_id": product["id"], "discount_code": code}, token).status_code)

    threads = [threading.Thread(target=buy, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201] + [422] * 19
    listing = requests.get(f"{stack.api}/discounts", headers=bearer(creator["token"]), timeout=TIMEOUT).json()
    assert next(d for d in listing["items"] if d["code"] == code)["redemptions"] == 1


def test_a_failed_order_gives_its_use_back(stack: Any, creator: dict[str, Any]) -> None:
    product = a_product(stack, creator)
    code = a_discount(stack, creator, percent_off=10, product_ids=[product["id"]], max_redemptions=1)["code"]
    _, first_token = a_user(stack, "customer")
    _, second_token = a_user(stack, "customer")
    first = order(stack, {"product_id": product["id"], "discount_code": code}, first_token).json()
    assert fields(order(stack, {"product_id": product["id"], "discount_code": code}, second_token)) == ["discount_code"]

    declined = requests.post(
        f"{stack.gateway}/_emulator/transactions/{first['payment']['reference']}/decline", timeout=TIMEOUT
    )
    assert declined.status_code == 200
    verified = requests.post(
        f"{stack.api}/orders/{first['order']['id']}/verify", headers=bearer(first_token), timeout=TIMEOUT
    )
    assert verified.json()["status"] == "failed"

    assert order(stack, {"product_id": product["id"], "discount_code": code}, second_token).status_code == 201
