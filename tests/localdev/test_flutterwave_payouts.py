"""The Flutterwave emulator: refunds, banks, account resolution and transfers (payouts)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.helpers import wait_until
from tests.localdev.flutterwave_support import (
    FLW_TIME,
    NOT_FOUND,
    Emulator,
    WebhookReceiver,
    a_transfer_reference,
    error,
)


def refund(flw: Emulator, transaction_id: int, **body: Any) -> Any:
    return flw.api("POST", f"/v3/transactions/{transaction_id}/refund", body)


# --- refunds ---------------------------------------------------------------------------


def test_a_refund_without_an_amount_refunds_the_whole_transaction(flw: Emulator) -> None:
    txn = flw.paid(2500)

    response = refund(flw, txn["id"], comments="Out of stock")

    body = response.get_json()
    assert (response.status_code, body["status"], body["message"]) == (200, "success", "Transaction refund initiated")
    data = body["data"]
    assert isinstance(data["id"], int)
    assert (data["tx_id"], data["amount_refunded"], data["status"]) == (txn["id"], 2500, "completed")
    assert re.fullmatch(r"URF_\d+_\d+", data["flw_ref"])
    assert (data["destination"], data["meta"]) == ("payment_source", {"source": "availablebalance"})
    assert FLW_TIME.match(data["created_at"])
    assert {"account_id", "wallet_id"} <= set(data)


def test_partial_refunds_add_up_to_the_charged_amount_and_no_further(flw: Emulator) -> None:
    txn = flw.paid(100)

    assert refund(flw, txn["id"], amount=60).get_json()["data"]["amount_refunded"] == 60
    too_much = refund(flw, txn["id"], amount=40.01)
    assert error(too_much) == (
        400,
        "Refund amount cannot be greater than the amount left to refund on this transaction",
    )
    assert refund(flw, txn["id"], amount="40").get_json()["data"]["amount_refunded"] == 40
    assert error(refund(flw, txn["id"])) == (400, "This transaction has been fully refunded")


def test_a_refund_amount_keeps_its_decimals_exactly(flw: Emulator) -> None:
    txn = flw.paid(1000)

    raw = flw.raw("POST", f"/v3/transactions/{txn['id']}/refund", '{"amount": 0.29}')

    assert '"amount_refunded": 0.29' in raw.get_data(as_text=True)
    assert flw.app.refunds.refund(raw.get_json()["data"]["id"]).amount == 29


def test_a_refund_refers_to_the_amount_actually_charged(flw: Emulator) -> None:
    txn = flw.paid(2500, pay={"amount": 1000})  # the buyer was charged less than initialized

    assert error(refund(flw, txn["id"], amount=1500))[0] == 400
    assert refund(flw, txn["id"]).get_json()["data"]["amount_refunded"] == 1000


@pytest.mark.parametrize("amount", [0, -1, "lots", 1.001])
def test_refund_amounts_must_be_positive_major_units(flw: Emulator, amount: Any) -> None:
    assert error(refund(flw, flw.paid()["id"], amount=amount))[0] == 400


def test_only_a_successful_transaction_can_be_refunded(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment()
    declined = flw.control(f"transactions/{tx_ref}/decline").get_json()["data"]

    assert error(refund(flw, declined["id"])) == (400, "Only successful transactions can be refunded")
    assert error(refund(flw, 123)) == (404, NOT_FOUND)


def test_a_refunded_transaction_still_verifies_successful(flw: Emulator) -> None:
    txn = flw.paid()
    refund(flw, txn["id"])

    assert flw.verify(txn["id"])["status"] == "successful"


def test_a_processing_refund_is_completed_or_failed_on_demand(flw: Emulator) -> None:
    flw.control("config", {"refund_outcome": "processing"})
    txn = flw.paid(100)
    completing = refund(flw, txn["id"], amount=30).get_json()["data"]
    failing = refund(flw, txn["id"], amount=70).get_json()["data"]
    assert (completing["status"], failing["status"]) == ("processing", "processing")

    assert flw.control(f"refunds/{completing['id']}/complete").get_json()["data"]["status"] == "completed"
    assert flw.control(f"refunds/{failing['id']}/fail").get_json()["data"]["status"] == "failed"

    assert flw.api("GET", f"/v3/refunds/{failing['id']}").get_json()["data"]["status"] == "failed"
    assert flw.control(f"refunds/{failing['id']}/complete").status_code == 409
    # A failed refund gives its amount back.
    assert refund(flw, txn["id"], amount=70).status_code == 200


def test_the_next_refunds_can_be_refused(flw: Emulator) -> None:
    txn = flw.paid(100)

    flw.control("refunds/refuse-next", {"count": 1, "message": "Insufficient balance"})

    assert error(refund(flw, txn["id"])) == (400, "Insufficient balance")
    assert flw.api("GET", "/v3/refunds", query_string={"id": str(txn["id"])}).get_json()["data"] == []
    assert refund(flw, txn["id"]).status_code == 200


def test_a_refund_whose_answer_was_lost_is_found_by_its_transaction(flw: Emulator) -> None:
    txn = flw.paid(2500)
    other = flw.paid(700)
    refund(flw, other["id"])
    flw.control("faults", {"route": "refund", "mode": "timeout", "count": 1, "seconds": 0.01})

    refund(flw, txn["id"], amount=500)  # the client gave up waiting; the refund was made

    found = flw.api("GET", "/v3/refunds", query_string={"id": str(txn["id"])}).get_json()
    assert found["message"] == "Refunds fetched"
    assert [(item["transaction_id"], item["amount_refunded"]) for item in found["data"]] == [(txn["id"], 500)]
    item = found["data"][0]
    assert {"id", "flw_ref", "status", "created_at", "account_id", "comments", "settlement_id"} <= set(item)
    assert found["meta"]["page_info"] == {"total": 1, "current_page": 1, "total_pages": 1, "page_size": 10}
    fetched = flw.api("GET", f"/v3/refunds/{item['id']}").get_json()
    assert (fetched["message"], fetched["data"]) == ("Refund fetched", item)


def test_refunds_are_filtered_and_paged(flw: Emulator) -> None:
    flw.control("config", {"refund_outcome": "processing"})
    ghs = flw.paid(50, "GHS")
    made = [refund(flw, flw.paid(10)["id"]).get_json()["data"] for _ in range(11)]
    ghs_refund = refund(flw, ghs["id"]).get_json()["data"]

    def search(**query: str) -> dict[str, Any]:
        return dict(flw.api("GET", "/v3/refunds", query_string=query).get_json())

    assert [item["id"] for item in search(currency="GHS")["data"]] == [ghs_refund["id"]]
    assert [item["id"] for item in search(flw_ref=made[0]["flw_ref"])["data"]] == [made[0]["id"]]
    assert search(status="completed")["data"] == []
    assert len(search(status="processing", page="1")["data"]) == 10
    second = search(status="processing", page="2")
    assert second["meta"]["page_info"] == {"total": 12, "current_page": 2, "total_pages": 2, "page_size": 10}
    assert [item["id"] for item in second["data"]] == [made[1]["id"], made[0]["id"]]  # newest first
    today = made[0]["created_at"][:10]
    assert search(**{"from": today, "to": today})["meta"]["page_info"]["total"] == 12
    assert search(**{"from": "2999-01-01"})["data"] == []
    assert error(flw.api("GET", "/v3/refunds", query_string={"from": "yesterday"}))[0] == 400


def test_an_unknown_refund_is_not_found(flw: Emulator) -> None:
    assert error(flw.api("GET", "/v3/refunds/1")) == (404, "Refund not found")


# --- banks and account resolution ------------------------------------------------------


def test_banks_of_a_country_have_id_code_and_name(flw: Emulator) -> None:
    response = flw.api("GET", "/v3/banks/NG")

    body = response.get_json()
    assert (response.status_code, body["message"]) == (200, "Banks fetched successfully")
    banks = {bank["code"]: bank for bank in body["data"]}
    assert banks["044"] == {"id": banks["044"]["id"], "code": "044", "name": "Access Bank"}
    assert {"011", "058"} <= set(banks)
    assert all(set(bank) == {"id", "code", "name"} for bank in body["data"])
    assert flw.api("GET", "/v3/banks/ng").get_json()["data"] == body["data"]
    assert {bank["code"] for bank in flw.api("GET", "/v3/banks/GH").get_json()["data"]} == {"280100", "MTN"}
    assert error(flw.api("GET", "/v3/banks/XX")) == (400, "Country XX is not supported")


def test_resolve_gives_the_same_name_for_the_same_account(flw: Emulator) -> None:
    body = {"account_number": "0690000032", "account_bank": "044"}

    first = flw.api("POST", "/v3/accounts/resolve", body).get_json()
    again = flw.api("POST", "/v3/accounts/resolve", body).get_json()

    assert (first["status"], first["message"]) == ("success", "Account details fetched")
    assert set(first["data"]) == {"account_number", "account_name"}
    assert first["data"]["account_number"] == "0690000032"
    assert re.fullmatch(r"[A-Z]+ [A-Z]+", first["data"]["account_name"])
    assert first["data"] == again["data"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"account_number": "0000000000", "account_bank": "044"}, "Sorry, that account number is invalid"),
        ({"account_number": "12345", "account_bank": "044"}, "Sorry, that account number is invalid"),
        ({"account_number": "01234abcde", "account_bank": "044"}, "Sorry, that account number is invalid"),
        ({"account_number": "0690000032", "account_bank": "999"}, "Sorry, that account number is invalid"),
        ({"account_bank": "044"}, "account_number is required"),
        ({"account_number": "0690000032"}, "account_bank is required"),
    ],
)
def test_resolve_failures(flw: Emulator, body: dict[str, str], message: str) -> None:
    status, text = error(flw.api("POST", "/v3/accounts/resolve", body))

    assert status == 400
    assert text.startswith(message)


# --- transfers -------------------------------------------------------------------------


def test_a_transfer_is_queued_new_with_flutterwaves_fields(flw: Emulator) -> None:
    flw.control("config", {"transfer_outcome": "pending"})
    reference = a_transfer_reference()

    response = flw.transfer(reference, amount=5500, narration="Payout 1", meta={"payout_id": "p1"})

    body = response.get_json()
    assert (response.status_code, body["status"], body["message"]) == (200, "success", "Transfer Queued Successfully")
    data = body["data"]
    assert isinstance(data["id"], int)
    assert (data["status"], data["reference"], data["amount"], data["currency"]) == ("NEW", reference, 5500, "NGN")
    assert (data["debit_currency"], data["fee"], data["complete_message"]) == ("NGN", 26.88, "")
    assert (data["requires_approval"], data["is_approved"]) == (0, 1)
    assert (data["bank_code"], data["bank_name"], data["account_number"]) == (
        "044",
        "ACCESS BANK NIGERIA",
        "0690000040",
    )
    resolved = flw.api("POST", "/v3/accounts/resolve", {"account_number": "0690000040", "account_bank": "044"})
    assert data["full_name"] == resolved.get_json()["data"]["account_name"]
    assert (data["narration"], data["meta"]) == ("Payout 1", {"payout_id": "p1"})
    assert FLW_TIME.match(data["created_at"])


def test_transfer_fees_follow_flutterwaves_naira_tiers(flw: Emulator) -> None:
    fees = [flw.transfer(amount=amount).get_json()["data"]["fee"] for amount in (5000, 5000.01, 50000, 50001)]

    assert fees == [10.75, 26.88, 26.88, 53.75]


def test_a_transfer_settles_successful_with_one_transfer_completed_webhook(
    flw: Emulator, receiver: WebhookReceiver
) -> None:
    reference = a_transfer_reference()
    created = flw.transfer(reference).get_json()["data"]

    received = wait_until(lambda: receiver.received_for(reference), what="transfer.completed")[0]

    payload = received.payload
    assert (payload["event"], payload["event.type"]) == ("transfer.completed", "Transfer")
    data = payload["data"]
    assert (data["id"], data["reference"], data["status"]) == (created["id"], reference, "SUCCESSFUL")
    assert (data["amount"], data["fee"], data["currency"], data["debit_currency"]) == (5500, 26.88, "NGN", "NGN")
    assert data["fullname"] == created["full_name"]
    assert (data["bank_code"], data["bank_name"], data["account_number"]) == (
        "044",
        "ACCESS BANK NIGERIA",
        "0690000040",
    )
    assert data["complete_message"] == "Transaction was successful"
    assert {"created_at", "meta", "narration", "requires_approval", "is_approved"} <= set(data)
    assert flw.transfer_status(created["id"]) == "SUCCESSFUL"
    assert [item["event"] for item in flw.deliveries(reference=reference)] == ["transfer.completed"]


def test_get_a_transfer_has_the_approver_and_the_settled_status(flw: Emulator) -> None:
    created = flw.transfer().get_json()["data"]
    wait_until(lambda: flw.transfer_status(created["id"]) == "SUCCESSFUL")

    response = flw.api("GET", f"/v3/transfers/{created['id']}")

    body = response.get_json()
    assert body["message"] == "Transfer fetched"
    assert body["data"] == {
        **created,
        "status": "SUCCESSFUL",
        "complete_message": "Transaction was successful",
        "approver": None,
    }


def test_a_transfer_reference_cannot_be_reused(flw: Emulator) -> None:
    reference = a_transfer_reference()
    assert flw.transfer(reference).status_code == 200

    response = flw.transfer(reference, amount=100)

    assert error(response) == (400, "Duplicate reference: a transfer with this reference already exists")


def test_a_transfer_without_a_reference_gets_one(flw: Emulator) -> None:
    response = flw.api(
        "POST", "/v3/transfers", {"account_bank": "044", "account_number": "0690000040", "amount": 1, "currency": "NGN"}
    )

    assert re.fullmatch(r"[a-z0-9]{16}", response.get_json()["data"]["reference"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"account_bank": None}, "account_bank is required"),
        ({"account_number": None}, "account_number is required"),
        ({"amount": None}, "amount is required"),
        ({"amount": 0}, "Invalid amount"),
        ({"amount": 1.005}, "Invalid amount: NGN amounts have at most 2 decimal places"),
        ({"currency": None}, "currency is required"),
        ({"currency": "EUR"}, "Invalid currency EUR"),
        ({"debit_currency": "XYZ"}, "Invalid debit_currency XYZ"),
        ({"account_bank": "999"}, "Invalid bank code 999"),
        ({"currency": "GHS"}, "GHS transfers are not supported to Access Bank"),
    ],
)
def test_transfer_validations(flw: Emulator, change: dict[str, Any], message: str) -> None:
    body = {"account_bank": "044", "account_number": "0690000040", "amount": 100, "currency": "NGN"}
    body.update(change)

    response = flw.api("POST", "/v3/transfers", {k: v for k, v in body.items() if v is not None})

    assert error(response) == (400, message)


def test_a_transfer_amount_keeps_its_decimals_exactly(flw: Emulator) -> None:
    raw = '{"account_bank": "044", "account_number": "0690000040", "amount": 1234.56, "currency": "NGN"}'

    response = flw.raw("POST", "/v3/transfers", raw)

    assert '"amount": 1234.56' in response.get_data(as_text=True)
    assert flw.app.transfers.transfer(response.get_json()["data"]["id"]).amount == 123_456


def test_a_transfer_marked_to_fail_fails_with_the_same_webhook_event(flw: Emulator, receiver: WebhookReceiver) -> None:
    reference = a_transfer_reference()
    assert flw.control(f"transfers/{reference}/fail", {"reason": "Insufficient funds"}).status_code == 202

    created = flw.transfer(reference).get_json()["data"]

    assert created["status"] == "NEW"
    payload = wait_until(lambda: receiver.received_for(reference), what="transfer.completed")[0].payload
    assert payload["event"] == "transfer.completed"
    assert (payload["data"]["status"], payload["data"]["complete_message"]) == (
        "FAILED",
        "DISBURSE FAILED: Insufficient funds",
    )
    assert flw.transfer_status(created["id"]) == "FAILED"


def test_the_next_transfers_can_be_made_to_fail(flw: Emulator) -> None:
    flw.control("transfers/fail-next", {"count": 2})

    ids = [flw.transfer().get_json()["data"]["id"] for _ in range(3)]

    wait_until(lambda: [flw.transfer_status(i) for i in ids] == ["FAILED", "FAILED", "SUCCESSFUL"])


def test_a_transfer_to_an_account_that_does_not_resolve_fails(flw: Emulator) -> None:
    created = flw.transfer(account_number="0000000000", beneficiary_name="Nobody").get_json()["data"]

    assert created["full_name"] == "Nobody"
    wait_until(lambda: flw.transfer_status(created["id"]) == "FAILED")
    fetched = flw.api("GET", f"/v3/transfers/{created['id']}").get_json()["data"]
    assert fetched["complete_message"] == "DISBURSE FAILED: Invalid account number"


def test_failed_as_the_outcome_fails_every_transfer(flw: Emulator) -> None:
    flw.control("config", {"transfer_outcome": "failed"})

    created = flw.transfer().get_json()["data"]

    wait_until(lambda: flw.transfer_status(created["id"]) == "FAILED")


def test_a_pending_transfer_fails_or_succeeds_on_demand(flw: Emulator) -> None:
    flw.control("config", {"transfer_outcome": "pending"})
    failing, succeeding = a_transfer_reference(), a_transfer_reference()
    flw.transfer(failing)
    flw.transfer(succeeding)

    assert flw.control(f"transfers/{failing}/fail").get_json()["data"]["status"] == "FAILED"
    assert flw.control(f"transfers/{succeeding}/succeed").get_json()["data"]["status"] == "SUCCESSFUL"

    assert [item["payload"]["data"]["status"] for item in flw.deliveries(reference=failing)] == ["FAILED"]
    assert [item["payload"]["data"]["status"] for item in flw.deliveries(reference=succeeding)] == ["SUCCESSFUL"]
    assert flw.control(f"transfers/{failing}/succeed").status_code == 409
    assert flw.control(f"transfers/{succeeding}/fail").status_code == 409
    assert flw.control("transfers/nope/succeed").status_code == 404


def test_a_pending_transfer_stays_new(flw: Emulator) -> None:
    flw.control("config", {"transfer_outcome": "pending"})
    reference = a_transfer_reference()
    created = flw.transfer(reference).get_json()["data"]

    assert flw.client.get(f"/_emulator/transfers/{reference}").get_json()["data"]["status"] == "NEW"
    assert flw.transfer_status(created["id"]) == "NEW"
    assert flw.deliveries(reference=reference) == []


def test_the_last_transfer_webhook_can_be_sent_again(flw: Emulator) -> None:
    reference = a_transfer_reference()
    flw.transfer(reference)
    flw.finished_deliveries(reference)

    response = flw.control(f"transfers/{reference}/webhook", query_string={"times": "2"})

    assert response.status_code == 202
    assert [item["event"] for item in flw.deliveries(reference=reference)] == ["transfer.completed"] * 3
    assert len({item["body"] for item in flw.deliveries(reference=reference)}) == 1


def test_transfers_are_listed_and_found_by_reference_and_status(flw: Emulator) -> None:
    flw.control("config", {"transfer_outcome": "pending"})
    references = [a_transfer_reference() for _ in range(12)]
    for reference in references:
        flw.transfer(reference)
    flw.control(f"transfers/{references[0]}/succeed")

    def search(**query: str) -> dict[str, Any]:
        return dict(flw.api("GET", "/v3/transfers", query_string=query).get_json())

    by_reference = search(reference=references[3])
    assert by_reference["message"] == "Transfers fetched"
    assert [item["reference"] for item in by_reference["data"]] == [references[3]]
    assert [item["reference"] for item in search(status="successful")["data"]] == [references[0]]
    everything = search(page="2")
    assert everything["meta"]["page_info"] == {"total": 12, "current_page": 2, "total_pages": 2, "page_size": 10}
    assert [item["reference"] for item in everything["data"]] == [references[1], references[0]]
    assert search(reference="nope")["data"] == []


def test_an_unknown_transfer_is_not_found(flw: Emulator) -> None:
    assert error(flw.api("GET", "/v3/transfers/1")) == (404, "Transfer not found")
    assert error(flw.api("GET", "/v3/transfers/abc")) == (404, "Transfer not found")


def test_transfer_webhooks_are_compact_json_with_the_event_type_first(flw: Emulator, receiver: WebhookReceiver) -> None:
    reference = a_transfer_reference()
    flw.transfer(reference)

    body = wait_until(lambda: receiver.received_for(reference))[0].body

    assert body == json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    assert list(json.loads(body)) == ["event", "event.type", "data"]
