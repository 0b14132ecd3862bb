"""The Paystack emulator's transfer recipients, transfers and the transfer controls."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.fixtures.paystack import WebhookReceiver
from tests.helpers import wait_until
from tests.localdev.paystack_fixtures import (  # noqa: F401 (fixtures)
    PAYSTACK_TIME,
    Emulator,
    a_transfer_reference,
    error,
    paystack_fixture,
    received_for,
    receiver_fixture,
)


def test_a_recipient_is_created_with_paystacks_fields_and_reused_for_the_same_account(paystack: Emulator) -> None:
    body = {"type": "nuban", "name": "Ada", "account_number": "0123456789", "bank_code": "058", "currency": "NGN"}

    created = paystack.api("POST", "/transferrecipient", body)
    again = paystack.api("POST", "/transferrecipient", body)

    assert created.status_code == 201
    data = created.get_json()["data"]
    assert data["recipient_code"].startswith("RCP_")
    assert isinstance(data["id"], int)
    assert (data["type"], data["name"], data["currency"], data["domain"]) == ("nuban", "Ada", "NGN", "test")
    assert data["details"]["bank_name"] == "Guaranty Trust Bank"
    assert data["details"]["account_name"]
    assert again.status_code == 200
    assert again.get_json()["data"]["recipient_code"] == data["recipient_code"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bank_code": "999"}, "Unknown bank code"),
        ({"account_number": "0000000000"}, "Cannot resolve account"),
        ({"type": "bitcoin"}, "Recipient type is invalid"),
        ({"name": ""}, "Name is required"),
    ],
)
def test_recipient_validations(paystack: Emulator, change: dict[str, str], message: str) -> None:
    body = {"type": "nuban", "name": "Ada", "account_number": "0123456789", "bank_code": "058", "currency": "NGN"}

    assert error(paystack.api("POST", "/transferrecipient", {**body, **change})) == (400, message)


def test_a_transfer_succeeds_at_once_with_a_transfer_success_webhook(
    paystack: Emulator, receiver: WebhookReceiver
) -> None:
    reference = a_transfer_reference()

    response = paystack.transfer(reference, 50_000)

    body = response.get_json()
    assert (response.status_code, body["message"]) == (200, "Transfer has been queued")
    data = body["data"]
    assert data["transfer_code"].startswith("TRF_")
    assert (data["reference"], data["amount"], data["currency"], data["status"]) == (
        reference,
        50_000,
        "NGN",
        "success",
    )
    assert isinstance(data["recipient"], int)
    assert PAYSTACK_TIME.match(data["createdAt"])
    event = json.loads(wait_until(lambda: received_for(receiver, reference))[0].body)
    assert event["event"] == "transfer.success"
    assert event["data"]["recipient"]["recipient_code"].startswith("RCP_")
    assert event["data"]["recipient"]["details"]["bank_code"] == "058"
    assert event["data"]["integration"]["is_live"] is False
    verified = paystack.api("GET", f"/transfer/verify/{reference}").get_json()
    assert verified["message"] == "Transfer retrieved"
    assert verified["data"]["status"] == "success"


def test_a_transfer_reference_cannot_be_reused(paystack: Emulator) -> None:
    reference = a_transfer_reference()
    assert paystack.transfer(reference).status_code == 200

    response = paystack.transfer(reference)

    assert error(response) == (400, "Please provide a unique reference. Reference already exists on a transfer")


def test_a_transfer_to_an_unknown_recipient_is_invalid(paystack: Emulator) -> None:
    body = {"source": "balance", "amount": 100, "recipient": "RCP_nope", "reference": a_transfer_reference()}

    response = paystack.api("POST", "/transfer", body)

    assert error(response) == (400, "Recipient specified is invalid")
    assert response.get_json()["code"] == "invalid_transfer_recipient"


def test_a_transfer_reference_must_be_lowercase_letters_digits_dashes_underscores(paystack: Emulator) -> None:
    assert error(paystack.transfer("Payout-UPPER-" + uuid.uuid4().hex))[0] == 400


def test_a_transfer_marked_to_fail_fails_with_a_webhook(paystack: Emulator) -> None:
    reference = a_transfer_reference()
    assert paystack.control(f"transfers/{reference}/fail", {"reason": "Account closed"}).status_code == 202

    response = paystack.transfer(reference)

    assert response.get_json()["data"]["status"] == "pending"
    wait_until(lambda: paystack.api("GET", f"/transfer/verify/{reference}").get_json()["data"]["status"] == "failed")
    assert paystack.deliveries(reference=reference)[-1]["event"] == "transfer.failed"


def test_a_pending_transfer_fails_or_succeeds_on_demand(paystack: Emulator) -> None:
    paystack.control("config", {"transfer_outcome": "pending"})
    failing, succeeding = a_transfer_reference(), a_transfer_reference()
    assert paystack.transfer(failing).get_json()["data"]["status"] == "pending"
    assert paystack.transfer(succeeding).get_json()["data"]["status"] == "pending"

    assert paystack.control(f"transfers/{failing}/fail").get_json()["data"]["status"] == "failed"
    assert paystack.control(f"transfers/{succeeding}/succeed").get_json()["data"]["status"] == "success"

    assert paystack.deliveries(reference=failing)[-1]["event"] == "transfer.failed"
    assert paystack.deliveries(reference=succeeding)[-1]["event"] == "transfer.success"


def test_a_successful_transfer_can_be_reversed_with_a_webhook(paystack: Emulator) -> None:
    reference = a_transfer_reference()
    paystack.transfer(reference)

    response = paystack.control(f"transfers/{reference}/reverse")

    assert response.get_json()["data"]["status"] == "reversed"
    assert paystack.deliveries(reference=reference)[-1]["event"] == "transfer.reversed"
    assert paystack.control(f"transfers/{reference}/fail").status_code == 409


def test_a_transfer_held_for_an_otp_is_finalized_with_the_test_otp(paystack: Emulator) -> None:
    reference = a_transfer_reference()
    paystack.control(f"transfers/{reference}/require-otp")

    created = paystack.transfer(reference).get_json()

    assert created["message"] == "Transfer requires OTP to continue"
    assert created["data"]["status"] == "otp"
    code = created["data"]["transfer_code"]
    wrong = paystack.api("POST", "/transfer/finalize_transfer", {"transfer_code": code, "otp": "000000"})
    assert error(wrong) == (400, "Invalid OTP")
    right = paystack.api("POST", "/transfer/finalize_transfer", {"transfer_code": code, "otp": "123456"})
    assert right.status_code == 200
    assert paystack.api("GET", f"/transfer/verify/{reference}").get_json()["data"]["status"] == "success"
    assert paystack.deliveries(reference=reference)[-1]["event"] == "transfer.success"


def test_an_unknown_transfer_is_not_found(paystack: Emulator) -> None:
    assert error(paystack.api("GET", "/transfer/verify/nope")) == (404, "Transfer not found")


def test_the_last_transfer_webhook_can_be_sent_again(paystack: Emulator) -> None:
    reference = a_transfer_reference()
    paystack.transfer(reference)

    response = paystack.control(f"transfers/{reference}/webhook", query_string={"times": "2"})

    assert response.status_code == 202
    assert [item["event"] for item in paystack.deliveries(reference=reference)] == ["transfer.success"] * 3
