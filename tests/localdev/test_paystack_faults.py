"""The Paystack emulator's fault injection, run-time settings and reset."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.localdev.paystack_fixtures import (
    Emulator,
    a_reference,
    error,
    paystack_fixture,  # noqa: F401 (fixtures)
    receiver_fixture,  # noqa: F401 (fixtures)
)


def test_an_error_fault_answers_500_for_the_next_n_calls_only(paystack: Emulator) -> None:
    reference = paystack.paid()
    paystack.control("faults", {"route": "verify", "mode": "error", "count": 2})

    statuses = [paystack.api("GET", f"/transaction/verify/{reference}").status_code for _ in range(3)]

    assert statuses == [500, 500, 200]


def test_a_fault_can_choose_its_status(paystack: Emulator) -> None:
    paystack.control("faults", {"route": "initialize", "mode": "error", "count": 1, "status": 503})

    response = paystack.api("POST", "/transaction/initialize", {"email": "a@b.co", "amount": 100})

    assert response.status_code == 503


def test_a_timeout_fault_still_does_the_work(paystack: Emulator) -> None:
    paystack.control("faults", {"route": "initialize", "mode": "timeout", "count": 1, "seconds": 0.01})
    reference = a_reference()

    response = paystack.api(
        "POST", "/transaction/initialize", {"email": "a@b.co", "amount": 100, "reference": reference}
    )

    assert response.status_code == 200
    assert paystack.verify(reference)["status"] == "abandoned"


def test_faults_are_listed_and_cleared(paystack: Emulator) -> None:
    paystack.control("faults", {"route": "transfer", "mode": "timeout", "count": 4})

    listed = paystack.client.get("/_emulator/faults").get_json()["data"]
    cleared = paystack.client.delete("/_emulator/faults").get_json()["data"]

    assert listed == {"transfer": {"mode": "timeout", "remaining": 4, "status": 500, "seconds": None}}
    assert cleared == {}


@pytest.mark.parametrize(
    "body",
    [{"route": "nowhere", "mode": "error"}, {"route": "verify", "mode": "explode"}, {"route": "verify", "count": "x"}],
)
def test_bad_fault_requests_are_refused(paystack: Emulator, body: dict[str, Any]) -> None:
    assert paystack.control("faults", body).status_code == 400


@pytest.mark.parametrize(
    "body", [{"no_such_setting": 1}, {"fee_bps": "lots"}, {"transfer_outcome": "maybe"}, {"auto_process_refunds": 1}]
)
def test_bad_settings_are_refused(paystack: Emulator, body: dict[str, Any]) -> None:
    assert paystack.control("config", body).status_code == 400


def test_reset_forgets_everything_and_restores_the_settings(paystack: Emulator) -> None:
    reference = paystack.paid()
    paystack.control("config", {"fee_bps": 999})
    paystack.control("faults", {"route": "verify", "mode": "error", "count": 5})

    assert paystack.control("reset").status_code == 200

    assert error(paystack.api("GET", f"/transaction/verify/{reference}"))[0] == 404
    assert paystack.deliveries() == []
    assert paystack.client.get("/_emulator/config").get_json()["data"]["fee_bps"] == 150
    assert paystack.client.get("/_emulator/faults").get_json()["data"] == {}


def test_unknown_routes_answer_paystacks_error_envelope(paystack: Emulator) -> None:
    response = paystack.api("GET", "/nothing/here")

    assert error(response) == (404, "Not found")
    assert paystack.api("DELETE", "/transaction/initialize").status_code == 405


def test_a_lost_refund_answer_is_a_500_but_the_refund_exists_and_is_found_by_its_transaction(
    paystack: Emulator,
) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(10_000)
    paystack.control("faults", {"operation": "refund", "mode": "lost"})

    lost = paystack.api("POST", "/refund", {"transaction": reference})

    assert error(lost) == (500, "Emulated gateway error")
    found = paystack.api("GET", "/refund", query_string={"transaction": reference}).get_json()["data"]
    assert [(item["amount"], item["status"]) for item in found] == [(10_000, "pending")]
    assert error(paystack.api("POST", "/refund", {"transaction": reference})) == (
        400,
        "Transaction has been fully reversed",
    )  # a blind retry is refused: the first refund holds the whole amount
    calls = paystack.client.get("/_emulator/calls", query_string={"operation": "refund"}).get_json()["data"]
    assert [(call["status"], call["fault"]) for call in calls] == [(500, "lost"), (400, None)]


def test_a_lost_initialize_answer_is_a_500_but_the_transaction_exists(paystack: Emulator) -> None:
    paystack.control("faults", {"operation": "initialize", "mode": "lost", "status": 502})
    reference = a_reference()
    body = {"email": "a@b.co", "amount": 100, "reference": reference}

    lost = paystack.api("POST", "/transaction/initialize", body)

    assert lost.status_code == 502
    assert paystack.verify(reference)["status"] == "abandoned"
    again = paystack.api("POST", "/transaction/initialize", body)
    assert again.get_json()["code"] == "duplicate_reference"


def test_a_timeout_refund_is_recorded_before_the_late_answer(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(10_000)
    paystack.control("faults", {"operation": "refund", "mode": "timeout", "seconds": 0.01})

    response = paystack.api("POST", "/refund", {"transaction": reference})

    assert response.status_code == 200
    assert len(paystack.api("GET", "/refund", query_string={"transaction": reference}).get_json()["data"]) == 1


def test_a_random_fault_fails_a_seeded_share_of_calls_the_same_way_every_run(paystack: Emulator) -> None:
    reference = paystack.paid()
    draws = random.Random(7)
    expected = [500 if draws.random() < 0.3 else 200 for _ in range(200)]
    runs = []
    for _ in range(2):
        paystack.control("faults", {"operation": "verify", "mode": "error", "probability": 0.3, "seed": 7})
        runs.append([paystack.api("GET", f"/transaction/verify/{reference}").status_code for _ in range(200)])

    assert runs == [expected, expected]
    assert 40 <= expected.count(500) <= 80
    listed = paystack.client.get("/_emulator/faults").get_json()["data"]["verify"]
    assert listed == {
        "mode": "error",
        "remaining": None,
        "status": 500,
        "seconds": None,
        "probability": 0.3,
        "seed": 7,
        "injected": expected.count(500),
    }


def test_a_random_fault_with_a_count_stops_after_that_many_failures(paystack: Emulator) -> None:
    reference = paystack.paid()
    paystack.control("faults", {"operation": "verify", "probability": 0.5, "seed": 1, "count": 3})

    statuses = [paystack.api("GET", f"/transaction/verify/{reference}").status_code for _ in range(50)]

    assert statuses.count(500) == 3
    assert statuses[statuses.index(500) :].count(200) > 0


def test_one_operations_fault_is_cleared_and_the_others_stay(paystack: Emulator) -> None:
    paystack.control("faults", {"operation": "verify", "probability": 0.3})
    paystack.control("faults", {"operation": "initialize", "mode": "timeout"})

    left = paystack.client.delete("/_emulator/faults", query_string={"operation": "verify"}).get_json()["data"]

    assert list(left) == ["initialize"]


@pytest.mark.parametrize("body", [{"operation": "verify", "probability": 0}, {"operation": "verify", "probability": 2}])
def test_a_probability_outside_zero_to_one_is_refused(paystack: Emulator, body: dict[str, Any]) -> None:
    assert paystack.control("faults", body).status_code == 400


def test_the_call_log_shows_the_api_calls_made_and_that_none_was_made_to_initialize(paystack: Emulator) -> None:
    reference = paystack.paid()  # initialize, then the pay control (not an API call)
    paystack.client.delete("/_emulator/calls")
    paystack.api("GET", f"/transaction/verify/{reference}")
    paystack.api("GET", "/transaction/verify/nope")

    calls = paystack.client.get("/_emulator/calls").get_json()
    initialize = paystack.client.get("/_emulator/calls", query_string={"operation": "initialize"}).get_json()

    assert [(call["operation"], call["status"]) for call in calls["data"]] == [("verify", 200), ("verify", 404)]
    assert calls["data"][0]["path"] == f"/transaction/verify/{reference}"
    assert calls["meta"] == {"total": 2}
    assert initialize["data"] == []
    paystack.control("reset")
    assert paystack.client.get("/_emulator/calls").get_json()["data"] == []
