"""The Paystack emulator's fault injection, run-time settings and reset."""

from __future__ import annotations

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
