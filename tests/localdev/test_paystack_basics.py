"""The Paystack emulator's envelope basics: health, the bearer check, unknown routes."""

from __future__ import annotations

import pytest

from tests.fixtures.paystack import SECRET_KEY
from tests.localdev.paystack_fixtures import (
    Emulator,
    error,
    paystack_fixture,  # noqa: F401 (fixtures)
    receiver_fixture,  # noqa: F401 (fixtures)
)


def test_health_answers_ok(paystack: Emulator) -> None:
    response = paystack.client.get("/health")

    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "No Authorization Header was found"),
        ({"Authorization": SECRET_KEY}, "Format is Authorization Bearer [secret key]"),
        ({"Authorization": "Bearer sk_test_wrong"}, "Invalid key"),
    ],
)
def test_the_api_requires_the_secret_key(paystack: Emulator, headers: dict[str, str], message: str) -> None:
    response = paystack.api("POST", "/transaction/initialize", {"email": "a@b.co", "amount": 100}, headers=headers)

    assert error(response) == (401, message)
    assert response.get_json() == {"status": False, "message": message}
