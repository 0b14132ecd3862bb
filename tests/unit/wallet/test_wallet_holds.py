"""Hold periods: a sale waits in ``pending`` and the hourly job releases it to ``available`` once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from market import clock
from market.gateways.registry import reset_gateways
from market.repositories import wallets as wallets_repo
from market.services import wallet
from market.settings import get_settings
from tests.fixtures.aws import AwsResources
from tests.fixtures.events import lambda_context, load_function
from tests.fixtures.wallet import FakeGateway, a_sale, install_fake_gateway

DAY = 86400


@pytest.fixture
def gateway(aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGateway]:
    monkeypatch.setenv("HOLD_DAYS", "NGN:1,USD:7")
    get_settings.cache_clear()
    yield install_fake_gateway()
    reset_gateways()
    get_settings.cache_clear()


def run_release_job() -> dict[str, int]:
    result: dict[str, int] = load_function("functions/wallet/release.py").lambda_handler({}, lambda_context())
    return result


def test_a_sale_with_a_hold_period_credits_pending_not_available(gateway: FakeGateway) -> None:
    a_sale(gateway, "cr_ada", 100000)

    balance = wallets_repo.get_balance("cr_ada", "NGN")

    assert (balance.pending, balance.available) == (95000, 0)
    assert wallet.audit("cr_ada") == []


def test_the_release_job_leaves_a_hold_that_is_not_due_yet(gateway: FakeGateway) -> None:
    a_sale(gateway, "cr_ada", 100000)
    clock.set_offset(DAY - 60)

    report = run_release_job()

    assert report["released"] == 0
    assert wallets_repo.get_balance("cr_ada", "NGN").pending == 95000


def test_the_release_job_moves_a_due_sale_to_available_exactly_once(gateway: FakeGateway) -> None:
    order = a_sale(gateway, "cr_ada", 100000)
    a_sale(gateway, "cr_ada", 5000, "USD")  # held 7 days: stays pending
    clock.set_offset(DAY + 60)

    first = run_release_job()
    second = run_release_job()

    ngn = wallets_repo.get_balance("cr_ada", "NGN")
    usd = wallets_repo.get_balance("cr_ada", "USD")
    assert first["released"] == 1
    assert second["released"] == 0
    assert (ngn.pending, ngn.available) == (0, 95000)
    assert (usd.pending, usd.available) == (4750, 0)
    releases = [e for e in wallets_repo.list_ledger("cr_ada", 50, None).items if e.type == "release"]
    assert sorted((e.bucket, e.amount, e.order_id) for e in releases) == [
        ("available", 95000, order.id),
        ("pending", -95000, order.id),
    ]
    assert wallet.audit("cr_ada") == []


def test_a_job_that_was_down_for_days_still_releases_older_holds(gateway: FakeGateway) -> None:
    a_sale(gateway, "cr_ada", 100000)
    clock.set_offset(10 * DAY)

    report = run_release_job()

    assert report["released"] == 1
    assert wallets_repo.get_balance("cr_ada", "NGN").available == 95000
