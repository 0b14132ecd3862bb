"""The Paystack emulator's banks and account resolution."""

from __future__ import annotations

import pytest

from tests.localdev.paystack_fixtures import (
    Emulator,
    error,
    paystack_fixture,  # noqa: F401 (fixtures)
    receiver_fixture,  # noqa: F401 (fixtures)
)


def test_banks_lists_the_fixtures_with_paystacks_fields(paystack: Emulator) -> None:
    response = paystack.api("GET", "/bank", query_string={"currency": "NGN"})

    body = response.get_json()
    assert (response.status_code, body["status"]) == (200, True)
    banks = {bank["code"]: bank for bank in body["data"]}
    assert banks["058"]["name"] == "Guaranty Trust Bank"
    assert banks["044"]["name"] == "Access Bank"
    assert banks["011"]["name"] == "First Bank of Nigeria"
    assert {"id", "name", "slug", "code", "longcode", "type", "currency", "country", "active", "is_deleted"} <= set(
        banks["058"]
    )
    assert paystack.api("GET", "/bank", query_string={"currency": "KES"}).get_json()["data"] == []


def test_banks_page_with_a_cursor(paystack: Emulator) -> None:
    first = paystack.api("GET", "/bank", query_string={"perPage": "2", "use_cursor": "true"}).get_json()
    second = paystack.api(
        "GET", "/bank", query_string={"perPage": "2", "use_cursor": "true", "next": first["meta"]["next"]}
    ).get_json()

    assert len(first["data"]) == 2
    assert len(second["data"]) == 1
    assert second["meta"]["next"] is None


def test_resolve_gives_the_same_name_for_the_same_account(paystack: Emulator) -> None:
    query = {"account_number": "0123456789", "bank_code": "058"}

    first = paystack.api("GET", "/bank/resolve", query_string=query).get_json()
    again = paystack.api("GET", "/bank/resolve", query_string=query).get_json()

    assert first["message"] == "Account number resolved"
    assert set(first["data"]) == {"account_number", "account_name", "bank_id"}
    assert first["data"] == again["data"]
    other = paystack.api("GET", "/bank/resolve", query_string={**query, "bank_code": "044"}).get_json()
    assert other["data"]["bank_id"] != first["data"]["bank_id"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            {"account_number": "0000000000", "bank_code": "058"},
            (422, "Could not resolve account name. Check parameters or try again."),
        ),
        (
            {"account_number": "12345", "bank_code": "058"},
            (422, "Could not resolve account name. Check parameters or try again."),
        ),
        ({"account_number": "01234abcde", "bank_code": "058"}, (400, "Account number should be numeric")),
        ({"account_number": "0123456789", "bank_code": "999"}, (400, "Unknown bank code")),
        ({"bank_code": "058"}, (400, "Account number is required")),
        ({"account_number": "0123456789"}, (400, "bank_code is required")),
    ],
)
def test_resolve_failures(paystack: Emulator, query: dict[str, str], expected: tuple[int, str]) -> None:
    assert error(paystack.api("GET", "/bank/resolve", query_string=query)) == expected
