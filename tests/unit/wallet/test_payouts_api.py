"""Payout accounts and payout requests through the wallet API (in process, moto, a fake gateway port)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from market.gateways.registry import reset_gateways
from market.repositories import payouts as payouts_repo
from market.repositories import wallets as wallets_repo
from market.services import wallet
from tests.fixtures.aws import AwsResources
from tests.fixtures.wallet import (
    UNRESOLVABLE,
    FakeGateway,
    WalletApi,
    a_sale,
    drain_payouts_queue,
    install_fake_gateway,
)

ACCOUNT = {"bank_code": "058", "account_number": "0123456789", "currency": "NGN"}


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    yield install_fake_gateway()
    reset_gateways()


@pytest.fixture
def api() -> WalletApi:
    return WalletApi()


def with_account(api: WalletApi, creator: str) -> None:
    status, body = api.call("PUT", "/wallet/payout-account", as_user=creator, body=ACCOUNT)
    assert status == 200, body


def test_a_payout_account_is_resolved_stored_and_shown_masked(gateway: FakeGateway, api: WalletApi) -> None:
    status, body = api.call("PUT", "/wallet/payout-account", as_user="cr_ada", body=ACCOUNT)
    get_status, shown = api.call("GET", "/wallet/payout-account", as_user="cr_ada")

    assert status == 200
    assert body == {
        "bank_code": "058",
        "bank_name": "Guaranty Trust Bank",
        "account_number": "******6789",
        "account_name": "ADA OKAFOR",
        "currency": "NGN",
        "gateway": "paystack",  # the default gateway when none is named
    }
    assert get_status == 200
    assert shown == body
    assert gateway.calls[:2] == ["resolve_account", "create_transfer_recipient"]
    stored = payouts_repo.get_account("cr_ada", "NGN")
    assert stored is not None
    assert stored.recipient_code == "RCP_0580123456789"


def test_an_account_the_gateway_cannot_resolve_is_422(gateway: FakeGateway, api: WalletApi) -> None:
    status, body = api.call(
        "PUT", "/wallet/payout-account", as_user="cr_ada", body={**ACCOUNT, "account_number": UNRESOLVABLE}
    )

    assert status == 422
    assert body["errors"][0]["field"] == "account_number"
    assert payouts_repo.get_account("cr_ada", "NGN") is None


def test_a_malformed_account_is_422_before_any_gateway_call(gateway: FakeGateway, api: WalletApi) -> None:
    status, _ = api.call("PUT", "/wallet/payout-account", as_user="cr_ada", body={**ACCOUNT, "account_number": "12ab"})

    assert status == 422
    assert gateway.calls == []


def test_no_payout_account_yet_is_404(gateway: FakeGateway, api: WalletApi) -> None:
    status, body = api.call("GET", "/wallet/payout-account", as_user="cr_ada")

    assert status == 404
    assert body["status"] == 404


def test_a_payout_takes_the_amount_at_the_request_and_queues_the_transfer(
    gateway: FakeGateway, api: WalletApi, aws_resources: AwsResources
) -> None:
    a_sale(gateway, "cr_ada", 500000)  # 475000 available
    with_account(api, "cr_ada")

    status, payout = api.call("POST", "/wallet/payouts", as_user="cr_ada", body={"amount": 200000, "currency": "NGN"})

    assert status == 202
    assert payout["status"] == "pending"
    assert (payout["amount"], payout["currency"]) == (200000, "NGN")
    assert set(payout) >= {"id", "amount", "currency", "status", "created_at", "updated_at"}
    balance = wallets_repo.get_balance("cr_ada", "NGN")
    assert (balance.available, balance.on_hold) == (275000, 0)  # the money left at the request: nothing on hold
    assert drain_payouts_queue(aws_resources.queue_urls["PayoutsQueue"]) == [payout["id"]]
    _, listed = api.call("GET", "/wallet/payouts", as_user="cr_ada")
    assert [p["id"] for p in listed["items"]] == [payout["id"]]
    assert wallet.audit("cr_ada") == []


def test_a_payout_over_the_available_balance_is_409_and_changes_nothing(gateway: FakeGateway, api: WalletApi) -> None:
    a_sale(gateway, "cr_ada", 200000)  # 190000 available
    with_account(api, "cr_ada")

    status, body = api.call("POST", "/wallet/payouts", as_user="cr_ada", body={"amount": 190001, "currency": "NGN"})

    assert status == 409
    assert body["type"].endswith("/insufficient-balance")
    balance = wallets_repo.get_balance("cr_ada", "NGN")
    assert (balance.available, balance.on_hold) == (190000, 0)


def test_a_payout_below_the_minimum_is_422(gateway: FakeGateway, api: WalletApi) -> None:
    a_sale(gateway, "cr_ada", 500000)
    with_account(api, "cr_ada")

    status, body = api.call("POST", "/wallet/payouts", as_user="cr_ada", body={"amount": 99999, "currency": "NGN"})

    assert status == 422
    assert body["errors"][0]["field"] == "amount"


def test_a_payout_without_a_payout_account_is_409(gateway: FakeGateway, api: WalletApi) -> None:
    a_sale(gateway, "cr_ada", 500000)

    status, body = api.call("POST", "/wallet/payouts", as_user="cr_ada", body={"amount": 100000, "currency": "NGN"})

    assert status == 409
    assert body["type"].endswith("/no-payout-account")


def test_a_float_or_string_amount_is_422(gateway: FakeGateway, api: WalletApi) -> None:
    for amount in (100000.0, "100000"):
        status, _ = api.call("POST", "/wallet/payouts", as_user="cr_ada", body={"amount": amount, "currency": "NGN"})
        assert status == 422


def test_replaying_an_idempotency_key_returns_the_same_payout_and_takes_the_money_once(
    gateway: FakeGateway, api: WalletApi, aws_resources: AwsResources
) -> None:
    a_sale(gateway, "cr_ada", 500000)
    with_account(api, "cr_ada")
    body = {"amount": 100000, "currency": "NGN"}
    headers = {"Idempotency-Key": "payout-key-1"}

    first_status, first = api.call("POST", "/wallet/payouts", as_user="cr_ada", body=body, headers=headers)
    second_status, second = api.call("POST", "/wallet/payouts", as_user="cr_ada", body=body, headers=headers)

    assert (first_status, second_status) == (202, 202)
    assert second["id"] == first["id"]
    assert wallets_repo.get_balance("cr_ada", "NGN").available == 475000 - 100000
    _, listed = api.call("GET", "/wallet/payouts", as_user="cr_ada")
    assert len(listed["items"]) == 1


def test_an_idempotency_key_reused_with_another_body_is_422(gateway: FakeGateway, api: WalletApi) -> None:
    a_sale(gateway, "cr_ada", 500000)
    with_account(api, "cr_ada")
    headers = {"Idempotency-Key": "payout-key-2"}
    api.call("POST", "/wallet/payouts", as_user="cr_ada", body={"amount": 100000, "currency": "NGN"}, headers=headers)

    status, body = api.call(
        "POST", "/wallet/payouts", as_user="cr_ada", body={"amount": 150000, "currency": "NGN"}, headers=headers
    )

    assert status == 422
    assert "Idempotency-Key" in body["detail"]
    assert wallets_repo.get_balance("cr_ada", "NGN").available == 475000 - 100000


def test_the_same_idempotency_key_of_two_creators_makes_two_payouts(gateway: FakeGateway, api: WalletApi) -> None:
    for creator in ("cr_ada", "cr_chidi"):
        a_sale(gateway, creator, 500000)
        with_account(api, creator)
    body = {"amount": 100000, "currency": "NGN"}
    headers = {"Idempotency-Key": "shared-key"}

    _, ada = api.call("POST", "/wallet/payouts", as_user="cr_ada", body=body, headers=headers)
    _, chidi = api.call("POST", "/wallet/payouts", as_user="cr_chidi", body=body, headers=headers)

    assert ada["id"] != chidi["id"]
    assert wallets_repo.get_balance("cr_chidi", "NGN").available == 475000 - 100000
