"""Two POST /wallet/payouts with one Idempotency-Key at the same moment, as real DynamoDB answers them
(``tests.fixtures.conflicts`` injects the cancellations moto cannot show; everything else is moto)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from market.domain.payout import Payout
from market.gateways.registry import reset_gateways
from market.repositories import payouts as payouts_repo
from market.repositories import wallets as wallets_repo
from market.services import payouts
from tests.fixtures.aws import AwsResources
from tests.fixtures.conflicts import Conflicts, conflicts  # noqa: F401 - the fixture
from tests.fixtures.wallet import FakeGateway, WalletApi, a_sale, install_fake_gateway

ACCOUNT = {"bank_code": "058", "account_number": "0123456789", "currency": "NGN"}
BODY = {"amount": 100000, "currency": "NGN"}


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    yield install_fake_gateway()
    reset_gateways()


@pytest.fixture
def creator(gateway: FakeGateway) -> str:
    a_sale(gateway, "cr_race", 500000)
    status, body = WalletApi().call("PUT", "/wallet/payout-account", as_user="cr_race", body=ACCOUNT)
    assert status == 200, body
    return "cr_race"


def test_a_conflict_on_the_idempotency_key_answers_the_winners_payout_and_holds_once(
    conflicts: Conflicts,  # noqa: F811 - the fixture
    creator: str,
) -> None:
    winner: list[Payout] = []
    conflicts.left = 100  # contended for every one of the wallet's retries
    conflicts.on_first = lambda: winner.append(
        payouts.request_payout(payouts.PayoutRequest(creator, 100000, "NGN", idempotency_key="race-key"))
    )

    status, body = WalletApi().call(
        "POST", "/wallet/payouts", as_user=creator, body=BODY, headers={"Idempotency-Key": "race-key"}
    )

    assert status == 202, body
    assert body["id"] == winner[0].id
    balance = wallets_repo.get_balance(creator, "NGN")
    assert balance.available == balance.lifetime_net - 100000  # taken out once
    assert len(payouts_repo.list_creator_payouts(creator, 10, None).items) == 1


def test_a_key_claimed_by_a_payout_not_visible_yet_is_409_not_a_500(
    conflicts: Conflicts,  # noqa: F811 - the fixture
    creator: str,
) -> None:
    conflicts.left = 100
    conflicts.code = "ConditionalCheckFailed"

    status, body = WalletApi().call(
        "POST", "/wallet/payouts", as_user=creator, body=BODY, headers={"Idempotency-Key": "held-key"}
    )

    assert status == 409, body
    assert body["type"].endswith("idempotency-key-in-use")
    assert wallets_repo.get_balance(creator, "NGN").on_hold == 0
