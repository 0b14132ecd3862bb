"""Concurrent payout requests on one wallet (threads, in-process moto): never more than the balance.

The HTTP version (20 requests through the local stack) is tests/load/test_concurrent_payouts.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from market.domain.errors import AppError
from market.gateways.registry import reset_gateways
from market.repositories import wallets as wallets_repo
from market.services import payouts, wallet
from market.services.payouts import PayoutRequest
from tests.fixtures.aws import AwsResources
from tests.fixtures.wallet import FakeGateway, a_sale, install_fake_gateway

CREATOR = "cr_ada"


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    fake = install_fake_gateway()
    yield fake
    reset_gateways()


def test_ten_concurrent_payouts_over_a_balance_for_three_accept_exactly_three(gateway: FakeGateway) -> None:
    a_sale(gateway, CREATOR, 350000)  # 332500 available: three payouts of 100000
    payouts.set_payout_account(CREATOR, bank_code="058", account_number="0123456789", currency="NGN")

    def attempt(index: int) -> int:
        try:
            payouts.request_payout(PayoutRequest(CREATOR, 100000, "NGN", f"key-{index}"))
        except AppError as error:
            return error.status
        return 202

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(attempt, range(10)))

    assert sorted(statuses) == [202] * 3 + [409] * 7
    balance = wallets_repo.get_balance(CREATOR, "NGN")
    assert (balance.available, balance.on_hold) == (32500, 0)
    assert wallet.audit(CREATOR) == []
