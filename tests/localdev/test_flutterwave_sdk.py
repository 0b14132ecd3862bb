"""The emulator driven by Flutterwave's official Node SDK (flutterwave-node-v3 1.4.x), as merchants run it.

Every SDK call the emulator serves is exercised through ``localdev/flutterwave/sdk/run.js``, which
holds every socket to loopback and replaces the SDK's telemetry (``guard-check.js`` proves both
without sending anything). Where the SDK and Flutterwave's docs disagree the SDK wins; each
difference has a test here and a line in ``localdev/flutterwave/README.md``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import wait_until
from tests.localdev.flutterwave_support import (
    NOT_FOUND,
    SDK_DIR,
    SECRET_HASH,
    Sdk,
    ServedEmulator,
    WebhookReceiver,
    a_transfer_reference,
    a_tx_ref,
    assert_sdk_installed,
    node_binary,
    sdk_unavailable,
)

pytestmark = pytest.mark.skipif(sdk_unavailable() is not None, reason=sdk_unavailable() or "")


@pytest.fixture(scope="module")
def served(receiver: WebhookReceiver) -> Iterator[ServedEmulator]:
    emulator = ServedEmulator(receiver.url)
    yield emulator
    emulator.close()


@pytest.fixture(scope="module")
def sdk(served: ServedEmulator) -> Iterator[Sdk]:
    assert_sdk_installed()
    runner = Sdk(served.url + "/")  # the SDK appends "v3/..." to its base URL
    yield runner
    runner.close()


def sent(served: ServedEmulator, method: str, path: str) -> list[str]:
    """The query strings of the requests the SDK sent with exactly this method and raw path."""
    return [seen.query for seen in served.requests if (seen.method, seen.path) == (method, path)]


# --- the runner itself -----------------------------------------------------------------


def test_the_guard_refuses_every_way_off_loopback_and_telemetry_is_stubbed() -> None:
    assert_sdk_installed()

    completed = subprocess.run(
        [node_binary(), str(SDK_DIR / "guard-check.js")], cwd=SDK_DIR, capture_output=True, text=True, timeout=60
    )

    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["guards"] == {"sockets": True, "fetch": True, "dns": True, "udp": True}
    assert all(allowed for _, allowed in report["loopback"])
    assert not any(allowed for _, allowed in report["elsewhere"])
    refused = [probe for probe in report["sockets"] + report["fetches"] + report["lookups"] if probe["refused"]]
    assert all(not probe["reached"] for probe in refused)
    assert [probe["refused"] for probe in report["sockets"]] == [True, True, False]
    assert [probe["refused"] for probe in report["fetches"]] == [True, False]
    assert [probe["refused"] for probe in report["lookups"]] == [True, False]
    assert report["sockets"][2]["reached"]  # loopback still gets through
    assert report["udp_refused"] is True
    telemetry = report["telemetry"]
    assert telemetry == {"stubbed": True, "sdk_built": True, "init_calls": 1, "https_requests": []}


def test_the_runner_that_drives_the_emulator_is_guarded_too(sdk: Sdk) -> None:
    status = sdk.status()

    assert status["guards"] == {"sockets": True, "fetch": True, "dns": True, "udp": True}
    assert status["telemetry"]["stub"] is True
    assert status["telemetry"]["calls"]["init"] == 1  # the constructor reported to the stub, not to Flutterwave


def test_the_runner_refuses_a_base_url_off_loopback() -> None:
    assert_sdk_installed()

    completed = subprocess.run(
        [node_binary(), str(SDK_DIR / "run.js")],
        cwd=SDK_DIR,
        env={"PATH": "/usr/bin:/bin", "FLW_BASE_URL": "https://api.flutterwave.com/"},
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 2
    assert "loopback" in completed.stderr


# --- transactions ----------------------------------------------------------------------


def test_transaction_verify(served: ServedEmulator, sdk: Sdk) -> None:
    txn = served.paid(12345.67)

    body = sdk.call("Transaction.verify", {"id": txn["id"]})

    assert (body["status"], body["message"]) == ("success", "Transaction fetched successfully")
    data = body["data"]
    assert (data["id"], data["tx_ref"], data["status"]) == (txn["id"], txn["tx_ref"], "successful")
    assert (data["amount"], data["charged_amount"], data["currency"], data["app_fee"]) == (
        12345.67,
        12345.67,
        "NGN",
        172.84,
    )
    assert sent(served, "GET", f"/v3/transactions/{txn['id']}/verify") == [""]


def test_transaction_verify_by_tx(served: ServedEmulator, sdk: Sdk) -> None:
    txn = served.paid(2500)

    body = sdk.call("Transaction.verify_by_tx", {"tx_ref": txn["tx_ref"]})

    assert body["data"] == served.verify(txn["id"])
    assert sent(served, "GET", "/v3/transactions/verify_by_reference") == [f"tx_ref={txn['tx_ref']}"]


def test_verify_answers_flutterwaves_error_body_for_an_unknown_transaction(sdk: Sdk) -> None:
    assert sdk.call("Transaction.verify", {"id": 1}) == {"status": "error", "message": NOT_FOUND, "data": None}


def test_verify_after_a_decline_and_a_retry_reports_each_attempt(served: ServedEmulator, sdk: Sdk) -> None:
    tx_ref, _ = served.create_payment(2500)
    declined = served.control(f"transactions/{tx_ref}/decline").get_json()["data"]
    paid = served.control(f"transactions/{tx_ref}/pay").get_json()["data"]

    assert sdk.call("Transaction.verify", {"id": declined["id"]})["data"]["status"] == "failed"
    assert sdk.call("Transaction.verify", {"id": paid["id"]})["data"]["status"] == "successful"
    assert sdk.call("Transaction.verify_by_tx", {"tx_ref": tx_ref})["data"]["id"] == paid["id"]


def test_transaction_refund(served: ServedEmulator, sdk: Sdk) -> None:
    txn = served.paid(2500)

    body = sdk.call("Transaction.refund", {"id": str(txn["id"]), "amount": 1000.5})

    assert (body["status"], body["message"]) == ("success", "Transaction refund initiated")
    assert (body["data"]["tx_id"], body["data"]["amount_refunded"], body["data"]["status"]) == (
        txn["id"],
        1000.5,
        "completed",
    )
    found = served.api("GET", "/v3/refunds", query_string={"id": str(txn["id"])}).get_json()["data"]
    assert [item["id"] for item in found] == [body["data"]["id"]]


def test_transaction_refund_with_the_amount_as_a_string_as_the_sdks_docs_send_it(
    served: ServedEmulator, sdk: Sdk
) -> None:
    txn = served.paid(2500)

    assert sdk.call("Transaction.refund", {"id": str(txn["id"]), "amount": "10"})["data"]["amount_refunded"] == 10


def test_transaction_resend_hooks(served: ServedEmulator, sdk: Sdk, receiver: WebhookReceiver) -> None:
    txn = served.paid()
    served.finished_deliveries(txn["tx_ref"])

    body = sdk.call("Transaction.resend_hooks", {"id": txn["id"]})

    assert (body["status"], body["message"]) == ("success", "hook sent")
    received = wait_until(lambda: receiver.received_for(txn["tx_ref"])[1:], what="the resent hook")
    assert received[0].verif_hash == SECRET_HASH
    assert received[0].payload["data"]["id"] == txn["id"]


# --- banks, accounts -------------------------------------------------------------------


def test_bank_country(served: ServedEmulator, sdk: Sdk) -> None:
    body = sdk.call("Bank.country", {"country": "NG"})

    assert (body["status"], body["message"]) == ("success", "Banks fetched successfully")
    assert {"id": body["data"][0]["id"], "code": "044", "name": "Access Bank"} in body["data"]


def test_bank_country_sends_the_country_as_given(served: ServedEmulator, sdk: Sdk) -> None:
    lower = sdk.call("Bank.country", {"country": "ng"})

    assert lower == sdk.call("Bank.country", {"country": "NG"})
    assert sent(served, "GET", "/v3/banks/ng") == [""]  # joi checks it as upper case but the SDK sends it raw


def test_misc_verify_account(served: ServedEmulator, sdk: Sdk) -> None:
    body = sdk.call("Misc.verify_Account", {"account_number": "0690000032", "account_bank": "044"})

    expected = served.api("POST", "/v3/accounts/resolve", {"account_number": "0690000032", "account_bank": "044"})
    assert (body["status"], body["message"]) == ("success", "Account details fetched")
    assert body["data"] == expected.get_json()["data"]
    failed = sdk.call("Misc.verify_Account", {"account_number": "0000000000", "account_bank": "044"})
    assert failed["status"] == "error"
    assert failed["message"].startswith("Sorry, that account number is invalid")


# --- transfers -------------------------------------------------------------------------


def a_transfer(**change: Any) -> dict[str, Any]:
    return {
        "account_bank": "044",
        "account_number": "0690000040",
        "amount": 5500,
        "narration": "Marketplace payout",
        "currency": "NGN",
        "reference": a_transfer_reference(),
        "callback_url": "http://127.0.0.1:3000/transfers/callback",
        "debit_currency": "NGN",
        **change,
    }


def test_transfer_initiate_and_get_a_transfer(served: ServedEmulator, sdk: Sdk, receiver: WebhookReceiver) -> None:
    payload = a_transfer()

    created = sdk.call("Transfer.initiate", payload)

    assert (created["status"], created["message"]) == ("success", "Transfer Queued Successfully")
    data = created["data"]
    assert (data["status"], data["reference"], data["amount"], data["fee"]) == (
        "NEW",
        payload["reference"],
        5500,
        26.88,
    )
    assert (data["requires_approval"], data["is_approved"], data["bank_name"]) == (0, 1, "ACCESS BANK NIGERIA")
    event = wait_until(lambda: receiver.received_for(payload["reference"]), what="transfer.completed")[0].payload
    assert (event["event"], event["data"]["status"]) == ("transfer.completed", "SUCCESSFUL")

    fetched = sdk.call("Transfer.get_a_transfer", {"id": data["id"]})

    assert (fetched["message"], fetched["data"]["id"], fetched["data"]["status"]) == (
        "Transfer fetched",
        data["id"],
        "SUCCESSFUL",
    )
    assert sent(served, "GET", f"//v3/transfers/{data['id']}") == [""]  # the SDK's double slash, served


def test_transfer_initiate_keeps_decimal_amounts_exact(served: ServedEmulator, sdk: Sdk) -> None:
    created = sdk.call("Transfer.initiate", a_transfer(amount=1234.56))

    assert created["data"]["amount"] == 1234.56
    assert served.app.transfers.transfer(created["data"]["id"]).amount == 123_456


def test_transfer_initiate_with_a_reused_reference_is_refused(sdk: Sdk) -> None:
    payload = a_transfer()
    sdk.call("Transfer.initiate", payload)

    again = sdk.call("Transfer.initiate", payload)

    assert again == {
        "status": "error",
        "message": "Duplicate reference: a transfer with this reference already exists",
        "data": None,
    }


def test_a_failing_transfer_reads_failed_through_the_sdk(served: ServedEmulator, sdk: Sdk) -> None:
    payload = a_transfer()
    served.control(f"transfers/{payload['reference']}/fail", {"reason": "Account closed"})

    created = sdk.call("Transfer.initiate", payload)

    def status() -> str:
        return str(sdk.call("Transfer.get_a_transfer", {"id": created["data"]["id"]})["data"]["status"])

    wait_until(lambda: status() == "FAILED")


def test_transfer_fetch_finds_a_transfer_by_reference(served: ServedEmulator, sdk: Sdk) -> None:
    payload = a_transfer()
    created = sdk.call("Transfer.initiate", payload)

    listed = sdk.call("Transfer.fetch", {"reference": payload["reference"]})

    assert listed["message"] == "Transfers fetched"
    assert [item["id"] for item in listed["data"]] == [created["data"]["id"]]
    assert listed["meta"]["page_info"]["total"] == 1
    assert f"&reference={payload['reference']}" in sent(served, "GET", "//v3/transfers")


# --- where the SDK and the docs differ (README.md) -------------------------------------


def test_the_sdk_refuses_a_refund_without_an_amount_though_the_api_refunds_everything(
    served: ServedEmulator, sdk: Sdk
) -> None:
    txn = served.paid(2500)

    rejected = sdk.rejection("Transaction.refund", {"id": str(txn["id"])})

    assert rejected["name"] == "validationError"
    assert '"amount" is required' in rejected["message"]
    assert sent(served, "POST", f"/v3/transactions/{txn['id']}/refund") == []  # never reached the API


def test_the_sdk_wants_the_refund_transaction_id_as_a_string(served: ServedEmulator, sdk: Sdk) -> None:
    txn = served.paid(2500)

    rejected = sdk.rejection("Transaction.refund", {"id": txn["id"], "amount": 1})

    assert '"id" must be a string' in rejected["message"]
    assert sdk.call("Transaction.verify", {"id": str(txn["id"])})["status"] == "success"  # verify takes either


def test_the_sdk_lets_a_usd_transfer_go_without_a_bank_which_the_api_refuses(sdk: Sdk) -> None:
    body = sdk.call("Transfer.initiate", {"amount": 10, "currency": "USD", "reference": a_transfer_reference()})

    assert body == {"status": "error", "message": "account_bank is required", "data": None}


def test_the_sdk_sends_the_transaction_id_in_the_refund_body_too(served: ServedEmulator, sdk: Sdk) -> None:
    txn = served.paid(2500)

    assert sdk.call("Transaction.refund", {"id": str(txn["id"]), "amount": 1})["status"] == "success"

    path = f"/v3/transactions/{txn['id']}/refund"
    bodies = [json.loads(seen.body) for seen in served.requests if seen.path == path]
    assert bodies == [{"id": str(txn["id"]), "amount": 1}]


def test_the_sdk_does_not_url_encode_the_tx_ref_of_verify_by_tx(served: ServedEmulator, sdk: Sdk) -> None:
    tx_ref = a_tx_ref() + "&x=1"
    served.create_payment(tx_ref=tx_ref)
    served.control(f"transactions/{tx_ref.replace('&', '%26')}/pay")

    body = sdk.call("Transaction.verify_by_tx", {"tx_ref": tx_ref})

    assert body == {"status": "error", "message": NOT_FOUND, "data": None}  # the emulator saw tx_ref up to "&"
    assert served.api("GET", "/v3/transactions/verify_by_reference", query_string={"tx_ref": tx_ref}).status_code == 200


def test_the_sdk_limits_a_transfer_callback_url_to_100_characters(sdk: Sdk) -> None:
    rejected = sdk.rejection("Transfer.initiate", a_transfer(callback_url="http://127.0.0.1:3000/" + "x" * 100))

    assert rejected["name"] == "validationError"
    assert "callback_url" in rejected["message"]


def test_the_sdk_requires_a_currency_for_a_transfer(sdk: Sdk) -> None:
    payload = a_transfer()
    del payload["currency"]

    assert sdk.rejection("Transfer.initiate", payload)["name"] == "validationError"


def test_the_sdk_hands_back_error_bodies_instead_of_throwing(served: ServedEmulator, sdk: Sdk) -> None:
    txn = served.paid()
    served.control("faults", {"route": "verify", "mode": "error", "count": 1, "status": 503})

    body = sdk.call("Transaction.verify", {"id": txn["id"]})  # resolves: the HTTP status is not visible

    assert body == {"status": "error", "message": "Emulated gateway error", "data": None}
    assert sdk.call("Transaction.verify", {"id": txn["id"]})["status"] == "success"


def test_a_wrong_secret_key_reads_as_an_error_body(served: ServedEmulator) -> None:
    assert_sdk_installed()
    wrong = Sdk(served.url + "/", secret_key="FLWSECK_TEST-wrong")
    try:
        body = wrong.call("Bank.country", {"country": "NG"})
    finally:
        wrong.close()

    assert body == {"status": "error", "message": "Invalid authorization key", "data": None}


def test_the_sdk_validates_a_transaction_id_before_sending(served: ServedEmulator, sdk: Sdk) -> None:
    before = len(served.requests)

    rejected = sdk.rejection("Transaction.verify", {"id": "not-a-number"})

    assert rejected["name"] == "validationError"
    assert len(served.requests) == before
