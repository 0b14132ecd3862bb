"""The Paystack emulator's transactions: initialize, verify and the pay/decline/abandon controls."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import pytest
from werkzeug.test import Client

from tests.localdev.paystack_fixtures import (
    AUTH,
    PAYSTACK_TIME,
    PUBLIC_URL,
    Emulator,
    a_reference,
    error,
    paystack_fixture,  # noqa: F401 (fixtures)
    receiver_fixture,  # noqa: F401 (fixtures)
)


def test_initialize_answers_paystacks_envelope_with_a_checkout_link(paystack: Emulator) -> None:
    reference = a_reference()

    response = paystack.api(
        "POST", "/transaction/initialize", {"email": "buyer@example.com", "amount": 500_000, "reference": reference}
    )

    body = response.get_json()
    assert response.status_code == 200
    assert (body["status"], body["message"]) == (True, "Authorization URL created")
    assert set(body["data"]) == {"authorization_url", "access_code", "reference"}
    assert body["data"]["reference"] == reference
    assert body["data"]["authorization_url"] == f"{PUBLIC_URL}/checkout/{body['data']['access_code']}"


def test_initialize_without_a_reference_generates_one(paystack: Emulator) -> None:
    response = paystack.api("POST", "/transaction/initialize", {"email": "buyer@example.com", "amount": 500})

    reference = response.get_json()["data"]["reference"]
    assert re.fullmatch(r"[a-z0-9]{10}", reference)
    assert paystack.verify(reference)["status"] == "abandoned"


def test_initialize_accepts_form_encoding_and_amounts_as_digit_strings(paystack: Emulator) -> None:
    reference = a_reference()

    response = paystack.client.post(
        "/transaction/initialize",
        data={"email": "buyer@example.com", "amount": "20000", "reference": reference},
        headers=AUTH,
    )

    assert response.status_code == 200
    assert paystack.verify(reference)["amount"] == 20_000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": None}, "Email is not allowed to be empty"),
        ({"email": "not-an-email"}, "Invalid Email Address Passed"),
        ({"amount": None}, "Amount is required"),
        ({"amount": 100.5}, "Invalid Amount Sent"),
        ({"amount": "12.50"}, "Invalid Amount Sent"),
        ({"amount": 0}, "Invalid Amount Sent"),
        ({"amount": -5}, "Invalid Amount Sent"),
        ({"amount": True}, "Invalid Amount Sent"),
        ({"amount": 10_000_000 * 100 + 1}, "Transaction amount limit exceeded"),
        ({"currency": "EUR"}, "Currency not supported by merchant"),
        ({"reference": "has space"}, "Invalid character in transaction reference"),
        ({"reference": "slash/ref"}, "Invalid character in transaction reference"),
    ],
)
def test_initialize_validates_like_paystack(paystack: Emulator, change: dict[str, Any], message: str) -> None:
    body = {"email": "buyer@example.com", "amount": 1_000, "currency": "NGN", "reference": a_reference()}
    body.update(change)

    response = paystack.api("POST", "/transaction/initialize", {k: v for k, v in body.items() if v is not None})

    assert error(response) == (400, message)


@pytest.mark.parametrize("currency", ["NGN", "GHS", "KES", "ZAR", "USD"])
def test_initialize_accepts_every_supported_currency(paystack: Emulator, currency: str) -> None:
    assert paystack.verify(paystack.initialize(currency=currency)["reference"])["currency"] == currency


def test_references_may_use_letters_digits_dashes_dots_and_equals(paystack: Emulator) -> None:
    reference = "Ord-1.2=" + uuid.uuid4().hex

    assert paystack.initialize(reference=reference)["reference"] == reference


def test_a_reused_reference_is_a_duplicate_reference_error(paystack: Emulator) -> None:
    reference = paystack.initialize()["reference"]

    response = paystack.api("POST", "/transaction/initialize", {"email": "x@y.co", "amount": 1, "reference": reference})

    body = response.get_json()
    assert response.status_code == 400
    assert body["message"] == "Duplicate Transaction Reference"
    assert body["code"] == "duplicate_reference"
    assert body["type"] == "validation_error"


def test_concurrent_initializations_all_get_their_own_transaction(paystack: Emulator) -> None:
    references = [a_reference() for _ in range(20)]
    statuses: list[int] = []
    lock = threading.Lock()

    def initialize(reference: str) -> None:
        client = Client(paystack.app)
        response = client.post(
            "/transaction/initialize", json={"email": "a@b.co", "amount": 100, "reference": reference}, headers=AUTH
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=initialize, args=(reference,)) for reference in references]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 20
    ids = {paystack.verify(reference)["id"] for reference in references}
    assert len(ids) == 20


def test_an_initialized_transaction_verifies_as_abandoned(paystack: Emulator) -> None:
    data = paystack.verify(paystack.initialize(250_000)["reference"])

    assert data["status"] == "abandoned"
    assert data["paid_at"] is None
    assert data["paidAt"] is None
    assert data["fees"] is None
    assert data["amount"] == data["requested_amount"] == 250_000


def test_verify_of_a_paid_transaction_has_paystacks_fields(paystack: Emulator) -> None:
    reference = paystack.initialize(250_000, metadata={"order_id": "o1"})["reference"]
    paystack.control(f"transactions/{reference}/pay")

    response = paystack.api("GET", f"/transaction/verify/{reference}")

    body = response.get_json()
    assert (response.status_code, body["status"], body["message"]) == (200, True, "Verification successful")
    data = body["data"]
    assert isinstance(data["id"], int)
    assert data["domain"] == "test"
    assert data["status"] == "success"
    assert data["reference"] == reference
    assert (data["amount"], data["requested_amount"], data["currency"]) == (250_000, 250_000, "NGN")
    assert data["channel"] == "card"
    assert data["gateway_response"] == "Successful"
    assert PAYSTACK_TIME.match(data["paid_at"])
    assert data["paidAt"] == data["paid_at"]
    assert PAYSTACK_TIME.match(data["created_at"])
    assert data["fees"] == 3_750
    assert data["metadata"] == {"order_id": "o1"}
    assert data["customer"]["email"] == "buyer@example.com"
    assert isinstance(data["customer"]["id"], int)
    assert data["customer"]["customer_code"].startswith("CUS_")
    assert data["authorization"]["authorization_code"].startswith("AUTH_")
    assert {"last4", "brand", "bin", "reusable"} <= set(data["authorization"])
    assert data["log"]["success"] is True


def test_fees_follow_the_configured_rate_and_cap(paystack: Emulator) -> None:
    paystack.control("config", {"fee_bps": 150, "fee_flat": 10_000, "fee_cap": 200_000})

    small = paystack.verify(paystack.paid(100_000))["fees"]
    large = paystack.verify(paystack.paid(50_000_000))["fees"]

    assert small == 1_500 + 10_000
    assert large == 200_000


def test_a_declined_payment_verifies_200_with_status_failed(paystack: Emulator) -> None:
    reference = paystack.initialize()["reference"]

    assert paystack.control(f"transactions/{reference}/decline").status_code == 200

    response = paystack.api("GET", f"/transaction/verify/{reference}")
    assert response.status_code == 200
    assert response.get_json()["data"]["status"] == "failed"
    assert response.get_json()["data"]["gateway_response"] == "Declined"
    assert paystack.deliveries(reference=reference) == []  # Paystack sends no webhook for failures


def test_an_unknown_reference_is_not_found(paystack: Emulator) -> None:
    response = paystack.api("GET", "/transaction/verify/nope-" + uuid.uuid4().hex)

    assert error(response) == (404, "Transaction reference not found")


def test_the_status_for_an_unknown_reference_is_configurable(paystack: Emulator) -> None:
    paystack.control("config", {"unknown_reference_status": 400})

    response = paystack.api("GET", "/transaction/verify/nope-" + uuid.uuid4().hex)

    assert error(response) == (400, "Transaction reference not found")


def test_an_empty_verify_reference_is_paystacks_numeric_id_error(paystack: Emulator) -> None:
    assert error(paystack.api("GET", "/transaction/verify/")) == (400, "Transaction ID should be numeric.")


def test_pay_can_record_another_amount_and_currency(paystack: Emulator) -> None:
    reference = paystack.initialize(250_000, "NGN")["reference"]

    paystack.control(f"transactions/{reference}/pay", {"amount": 100_000, "currency": "USD"})

    data = paystack.verify(reference)
    assert (data["status"], data["amount"], data["currency"], data["requested_amount"]) == (
        "success",
        100_000,
        "USD",
        250_000,
    )


def test_pay_takes_the_amount_from_the_query_string_too(paystack: Emulator) -> None:
    reference = paystack.initialize(250_000)["reference"]

    paystack.control(f"transactions/{reference}/pay", query_string={"amount": "1000"})

    assert paystack.verify(reference)["amount"] == 1_000


def test_a_transaction_is_paid_once(paystack: Emulator) -> None:
    reference = paystack.paid()

    assert paystack.control(f"transactions/{reference}/pay").status_code == 409
    assert paystack.control(f"transactions/{reference}/decline").status_code == 409


def test_concurrent_pay_clicks_pay_once(paystack: Emulator) -> None:
    reference = paystack.initialize()["reference"]
    statuses: list[int] = []
    lock = threading.Lock()

    def pay() -> None:
        response = Client(paystack.app).post(f"/_emulator/transactions/{reference}/pay")
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=pay) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [409] * 19
    assert [item["event"] for item in paystack.deliveries(reference=reference)] == ["charge.success"]


def test_abandon_keeps_the_transaction_unpaid(paystack: Emulator) -> None:
    reference = paystack.initialize()["reference"]

    paystack.control(f"transactions/{reference}/abandon")

    assert paystack.verify(reference)["status"] == "abandoned"


def test_controls_on_an_unknown_reference_are_not_found(paystack: Emulator) -> None:
    assert paystack.control("transactions/nope/pay").status_code == 404


@pytest.mark.parametrize("first", ["decline", "abandon"])
def test_a_buyer_retrying_on_the_same_reference_after_a_decline_or_an_expiry_pays(
    paystack: Emulator, first: str
) -> None:
    reference = paystack.initialize(250_000)["reference"]
    paystack.control(f"transactions/{reference}/{first}")

    paid = paystack.control(f"transactions/{reference}/pay")

    assert paid.status_code == 200
    data = paystack.verify(reference)
    assert (data["status"], data["gateway_response"], data["amount"]) == ("success", "Successful", 250_000)
    assert data["paid_at"] is not None
    assert [item["event"] for item in paystack.deliveries(reference=reference)] == ["charge.success"]


def test_pay_can_record_an_overpayment(paystack: Emulator) -> None:
    reference = paystack.initialize(250_000, "NGN")["reference"]

    paystack.control(f"transactions/{reference}/pay", {"amount": 300_000})

    data = paystack.verify(reference)
    assert (data["amount"], data["requested_amount"], data["currency"]) == (300_000, 250_000, "NGN")
    assert paystack.deliveries(reference=reference)[0]["payload"]["data"]["amount"] == 300_000


def test_the_transactions_listing_shows_every_capture_with_its_refunds(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    full, partial = paystack.paid(10_000), paystack.paid(20_000)
    refund_id = paystack.api("POST", "/refund", {"transaction": partial, "amount": 5_000}).get_json()["data"]["id"]
    paystack.control(f"refunds/{refund_id}/process")
    usd = paystack.initialize(7_000, "USD")["reference"]
    paystack.control(f"transactions/{usd}/pay")
    unpaid = paystack.initialize()["reference"]

    listing = paystack.client.get("/_emulator/transactions", query_string={"status": "success"}).get_json()

    summary = {item["reference"]: item for item in listing["data"]}
    assert set(summary) == {full, partial, usd}
    assert (summary[partial]["amount"], summary[partial]["currency"], summary[partial]["refunded_amount"]) == (
        20_000,
        "NGN",
        5_000,
    )
    assert summary[full]["refunded_amount"] == 0
    assert listing["meta"] == {
        "total": 3,
        "by_currency": {
            "NGN": {"count": 2, "amount": 30_000, "refunded_amount": 5_000},
            "USD": {"count": 1, "amount": 7_000, "refunded_amount": 0},
        },
    }
    everything = paystack.client.get("/_emulator/transactions").get_json()["data"]
    assert {item["reference"]: item["status"] for item in everything}[unpaid] == "abandoned"
