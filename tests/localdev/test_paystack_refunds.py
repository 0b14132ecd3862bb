"""The Paystack emulator's refunds: POST /refund, GET /refund/{id} and the refund controls."""

from __future__ import annotations

import json

from tests.fixtures.paystack import WebhookReceiver
from tests.helpers import wait_until
from tests.localdev.paystack_fixtures import (  # noqa: F401 (fixtures)
    Emulator,
    error,
    paystack_fixture,
    received_for,
    receiver_fixture,
)


def test_a_refund_is_queued_pending_with_paystacks_fields(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(250_000)

    response = paystack.api("POST", "/refund", {"transaction": reference, "merchant_note": "asked"})

    body = response.get_json()
    assert (response.status_code, body["message"]) == (200, "Refund has been queued for processing")
    data = body["data"]
    assert isinstance(data["id"], int)
    assert data["transaction"]["reference"] == reference
    assert {"id", "amount", "currency"} <= set(data["transaction"])
    assert (data["amount"], data["currency"], data["status"]) == (250_000, "NGN", "pending")
    assert {"deducted_amount", "fully_deducted", "expected_at", "refunded_by", "createdAt"} <= set(data)
    assert data["merchant_note"] == "asked"
    fetched = paystack.api("GET", f"/refund/{data['id']}").get_json()
    assert fetched["data"]["status"] == "pending"
    assert fetched["data"]["transaction_reference"] == reference
    assert [item["event"] for item in paystack.deliveries(reference=reference)] == ["charge.success", "refund.pending"]


def test_refunds_are_processed_automatically_with_a_refund_processed_webhook(
    paystack: Emulator, receiver: WebhookReceiver
) -> None:
    reference = paystack.paid(250_000)

    refund_id = paystack.api("POST", "/refund", {"transaction": reference}).get_json()["data"]["id"]

    wait_until(lambda: paystack.api("GET", f"/refund/{refund_id}").get_json()["data"]["status"] == "processed")
    events = [json.loads(item.body) for item in received_for(receiver, reference)]
    processed = wait_until(
        lambda: [
            event
            for event in (json.loads(item.body) for item in received_for(receiver, reference))
            if event["event"] == "refund.processed"
        ]
    )[0]
    assert events
    data = processed["data"]
    assert (data["status"], data["transaction_reference"], data["amount"], data["currency"]) == (
        "processed",
        reference,
        250_000,
        "NGN",
    )
    assert {"refund_reference", "processor", "customer", "integration", "domain"} <= set(data)
    assert paystack.verify(reference)["status"] == "reversed"


def test_a_refund_held_pending_is_processed_by_the_control_route(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(250_000)
    refund_id = paystack.api("POST", "/refund", {"transaction": reference, "amount": 50_000}).get_json()["data"]["id"]

    response = paystack.control(f"refunds/{refund_id}/process")

    assert response.get_json()["data"]["status"] == "processed"
    assert paystack.verify(reference)["status"] == "success"  # partial: still a success
    assert paystack.deliveries(reference=reference)[-1]["event"] == "refund.processed"
    assert paystack.control(f"refunds/{refund_id}/process").status_code == 409


def test_a_failed_refund_sends_refund_failed_and_frees_the_amount(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(10_000)
    refund_id = paystack.api("POST", "/refund", {"transaction": reference}).get_json()["data"]["id"]

    paystack.control(f"refunds/{refund_id}/fail")

    assert paystack.deliveries(reference=reference)[-1]["event"] == "refund.failed"
    assert paystack.api("POST", "/refund", {"transaction": reference}).status_code == 200


def test_refunds_cannot_exceed_the_payment(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(10_000)
    assert paystack.api("POST", "/refund", {"transaction": reference, "amount": 6_000}).status_code == 200

    response = paystack.api("POST", "/refund", {"transaction": reference, "amount": 5_000})

    assert error(response)[0] == 400


def test_a_fully_refunded_transaction_cannot_be_refunded_again(paystack: Emulator) -> None:
    reference = paystack.paid(10_000)
    refund_id = paystack.api("POST", "/refund", {"transaction": reference}).get_json()["data"]["id"]
    wait_until(lambda: paystack.api("GET", f"/refund/{refund_id}").get_json()["data"]["status"] == "processed")

    response = paystack.api("POST", "/refund", {"transaction": reference})

    assert error(response) == (400, "Transaction has been fully reversed")


def test_an_unpaid_transaction_cannot_be_refunded(paystack: Emulator) -> None:
    reference = paystack.initialize()["reference"]

    assert error(paystack.api("POST", "/refund", {"transaction": reference}))[0] == 400
    assert error(paystack.api("POST", "/refund", {"transaction": "nope"}))[0] == 404


def test_a_refund_can_name_the_transaction_by_id(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(10_000)

    response = paystack.api("POST", "/refund", {"transaction": paystack.verify(reference)["id"]})

    assert response.get_json()["data"]["transaction"]["reference"] == reference


def test_the_refund_webhook_amount_can_be_a_string_as_in_some_samples(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False, "refund_webhook_amount_as_string": True})
    reference = paystack.paid(10_000)

    paystack.api("POST", "/refund", {"transaction": reference})

    payload = paystack.deliveries(reference=reference, event="refund.pending")[0]["payload"]
    assert payload["data"]["amount"] == "10000"


def test_refunds_are_found_by_their_transaction_reference_or_id(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference, other = paystack.paid(10_000), paystack.paid(20_000)
    first = paystack.api("POST", "/refund", {"transaction": reference, "amount": 3_000}).get_json()["data"]["id"]
    second = paystack.api("POST", "/refund", {"transaction": reference, "amount": 2_000}).get_json()["data"]["id"]
    paystack.api("POST", "/refund", {"transaction": other})

    by_reference = paystack.api("GET", "/refund", query_string={"transaction": reference}).get_json()
    by_id = paystack.api("GET", "/refund", query_string={"transaction": str(paystack.verify(reference)["id"])})

    assert (by_reference["status"], by_reference["message"]) == (True, "Refunds retrieved")
    assert [item["id"] for item in by_reference["data"]] == [second, first]  # newest first
    assert {item["transaction_reference"] for item in by_reference["data"]} == {reference}
    assert [item["amount"] for item in by_reference["data"]] == [2_000, 3_000]
    assert by_reference["meta"]["total"] == 2
    assert by_id.get_json()["data"] == by_reference["data"]
    assert len(paystack.api("GET", "/refund").get_json()["data"]) == 3
    assert paystack.api("GET", "/refund", query_string={"transaction": "nope"}).get_json()["data"] == []


def test_refunds_list_in_pages(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(10_000)
    for _ in range(3):
        paystack.api("POST", "/refund", {"transaction": reference, "amount": 1_000})

    second_page = paystack.api("GET", "/refund", query_string={"perPage": "2", "page": "2"}).get_json()

    assert len(second_page["data"]) == 1
    assert second_page["meta"] == {
        "total": 3,
        "skipped": 2,
        "perPage": "2",
        "page": 2,
        "pageCount": 2,
        "failedRefundCount": 0,
    }


def test_a_refund_needing_attention_sends_its_event_and_can_still_be_processed(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(10_000)
    refund_id = paystack.api("POST", "/refund", {"transaction": reference}).get_json()["data"]["id"]

    held = paystack.control(f"refunds/{refund_id}/needs-attention")

    assert held.get_json()["data"]["status"] == "needs-attention"
    event = paystack.deliveries(reference=reference, event="refund.needs-attention")[0]["payload"]["data"]
    assert (event["status"], event["id"]) == ("needs-attention", str(refund_id))
    assert paystack.control(f"refunds/{refund_id}/needs-attention").status_code == 409
    assert paystack.control(f"refunds/{refund_id}/process").get_json()["data"]["status"] == "processed"
    assert paystack.verify(reference)["status"] == "reversed"
