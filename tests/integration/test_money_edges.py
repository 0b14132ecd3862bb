"""Money at the edges (issue 13) over the local stack: the real handlers, the real Paystack client and the
Paystack emulator's controls (pay after a decline or expiry, pay another amount, lost answers, needs-attention,
webhook holds released newest first)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.helpers import wait_until
from tests.integration.factories import a_published_product, a_user, an_order, bearer, order_status, pay
from tests.integration.money import assert_ledger_matches_balance, expected_net, ledger

TIMEOUT = 30
PRICE = 300000
DAY = 24 * 3600


@pytest.fixture(scope="module")
def shop(stack: Any) -> dict[str, Any]:
    creator, creator_token = a_user(stack, "creator")
    product = a_published_product(stack, creator_token, price=PRICE, title="Edges")
    _, buyer_token = a_user(stack, "customer")
    _, admin_token = a_user(stack, "admin")
    return {
        "creator": creator,
        "creator_token": creator_token,
        "product": product,
        "token": buyer_token,
        "admin": admin_token,
    }


@pytest.fixture(autouse=True)
def _no_faults(stack: Any) -> Iterator[None]:
    yield
    requests.delete(f"{stack.gateway}/_emulator/faults", timeout=TIMEOUT)
    requests.delete(f"{stack.gateway}/_emulator/webhooks/holds", timeout=TIMEOUT)
    requests.post(f"{stack.gateway}/_emulator/config", json={"auto_process_refunds": True}, timeout=TIMEOUT)


def control(stack: Any, path: str, **body: Any) -> dict[str, Any]:
    response = requests.post(f"{stack.gateway}/_emulator/{path}", json=body or None, timeout=TIMEOUT)
    assert response.status_code in (200, 201, 202), response.text
    return dict(response.json())


def fault(stack: Any, operation: str, mode: str, **extra: Any) -> None:
    control(stack, "faults", operation=operation, mode=mode, **extra)


def order_view(stack: Any, token: str, order_id: str) -> dict[str, Any]:
    response = requests.get(f"{stack.api}/orders/{order_id}", headers=bearer(token), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_status(stack: Any, token: str, order_id: str, status: str, timeout: float = 45) -> None:
    wait_until(lambda: order_status(stack, token, order_id) == status, timeout=timeout, what=f"order {status}")


def captured(stack: Any, reference: str) -> dict[str, Any]:
    response = requests.get(f"{stack.gateway}/_emulator/transactions", timeout=TIMEOUT)
    return next(item for item in response.json()["data"] if item["reference"] == reference)


def emails_about(stack: Any, order_id: str) -> list[dict[str, Any]]:
    return [mail for mail in stack.outbox() if order_id in mail["text"]]


def sales_of(stack: Any, creator_id: str, order_id: str) -> list[dict[str, Any]]:
    return [e for e in ledger(stack, creator_id) if e["order_id"] == order_id and e["type"] == "sale"]


def refund(stack: Any, token: str, order_id: str, body: Any = None, key: str | None = None) -> requests.Response:
    headers = {**bearer(token), **({"Idempotency-Key": key} if key else {})}
    return requests.post(f"{stack.api}/orders/{order_id}/refund", json=body, headers=headers, timeout=TIMEOUT)


# ---------------------------------------------------------------- paying after a failed attempt


def test_a_buyer_who_pays_after_a_decline_is_settled_once_and_gets_one_email(stack: Any, shop: dict[str, Any]) -> None:
    checkout = an_order(stack, shop["token"], shop["product"]["id"])
    order_id, reference = checkout["order"]["id"], checkout["payment"]["reference"]
    control(stack, f"transactions/{reference}/decline")
    verified = requests.post(f"{stack.api}/orders/{order_id}/verify", headers=bearer(shop["token"]), timeout=TIMEOUT)
    assert verified.json()["status"] == "failed"

    pay(stack, reference)  # the same page, a second try
    control(stack, f"transactions/{reference}/webhook", times=2, concurrent=True)

    wait_status(stack, shop["token"], order_id, "paid")
    wait_until(lambda: emails_about(stack, order_id), timeout=30, what="delivery email")
    assert len(sales_of(stack, shop["creator"]["id"], order_id)) == 1
    assert len(emails_about(stack, order_id)) == 1
    view = order_view(stack, shop["token"], order_id)
    assert view["paid_at"] >= view["created_at"]
    assert_ledger_matches_balance(stack, shop["creator"]["id"])


def test_a_buyer_who_pays_after_the_order_expired_is_settled(stack: Any, shop: dict[str, Any]) -> None:
    checkout = an_order(stack, shop["token"], shop["product"]["id"])
    order_id, reference = checkout["order"]["id"], checkout["payment"]["reference"]
    stack.set_clock(DAY + 3600)
    try:
        stack.run_schedule("ReconcilerFunction")
    finally:
        stack.set_clock(0)
    assert order_status(stack, shop["token"], order_id) == "expired"

    pay(stack, reference)

    wait_status(stack, shop["token"], order_id, "paid")
    assert len(sales_of(stack, shop["creator"]["id"], order_id)) == 1


@pytest.mark.parametrize("paid", [{"amount": PRICE - 100000}, {"amount": PRICE + 5000}, {"currency": "GHS"}])
def test_a_payment_of_another_amount_or_currency_is_refunded_in_full(
    stack: Any, shop: dict[str, Any], paid: dict[str, Any]
) -> None:
    checkout = an_order(stack, shop["token"], shop["product"]["id"])
    order_id, reference = checkout["order"]["id"], checkout["payment"]["reference"]

    pay(stack, reference, **paid)

    wait_status(stack, shop["token"], order_id, "failed")
    wait_until(
        lambda: captured(stack, reference)["refunded_amount"] == captured(stack, reference)["amount"],
        timeout=45,
        what="the capture returned",
    )
    assert sales_of(stack, shop["creator"]["id"], order_id) == []
    listed = requests.get(f"{stack.api}/orders/{order_id}/refunds", headers=bearer(shop["admin"]), timeout=TIMEOUT)
    wait_until(
        lambda: (
            requests.get(
                f"{stack.api}/orders/{order_id}/refunds", headers=bearer(shop["admin"]), timeout=TIMEOUT
            ).json()["items"][0]["status"]
            == "processed"
        ),
        timeout=45,
        what="the capture refund processed",
    )
    assert listed.status_code == 200
    assert [(r["kind"], r["amount"]) for r in listed.json()["items"]] == [
        ("capture", captured(stack, reference)["amount"])
    ]


# ---------------------------------------------------------------- checkout: a lost initialize answer


def test_a_replay_after_initialize_lost_its_answer_gets_a_page_that_can_be_paid(
    stack: Any, shop: dict[str, Any]
) -> None:
    fault(stack, "initialize", "lost")
    key = str(uuid.uuid4())
    headers = {**bearer(shop["token"]), "Idempotency-Key": key}
    body = {"product_id": shop["product"]["id"]}

    first = requests.post(f"{stack.api}/orders", json=body, headers=headers, timeout=TIMEOUT)
    second = requests.post(f"{stack.api}/orders", json=body, headers=headers, timeout=TIMEOUT)

    assert first.status_code in (502, 503), first.text
    assert second.status_code == 201, second.text
    page = requests.get(second.json()["payment"]["authorization_url"], timeout=TIMEOUT)
    assert page.status_code == 200
    pay(stack, second.json()["payment"]["reference"])
    wait_status(stack, shop["token"], second.json()["order"]["id"], "paid")


# ---------------------------------------------------------------- refunds: lost answers, keys, needs-attention


def test_a_refund_whose_answer_was_lost_is_recorded_once_and_settles(stack: Any, shop: dict[str, Any]) -> None:
    checkout = an_order(stack, shop["token"], shop["product"]["id"])
    order_id, reference = checkout["order"]["id"], checkout["payment"]["reference"]
    pay(stack, reference)
    wait_status(stack, shop["token"], order_id, "paid")
    fault(stack, "refund", "lost")
    key = str(uuid.uuid4())

    first = refund(stack, shop["creator_token"], order_id, {"amount": 100000}, key=key)
    second = refund(stack, shop["creator_token"], order_id, {"amount": 100000}, key=key)

    assert first.status_code == 202, first.text  # found again in GET /refund?transaction=
    assert second.status_code == 202, second.text
    assert second.json()["refund"]["id"] == first.json()["refund"]["id"]
    wait_status(stack, shop["token"], order_id, "partially_refunded")
    assert captured(stack, reference)["refunded_amount"] == 100000
    assert_ledger_matches_balance(stack, shop["creator"]["id"])


def test_a_refund_that_needs_attention_is_visible_to_an_admin_until_it_is_processed(
    stack: Any, shop: dict[str, Any]
) -> None:
    checkout = an_order(stack, shop["token"], shop["product"]["id"])
    order_id, reference = checkout["order"]["id"], checkout["payment"]["reference"]
    pay(stack, reference)
    wait_status(stack, shop["token"], order_id, "paid")
    control(stack, "config", auto_process_refunds=False)
    accepted = refund(stack, shop["creator_token"], order_id)
    assert accepted.status_code == 202, accepted.text
    listing = requests.get(
        f"{stack.gateway}/refund",
        params={"transaction": reference},
        timeout=TIMEOUT,
        headers={"Authorization": "Bearer sk_test_local"},
    )
    (gateway_refund,) = listing.json()["data"]

    control(stack, f"refunds/{gateway_refund['id']}/needs-attention")

    def shown() -> str:
        response = requests.get(
            f"{stack.api}/orders/{order_id}/refunds", headers=bearer(shop["admin"]), timeout=TIMEOUT
        )
        return str(response.json()["items"][0]["status"])

    wait_until(lambda: shown() == "needs_attention", timeout=30, what="needs_attention shown")
    control(stack, f"refunds/{gateway_refund['id']}/process")
    wait_status(stack, shop["token"], order_id, "refunded")
    assert shown() == "processed"


def test_refund_events_released_newest_first_settle_the_refund_once(stack: Any, shop: dict[str, Any]) -> None:
    checkout = an_order(stack, shop["token"], shop["product"]["id"])
    order_id, reference = checkout["order"]["id"], checkout["payment"]["reference"]
    pay(stack, reference)
    wait_status(stack, shop["token"], order_id, "paid")
    control(stack, "webhooks/holds", reference=reference)
    before = sum(1 for e in ledger(stack, shop["creator"]["id"]) if e["order_id"] == order_id and e["type"] == "refund")

    assert refund(stack, shop["creator_token"], order_id).status_code == 202
    wait_until(
        lambda: captured(stack, reference)["refunded_amount"] == PRICE, timeout=30, what="processed at the gateway"
    )
    control(stack, "webhooks/release", order="newest", reference=reference)

    wait_status(stack, shop["token"], order_id, "refunded")
    refunds = [e for e in ledger(stack, shop["creator"]["id"]) if e["order_id"] == order_id and e["type"] == "refund"]
    assert len(refunds) - before == 1
    money = assert_ledger_matches_balance(stack, shop["creator"]["id"])
    assert money["available"] >= -expected_net(PRICE)
