"""Payout accounts per gateway: for each currency the creator chooses which gateway pays them out
(``PUT /wallet/payout-account {..., gateway?}``, Paystack by default), and a payout in that currency is
transferred by that gateway, whose transfer events alone settle it. Each gateway is a fake of our port.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from market import clock
from market.gateways.registry import override_gateway, reset_gateways
from market.messages import GatewayEventMessage, encode
from market.repositories import payouts as payouts_repo
from market.repositories import wallets as wallets_repo
from market.settings import get_settings
from tests.fixtures.aws import AwsResources
from tests.fixtures.events import lambda_context, load_function
from tests.fixtures.wallet import FakeGateway, WalletApi, a_sale, run_payouts_worker, sqs_event

ACCOUNT = {"bank_code": "044", "account_number": "0690000031", "currency": "NGN"}


@pytest.fixture
def gateways(aws_resources: AwsResources) -> Iterator[dict[str, FakeGateway]]:
    fakes = {"paystack": FakeGateway(name="paystack"), "flutterwave": FakeGateway(name="flutterwave")}
    for name, fake in fakes.items():
        override_gateway(name, fake)  # type: ignore[arg-type]
    yield fakes
    reset_gateways()


@pytest.fixture
def api() -> WalletApi:
    return WalletApi()


def put_account(api: WalletApi, creator: str = "cr_ada", **changes: str) -> tuple[int, dict]:
    return api.call("PUT", "/wallet/payout-account", as_user=creator, body={**ACCOUNT, **changes})


def transfer_event(gateway: str, event: str, payout_id: str) -> str:
    return encode(
        GatewayEventMessage(
            gateway=gateway, event=event, reference=payout_id, received_at=clock.iso(clock.now()), gateway_event=event
        )
    )


def deliver(*bodies: str) -> None:
    response = load_function("functions/webhook/payments.py").lambda_handler(
        sqs_event(*bodies, queue="PaymentsQueue"), lambda_context("PaymentsFunction")
    )
    assert response["batchItemFailures"] == []


def test_an_account_for_flutterwave_is_resolved_and_kept_by_flutterwave(
    gateways: dict[str, FakeGateway], api: WalletApi
) -> None:
    status, body = put_account(api, gateway="flutterwave")
    shown_status, shown = api.call("GET", "/wallet/payout-account", as_user="cr_ada", query={"currency": "NGN"})

    assert status == 200, body
    assert body["gateway"] == "flutterwave"
    assert (shown_status, shown) == (200, body)
    assert gateways["flutterwave"].calls == ["resolve_account", "create_transfer_recipient"]
    assert gateways["paystack"].calls == []
    stored = payouts_repo.get_account("cr_ada", "NGN")
    assert stored is not None
    assert (stored.gateway, stored.recipient_code) == ("flutterwave", "RCP_0440690000031")


def test_each_currency_has_its_own_gateway_and_choosing_again_replaces_it(
    gateways: dict[str, FakeGateway], api: WalletApi
) -> None:
    put_account(api, gateway="flutterwave")
    put_account(api, currency="GHS", bank_code="280100", account_number="1234567890")

    ngn = payouts_repo.get_account("cr_ada", "NGN")
    ghs = payouts_repo.get_account("cr_ada", "GHS")
    assert (ngn and ngn.gateway, ghs and ghs.gateway) == ("flutterwave", "paystack")

    put_account(api, gateway="paystack")
    again = payouts_repo.get_account("cr_ada", "NGN")
    assert again is not None
    assert again.gateway == "paystack"
    assert len(payouts_repo.list_accounts("cr_ada")) == 2


def test_a_payout_goes_through_its_accounts_gateway_and_only_its_events_settle_it(
    gateways: dict[str, FakeGateway], api: WalletApi
) -> None:
    paystack, flutterwave = gateways["paystack"], gateways["flutterwave"]
    a_sale(paystack, "cr_ada", 500_000)  # sold through Paystack, paid out through Flutterwave: one wallet
    put_account(api, gateway="flutterwave")
    status, payout = api.call("POST", "/wallet/payouts", as_user="cr_ada", body={"amount": 200_000, "currency": "NGN"})
    assert status == 202, payout

    run_payouts_worker(payout["id"])
    assert "initiate_transfer" in flutterwave.calls
    assert "initiate_transfer" not in paystack.calls
    assert flutterwave.transfers[payout["id"]].amount == 200_000
    flutterwave.set_transfer(payout["id"], "success")

    deliver(transfer_event("paystack", "transfer.succeeded", payout["id"]))  # another gateway's word: ignored
    assert payouts_repo.get_payout(payout["id"]).status == "processing"  # type: ignore[union-attr]
    deliver(transfer_event("flutterwave", "transfer.succeeded", payout["id"]))

    assert payouts_repo.get_payout(payout["id"]).status == "paid"  # type: ignore[union-attr]
    balance = wallets_repo.get_balance("cr_ada", "NGN")
    assert (balance.available, balance.on_hold, balance.lifetime_paid_out) == (275_000, 0, 200_000)


@pytest.mark.parametrize("gateway", ["bitcoin", "Flutterwave", ""])
def test_an_unknown_gateway_is_422_on_gateway(gateways: dict[str, FakeGateway], api: WalletApi, gateway: str) -> None:
    status, body = put_account(api, gateway=gateway)

    assert status == 422
    assert [error["field"] for error in body["errors"]] == ["gateway"]
    assert gateways["paystack"].calls == gateways["flutterwave"].calls == []
    assert payouts_repo.get_account("cr_ada", "NGN") is None


def test_a_currency_the_gateway_cannot_pay_out_in_is_422_on_gateway(
    gateways: dict[str, FakeGateway], api: WalletApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTED_CURRENCIES", "NGN,UGX")
    get_settings.cache_clear()

    refused = put_account(api, currency="UGX")  # the default gateway, Paystack, has no shillings
    accepted = put_account(api, currency="UGX", gateway="flutterwave")

    assert (refused[0], refused[1]["errors"]) == (422, [{"field": "gateway", "message": "paystack cannot take UGX"}])
    assert (accepted[0], accepted[1]["gateway"]) == (200, "flutterwave")
