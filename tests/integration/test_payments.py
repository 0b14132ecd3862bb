"""Checkout and payments over the local stack: real SQS pumps, the real Paystack and Flutterwave emulators.

Every test that takes ``driver`` runs once per gateway (tests/integration/gateways.py): the same body,
paying on that gateway's emulator and hearing from it through its own webhook route.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
import requests

from tests.helpers import wait_until
from tests.integration.factories import a_published_product, a_user, an_order, bearer, order_status
from tests.integration.gateways import Driver
from tests.integration.money import assert_ledger_matches_balance, balance, expected_net, ledger

TIMEOUT = 30
PRICE = 250000


@pytest.fixture(scope="module")
def shop(stack: Any) -> dict[str, Any]:
    creator, creator_token = a_user(stack, "creator")
    product = a_published_product(stack, creator_token, price=PRICE)
    buyer, buyer_token = a_user(stack, "customer")
    return {
        "creator": creator,
        "creator_token": creator_token,
        "product": product,
        "buyer": buyer,
        "token": buyer_token,
    }


def sales_of(stack: Any, creator_id: str, order_id: str) -> list[dict[str, Any]]:
    return [e for e in ledger(stack, creator_id) if e["order_id"] == order_id and e["type"] == "sale"]


def get_order(stack: Any, token: str, order_id: str) -> dict[str, Any]:
    response = requests.get(f"{stack.api}/orders/{order_id}", headers=bearer(token), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_status(stack: Any, token: str, order_id: str, status: str, timeout: float = 30) -> None:
    wait_until(lambda: order_status(stack, token, order_id) == status, timeout=timeout, what=f"order {status}")


def an_order_through(stack: Any, driver: Driver, token: str, product_id: str) -> dict[str, Any]:
    return an_order(stack, token, product_id, gateway=driver.name)


# ---------------------------------------------------------------- the happy path


def test_paying_on_the_emulator_pays_the_order_and_credits_the_wallet_once(stack: Any, driver: Driver) -> None:
    creator, creator_token = a_user(stack, "creator")
    product = a_published_product(stack, creator_token, price=PRICE)
    _, buyer_token = a_user(stack, "customer")

    checkout = an_order_through(stack, driver, buyer_token, product["id"])
    assert checkout["order"]["status"] == "pending"
    assert checkout["order"]["amount"] == PRICE
    assert checkout["order"]["currency"] == "NGN"
    assert checkout["order"]["gateway"] == checkout["payment"]["gateway"] == driver.name
    assert checkout["payment"]["reference"] == checkout["order"]["reference"]
    assert checkout["payment"]["authorization_url"].startswith(driver.payment_page_prefix)
    # The checkout page a buyer is sent to shows the amount.
    page = requests.get(checkout["payment"]["authorization_url"], timeout=TIMEOUT)
    assert page.status_code == 200
    assert "Pay" in page.text

    driver.pay(checkout["payment"]["reference"])
    wait_status(stack, buyer_token, checkout["order"]["id"], "paid")

    order = get_order(stack, buyer_token, checkout["order"]["id"])
    assert order["paid_at"] is not None
    money = assert_ledger_matches_balance(stack, creator["id"])
    assert money["available"] == expected_net(PRICE)
    types = sorted(e["type"] for e in ledger(stack, creator["id"]))
    assert types == ["fee", "sale"]


def test_the_same_webhook_five_times_in_a_row_and_twenty_at_once_credits_once(
    stack: Any, shop: dict[str, Any], driver: Driver
) -> None:
    checkout = an_order_through(stack, driver, shop["token"], shop["product"]["id"])
    reference, order_id = checkout["payment"]["reference"], checkout["order"]["id"]
    before = balance(stack, shop["creator"]["id"])["available"]
    driver.pay(reference)
    wait_status(stack, shop["token"], order_id, "paid")

    driver.resend_webhook(reference, times=5)
    threads = [threading.Thread(target=driver.resend_webhook, args=(reference,)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_until(
        lambda: sum(1 for w in driver.webhooks(reference) if w["status"] == "delivered") >= 26,
        timeout=60,
        what="all 26 webhooks delivered",
    )
    wait_until(lambda: stack.queue_depth("PaymentsQueue") == 0, timeout=60, what="payments queue drained")
    assert len(sales_of(stack, shop["creator"]["id"], order_id)) == 1
    after = assert_ledger_matches_balance(stack, shop["creator"]["id"])["available"]
    assert after - before == expected_net(PRICE)


def test_two_orders_for_one_product_settle_independently(stack: Any, shop: dict[str, Any], driver: Driver) -> None:
    first = an_order_through(stack, driver, shop["token"], shop["product"]["id"])
    second = an_order_through(stack, driver, shop["token"], shop["product"]["id"])
    assert first["payment"]["reference"] != second["payment"]["reference"]
    driver.pay(second["payment"]["reference"])
    wait_status(stack, shop["token"], second["order"]["id"], "paid")
    assert order_status(stack, shop["token"], first["order"]["id"]) == "pending"
    driver.pay(first["payment"]["reference"])
    wait_status(stack, shop["token"], first["order"]["id"], "paid")
    for checkout in (first, second):
        assert len(sales_of(stack, shop["creator"]["id"], checkout["order"]["id"])) == 1


# ---------------------------------------------------------------- the webhook edge


def test_a_forged_or_missing_signature_is_401_and_queues_nothing(
    stack: Any, shop: dict[str, Any], driver: Driver
) -> None:
    checkout = an_order_through(stack, driver, shop["token"], shop["product"]["id"])
    reference = checkout["payment"]["reference"]
    url = f"{stack.api}/webhooks/{driver.name}"
    forgeries = driver.forgeries(reference)
    assert len(forgeries) >= 4
    for body, headers in forgeries:
        response = requests.post(url, data=body, headers=headers, timeout=30)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == 401
    # The emulator's own badly signed delivery is refused the same way (where the emulator can send one).
    if driver.emulator_sends_a_forgery(reference):
        wait_until(
            lambda: any(a["status_code"] == 401 for w in driver.webhooks(reference) for a in w["attempts"]),
            timeout=20,
        )
    # Nothing was queued for it: the order is untouched and no sale exists.
    assert order_status(stack, shop["token"], checkout["order"]["id"]) == "pending"
    assert sales_of(stack, shop["creator"]["id"], checkout["order"]["id"]) == []


def test_a_correctly_signed_webhook_for_an_unpaid_order_does_not_pay_it(
    stack: Any, shop: dict[str, Any], driver: Driver
) -> None:
    checkout = an_order_through(stack, driver, shop["token"], shop["product"]["id"])
    reference, order_id = checkout["payment"]["reference"], checkout["order"]["id"]
    driver.claim_unpaid(reference)  # returns once the receiver took it (200)
    wait_until(lambda: stack.queue_depth("PaymentsQueue") == 0, timeout=30, what="payments queue drained")
    assert order_status(stack, shop["token"], order_id) == "pending"
    assert sales_of(stack, shop["creator"]["id"], order_id) == []


@pytest.mark.parametrize(
    ("paid", "reason_part"), [({"amount": PRICE - 100}, "amount"), ({"currency": "USD"}, "currency")]
)
def test_an_amount_or_currency_mismatch_fails_the_order_without_credit(
    stack: Any, shop: dict[str, Any], driver: Driver, paid: dict[str, Any], reason_part: str
) -> None:
    checkout = an_order_through(stack, driver, shop["token"], shop["product"]["id"])
    order_id = checkout["order"]["id"]
    before = balance(stack, shop["creator"]["id"])
    driver.pay(checkout["payment"]["reference"], **paid)
    wait_status(stack, shop["token"], order_id, "failed")
    assert reason_part in (get_order(stack, shop["token"], order_id)["failure_reason"] or "")
    assert sales_of(stack, shop["creator"]["id"], order_id) == []
    assert balance(stack, shop["creator"]["id"]) == before


# ---------------------------------------------------------------- failures and retries


def test_verify_failing_three_times_then_recovering_pays_exactly_once(
    stack: Any, shop: dict[str, Any], driver: Driver
) -> None:
    checkout = an_order_through(stack, driver, shop["token"], shop["product"]["id"])
    order_id = checkout["order"]["id"]
    driver.fail_verify(3)
    try:
        driver.pay(checkout["payment"]["reference"])
        wait_status(stack, shop["token"], order_id, "paid", timeout=60)
    finally:
        driver.clear_faults()
    assert len(sales_of(stack, shop["creator"]["id"], order_id)) == 1
    assert_ledger_matches_balance(stack, shop["creator"]["id"])


def test_a_message_that_always_fails_lands_in_the_dlq(stack: Any) -> None:
    sqs = stack.client("sqs")
    marker = uuid.uuid4().hex
    poison = json.dumps({"gateway": "unknown-gateway", "event": "charge.success", "reference": marker})
    sqs.send_message(QueueUrl=stack.queue_urls["PaymentsQueue"], MessageBody=poison)

    def in_dlq() -> bool:
        messages = sqs.receive_message(
            QueueUrl=stack.queue_urls["PaymentsDLQ"], MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        return any(marker in m["Body"] for m in messages)

    wait_until(in_dlq, timeout=90, what="poison message in the payments DLQ")


# ---------------------------------------------------------------- other paths to the same settlement


def test_a_webhook_never_sent_is_paid_by_the_reconciler(stack: Any, shop: dict[str, Any], driver: Driver) -> None:
    checkout = an_order_through(stack, driver, shop["token"], shop["product"]["id"])
    order_id = checkout["order"]["id"]
    driver.pay(checkout["payment"]["reference"], webhook=False)
    assert driver.webhooks(checkout["payment"]["reference"]) == []
    # Not yet due: the reconciler leaves fresh orders to their webhooks.
    stack.run_schedule("ReconcilerFunction")
    assert order_status(stack, shop["token"], order_id) == "pending"
    stack.set_clock(11 * 60)
    try:
        report = stack.run_schedule("ReconcilerFunction")
    finally:
        stack.set_clock(0)
    assert report["settled"] >= 1
    assert order_status(stack, shop["token"], order_id) == "paid"
    assert len(sales_of(stack, shop["creator"]["id"], order_id)) == 1


def test_an_order_unpaid_for_a_day_expires(stack: Any, shop: dict[str, Any]) -> None:
    checkout = an_order(stack, shop["token"], shop["product"]["id"])
    order_id = checkout["order"]["id"]
    stack.set_clock(25 * 3600)
    try:
        report = stack.run_schedule("ReconcilerFunction")
    finally:
        stack.set_clock(0)
    assert report["expired"] >= 1
    assert order_status(stack, shop["token"], order_id) == "expired"


def test_post_verify_pays_an_order_whose_webhook_never_came(stack: Any, shop: dict[str, Any], driver: Driver) -> None:
    checkout = an_order_through(stack, driver, shop["token"], shop["product"]["id"])
    order_id = checkout["order"]["id"]
    driver.pay(checkout["payment"]["reference"], webhook=False)
    response = requests.post(f"{stack.api}/orders/{order_id}/verify", headers=bearer(shop["token"]), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "paid"
    # Verifying again changes nothing.
    again = requests.post(f"{stack.api}/orders/{order_id}/verify", headers=bearer(shop["token"]), timeout=TIMEOUT)
    assert again.json()["status"] == "paid"
    assert len(sales_of(stack, shop["creator"]["id"], order_id)) == 1


# ---------------------------------------------------------------- orders API


def test_idempotency_key_replay_returns_the_same_order(stack: Any, shop: dict[str, Any]) -> None:
    key = uuid.uuid4().hex
    first = an_order(stack, shop["token"], shop["product"]["id"], idempotency_key=key)
    second = an_order(stack, shop["token"], shop["product"]["id"], idempotency_key=key)
    assert second["order"]["id"] == first["order"]["id"]
    assert second["payment"] == first["payment"]
    other_product = a_published_product(stack, shop["creator_token"], price=PRICE, title="Another")
    reused = requests.post(
        f"{stack.api}/orders",
        json={"product_id": other_product["id"]},
        headers={**bearer(shop["token"]), "Idempotency-Key": key},
        timeout=TIMEOUT,
    )
    assert reused.status_code == 422
    assert reused.headers["Content-Type"] == "application/problem+json"


def test_buying_your_own_or_an_unpublished_product_is_409_and_unknown_is_404(stack: Any, shop: dict[str, Any]) -> None:
    own = requests.post(
        f"{stack.api}/orders",
        json={"product_id": shop["product"]["id"]},
        headers=bearer(shop["creator_token"]),
        timeout=TIMEOUT,
    )
    assert own.status_code == 409
    draft = requests.post(
        f"{stack.api}/products",
        json={"title": "Draft", "description": "", "price": PRICE, "currency": "NGN"},
        headers=bearer(shop["creator_token"]),
        timeout=TIMEOUT,
    ).json()
    unpublished = requests.post(
        f"{stack.api}/orders", json={"product_id": draft["id"]}, headers=bearer(shop["token"]), timeout=TIMEOUT
    )
    assert unpublished.status_code == 409
    unknown = requests.post(
        f"{stack.api}/orders", json={"product_id": "nope"}, headers=bearer(shop["token"]), timeout=TIMEOUT
    )
    assert unknown.status_code == 404


def test_an_order_is_visible_to_its_buyer_creator_and_admin_only(stack: Any, shop: dict[str, Any]) -> None:
    order_id = an_order(stack, shop["token"], shop["product"]["id"])["order"]["id"]
    _, stranger = a_user(stack, "customer")
    _, other_creator = a_user(stack, "creator")
    _, admin = a_user(stack, "admin")
    for token, status in (
        (shop["token"], 200),
        (shop["creator_token"], 200),
        (admin, 200),
        (stranger, 404),
        (other_creator, 404),
    ):
        response = requests.get(f"{stack.api}/orders/{order_id}", headers=bearer(token), timeout=TIMEOUT)
        assert response.status_code == status, (status, response.text)
    listed = requests.get(f"{stack.api}/orders", headers=bearer(shop["token"]), timeout=TIMEOUT).json()
    assert order_id in {o["id"] for o in listed["items"]}
    assert requests.get(f"{stack.api}/orders", timeout=TIMEOUT).status_code == 401


# ---------------------------------------------------------------- the gateway a buyer chooses


def test_an_unknown_gateway_is_422_on_gateway_and_a_product_may_accept_only_some(
    stack: Any, shop: dict[str, Any]
) -> None:
    unknown = requests.post(
        f"{stack.api}/orders",
        json={"product_id": shop["product"]["id"], "gateway": "bitcoin"},
        headers=bearer(shop["token"]),
        timeout=TIMEOUT,
    )
    restricted = requests.patch(
        f"{stack.api}/products/{shop['product']['id']}",
        json={"gateways": ["flutterwave"]},
        headers=bearer(shop["creator_token"]),
        timeout=TIMEOUT,
    )
    try:
        refused = requests.post(
            f"{stack.api}/orders",
            json={"product_id": shop["product"]["id"]},  # the default gateway, which it no longer accepts
            headers=bearer(shop["token"]),
            timeout=TIMEOUT,
        )
        accepted = an_order(stack, shop["token"], shop["product"]["id"], gateway="flutterwave")
    finally:
        requests.patch(
            f"{stack.api}/products/{shop['product']['id']}",
            json={"gateways": None},
            headers=bearer(shop["creator_token"]),
            timeout=TIMEOUT,
        )

    assert unknown.status_code == 422
    assert unknown.headers["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in unknown.json()["errors"]] == ["gateway"]
    assert (restricted.status_code, restricted.json()["gateways"]) == (200, ["flutterwave"])
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["gateway"]
    assert accepted["payment"]["gateway"] == "flutterwave"


def test_a_declined_flutterwave_charge_fails_the_order_after_asking_flutterwave(
    stack: Any, shop: dict[str, Any]
) -> None:
    # Flutterwave sends charge.completed for failed attempts too (Paystack sends nothing for a decline).
    checkout = an_order(stack, shop["token"], shop["product"]["id"], gateway="flutterwave")
    reference, order_id = checkout["payment"]["reference"], checkout["order"]["id"]
    before = balance(stack, shop["creator"]["id"])

    declined = requests.post(f"{stack.flutterwave}/_emulator/transactions/{reference}/decline", timeout=TIMEOUT)

    assert declined.status_code == 200, declined.text
    wait_status(stack, shop["token"], order_id, "failed")
    assert "failed" in (get_order(stack, shop["token"], order_id)["failure_reason"] or "")
    assert sales_of(stack, shop["creator"]["id"], order_id) == []
    assert balance(stack, shop["creator"]["id"]) == before
