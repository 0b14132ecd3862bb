"""The Flutterwave emulator's webhooks (verif-hash, retries, resends) and its faults, settings and reset."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fixtures.paystack import unused_port
from tests.helpers import wait_until
from tests.localdev.flutterwave_support import (
    SECRET_HASH,
    Emulator,
    WebhookReceiver,
    a_transfer_reference,
    a_tx_ref,
    error,
)

CHARGE_FIELDS = {
    "id",
    "tx_ref",
    "flw_ref",
    "amount",
    "currency",
    "charged_amount",
    "app_fee",
    "status",
    "payment_type",
    "customer",
    "created_at",
}


# --- webhooks --------------------------------------------------------------------------


def test_pay_sends_charge_completed_with_the_secret_hash(flw: Emulator, receiver: WebhookReceiver) -> None:
    tx_ref, _ = flw.create_payment(2500, meta={"order_id": "o1"})
    txn = flw.control(f"transactions/{tx_ref}/pay").get_json()["data"]

    received = wait_until(lambda: receiver.received_for(tx_ref), what="charge.completed")[0]

    assert received.verif_hash == SECRET_HASH
    assert received.content_type == "application/json"
    assert received.body == json.dumps(received.payload, separators=(",", ":"), ensure_ascii=False).encode()
    payload = received.payload
    assert (payload["event"], payload["event.type"]) == ("charge.completed", "CARD_TRANSACTION")
    assert payload["meta_data"] == {"order_id": "o1"}
    data = payload["data"]
    assert set(data) >= CHARGE_FIELDS
    verified = flw.verify(txn["id"])
    assert {key: data[key] for key in CHARGE_FIELDS} == {key: verified[key] for key in CHARGE_FIELDS}
    assert (data["status"], data["amount"], data["customer"]["email"]) == ("successful", 2500, "buyer@example.com")
    delivery = flw.finished_deliveries(tx_ref)[0]
    assert (delivery["status"], delivery["verif_hash"], delivery["transaction_id"]) == ("delivered", "valid", txn["id"])
    assert delivery["body"].encode() == received.body


def test_a_declined_attempt_sends_charge_completed_too(flw: Emulator, receiver: WebhookReceiver) -> None:
    tx_ref, _ = flw.create_payment()
    declined = flw.control(f"transactions/{tx_ref}/decline").get_json()["data"]

    payload = wait_until(lambda: receiver.received_for(tx_ref), what="charge.completed")[0].payload

    assert payload["event"] == "charge.completed"
    assert (payload["data"]["id"], payload["data"]["status"]) == (declined["id"], "failed")


def test_failed_charge_webhooks_can_be_turned_off(flw: Emulator) -> None:
    flw.control("config", {"send_failed_charge_webhook": False})
    tx_ref, _ = flw.create_payment()

    flw.control(f"transactions/{tx_ref}/decline")

    assert flw.deliveries(reference=tx_ref) == []


def test_retry_after_a_decline_sends_a_second_event_for_the_new_transaction(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment()
    declined = flw.control(f"transactions/{tx_ref}/decline").get_json()["data"]
    paid = flw.control(f"transactions/{tx_ref}/pay").get_json()["data"]

    events = [
        (item["payload"]["data"]["id"], item["payload"]["data"]["status"]) for item in flw.deliveries(reference=tx_ref)
    ]

    assert events == [(declined["id"], "failed"), (paid["id"], "successful")]


def test_the_webhook_is_sent_after_the_request_not_inside_it(flw: Emulator, receiver: WebhookReceiver) -> None:
    receiver.gate.clear()  # the receiver holds every webhook until released
    try:
        tx_ref, _ = flw.create_payment()
        assert flw.control(f"transactions/{tx_ref}/pay").status_code == 200
        assert receiver.received_for(tx_ref) == []
    finally:
        receiver.gate.set()
    wait_until(lambda: receiver.received_for(tx_ref), what="the held webhook")


def test_a_webhook_not_answered_200_is_retried_with_the_same_bytes(flw: Emulator, receiver: WebhookReceiver) -> None:
    tx_ref = a_tx_ref()
    receiver.answer(tx_ref, 500, 401)
    flw.create_payment(tx_ref=tx_ref)
    flw.control(f"transactions/{tx_ref}/pay")

    delivery = wait_until(
        lambda: [item for item in flw.deliveries(reference=tx_ref) if item["status"] == "delivered"],
        what="delivered after retries",
    )[0]

    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [500, 401, 200]
    received = receiver.received_for(tx_ref)
    assert len(received) == 3
    assert len({item.body for item in received}) == 1
    assert {item.verif_hash for item in received} == {SECRET_HASH}


def test_delivery_gives_up_after_the_last_retry(receiver: WebhookReceiver) -> None:
    emulator = Emulator(receiver.url, webhook_retry_delays=[0.01, 0.01])
    try:
        tx_ref = a_tx_ref()
        receiver.answer(tx_ref, 503, 503, 503)
        emulator.create_payment(tx_ref=tx_ref)
        emulator.control(f"transactions/{tx_ref}/pay")

        delivery = emulator.finished_deliveries(tx_ref)[0]

        assert delivery["status"] == "failed"
        assert [attempt["status_code"] for attempt in delivery["attempts"]] == [503, 503, 503]
    finally:
        emulator.close()


def test_an_unreachable_receiver_is_logged_as_failed_attempts(receiver: WebhookReceiver) -> None:
    emulator = Emulator(f"http://127.0.0.1:{unused_port()}/hook", webhook_retry_delays=[0.01])
    try:
        txn = emulator.paid()

        delivery = emulator.finished_deliveries(txn["tx_ref"])[0]

        assert delivery["status"] == "failed"
        assert len(delivery["attempts"]) == 2
        assert all(attempt["error"] and attempt["status_code"] is None for attempt in delivery["attempts"])
    finally:
        emulator.close()


def test_the_last_webhook_of_a_tx_ref_can_be_sent_again(flw: Emulator, receiver: WebhookReceiver) -> None:
    txn = flw.paid()
    tx_ref = txn["tx_ref"]
    flw.finished_deliveries(tx_ref)

    response = flw.control(f"transactions/{tx_ref}/webhook", query_string={"times": "3"})

    assert response.status_code == 202
    assert len(response.get_json()["data"]["deliveries"]) == 3
    wait_until(lambda: len(receiver.received_for(tx_ref)) >= 4, what="four deliveries")
    assert len({item.body for item in receiver.received_for(tx_ref)}) == 1
    assert [item["replay_of"] is None for item in flw.deliveries(reference=tx_ref)] == [True, False, False, False]


def test_a_resent_webhook_can_carry_a_wrong_hash(flw: Emulator, receiver: WebhookReceiver) -> None:
    txn = flw.paid()
    flw.finished_deliveries(txn["tx_ref"])

    flw.control(f"transactions/{txn['tx_ref']}/webhook", {"verif_hash": "wrong"})

    hashes = wait_until(lambda: [item.verif_hash for item in receiver.received_for(txn["tx_ref"])][1:])
    assert hashes[0] != SECRET_HASH
    assert flw.deliveries(reference=txn["tx_ref"])[-1]["verif_hash"] == "wrong"


def test_resending_before_any_webhook_is_a_conflict(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment()

    assert flw.control(f"transactions/{tx_ref}/webhook").status_code == 409


def test_a_delivery_can_be_replayed_by_id(flw: Emulator) -> None:
    txn = flw.paid()
    original = flw.finished_deliveries(txn["tx_ref"])[0]

    response = flw.control(f"webhooks/{original['id']}/replay", {"times": 2})

    assert response.status_code == 202
    replays = [item for item in flw.deliveries(reference=txn["tx_ref"]) if item["replay_of"] == original["id"]]
    assert len(replays) == 2
    assert {item["body"] for item in replays} == {original["body"]}
    assert flw.control("webhooks/999999/replay").status_code == 404


@pytest.mark.parametrize("times", ["0", "101", "x"])
def test_resend_counts_are_bounded(flw: Emulator, times: str) -> None:
    txn = flw.paid()

    assert flw.control(f"transactions/{txn['tx_ref']}/webhook", query_string={"times": times}).status_code == 400


def test_the_api_resends_the_hook_of_a_transaction(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment()
    declined = flw.control(f"transactions/{tx_ref}/decline").get_json()["data"]
    flw.control(f"transactions/{tx_ref}/pay")

    response = flw.api("POST", f"/v3/transactions/{declined['id']}/resend-hook")

    assert response.get_json() == {"status": "success", "message": "hook sent", "data": "hook sent"}
    resent = flw.deliveries(reference=tx_ref)[-1]
    assert (resent["transaction_id"], resent["payload"]["data"]["status"]) == (declined["id"], "failed")


def test_the_delivery_log_filters_by_reference_and_event(flw: Emulator) -> None:
    txn = flw.paid()
    reference = a_transfer_reference()
    flw.transfer(reference)
    wait_until(lambda: flw.deliveries(reference=reference))

    assert {item["event"] for item in flw.deliveries(event="transfer.completed")} == {"transfer.completed"}
    assert [item["reference"] for item in flw.deliveries(reference=txn["tx_ref"])] == [txn["tx_ref"]]


# --- faults, settings, reset -----------------------------------------------------------


def test_an_error_fault_answers_500_for_the_next_n_calls_only(flw: Emulator) -> None:
    txn = flw.paid()
    flw.control("faults", {"route": "verify", "mode": "error", "count": 2})

    responses = [flw.api("GET", f"/v3/transactions/{txn['id']}/verify") for _ in range(3)]

    assert [response.status_code for response in responses] == [500, 500, 200]
    assert error(responses[0]) == (500, "Emulated gateway error")


def test_a_fault_can_choose_its_status(flw: Emulator) -> None:
    flw.control("faults", {"route": "transfer", "count": 1, "status": 503})

    assert flw.transfer().status_code == 503


def test_a_fault_applies_before_the_key_check_and_does_no_work(flw: Emulator) -> None:
    flw.control("faults", {"route": "payments", "mode": "error", "count": 1})
    tx_ref = a_tx_ref()
    body = {"tx_ref": tx_ref, "amount": 1, "redirect_url": "http://x/r", "customer": {"email": "a@b.co"}}

    assert flw.api("POST", "/v3/payments", body).status_code == 500
    assert flw.control(f"transactions/{tx_ref}/pay").status_code == 404


def test_a_timeout_fault_still_does_the_work(flw: Emulator) -> None:
    flw.control("faults", {"route": "transfer", "mode": "timeout", "count": 1, "seconds": 0.01})
    reference = a_transfer_reference()

    response = flw.transfer(reference)

    assert response.status_code == 200
    found = flw.api("GET", "/v3/transfers", query_string={"reference": reference}).get_json()["data"]
    assert [item["reference"] for item in found] == [reference]


def test_faults_are_listed_and_cleared(flw: Emulator) -> None:
    flw.control("faults", {"route": "refund", "mode": "timeout", "count": 4})

    listed = flw.client.get("/_emulator/faults").get_json()["data"]
    cleared = flw.client.delete("/_emulator/faults").get_json()["data"]

    assert listed == {"refund": {"mode": "timeout", "remaining": 4, "status": 500, "seconds": None}}
    assert cleared == {}


@pytest.mark.parametrize(
    "body",
    [
        {"route": "nowhere", "mode": "error"},
        {"route": "verify", "mode": "explode"},
        {"route": "verify", "count": "x"},
        {"route": "verify", "status": 200},
        {"route": "verify", "seconds": "soon"},
    ],
)
def test_bad_fault_requests_are_refused(flw: Emulator, body: dict[str, Any]) -> None:
    assert flw.control("faults", body).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"no_such_setting": 1},
        {"fee_bps": "lots"},
        {"transfer_outcome": "maybe"},
        {"refund_outcome": "never"},
        {"send_failed_charge_webhook": 1},
        {"not_found_status": 500},
        {"webhook_retry_delays": ["soon"]},
    ],
)
def test_bad_settings_are_refused(flw: Emulator, body: dict[str, Any]) -> None:
    assert flw.control("config", body).status_code == 400


def test_settings_are_read_back(flw: Emulator) -> None:
    changed = flw.control("config", {"fee_bps": 150, "fee_cap": None}).get_json()["data"]

    assert (changed["fee_bps"], changed["fee_cap"]) == (150, None)
    assert flw.client.get("/_emulator/config").get_json()["data"] == changed


def test_reset_forgets_everything_and_restores_the_settings(flw: Emulator) -> None:
    txn = flw.paid()
    flw.transfer()
    flw.control("config", {"fee_bps": 999})
    flw.control("faults", {"route": "verify", "mode": "error", "count": 5})
    flw.control("transfers/fail-next", {"count": 3})

    assert flw.control("reset").status_code == 200

    assert error(flw.api("GET", f"/v3/transactions/{txn['id']}/verify"))[0] == 404
    assert flw.control(f"transactions/{txn['tx_ref']}/pay").status_code == 404
    assert flw.deliveries() == []
    assert flw.client.get("/_emulator/config").get_json()["data"]["fee_bps"] == 140
    assert flw.client.get("/_emulator/faults").get_json()["data"] == {}
    fresh = flw.transfer().get_json()["data"]
    wait_until(lambda: flw.transfer_status(fresh["id"]) == "SUCCESSFUL")  # fail-next was forgotten too
    assert flw.paid()["id"] > txn["id"]  # ids are never reused
