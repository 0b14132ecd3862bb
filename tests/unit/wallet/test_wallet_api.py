"""Wallet API in process (functions/wallet/app.py) against moto: balances, ledger, dashboard, who may see them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from market import clock
from market.gateways.registry import reset_gateways
from market.repositories import wallets as wallets_repo
from market.services import wallet
from tests.fixtures.aws import AwsResources
from tests.fixtures.events import http_event, lambda_context
from tests.fixtures.wallet import FakeGateway, WalletApi, a_sale, install_fake_gateway


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    yield install_fake_gateway()
    reset_gateways()


@pytest.fixture
def api() -> WalletApi:
    return WalletApi()


def test_a_sale_shows_in_the_wallet_as_available_net_of_the_fee(gateway: FakeGateway, api: WalletApi) -> None:
    a_sale(gateway, "cr_ada", 250000)

    status, body = api.call("GET", "/wallet", as_user="cr_ada")

    assert status == 200
    assert body == {
        "balances": [
            {
                "currency": "NGN",
                "available": 237500,
                "pending": 0,
                "on_hold_for_payouts": 0,
                "lifetime_gross": 250000,
                "lifetime_fees": 12500,
                "lifetime_net": 237500,
                "lifetime_paid_out": 0,
            }
        ]
    }
    assert wallet.audit("cr_ada") == []


def test_a_customer_cannot_see_a_wallet(gateway: FakeGateway, api: WalletApi) -> None:
    for path in ("/wallet", "/wallet/ledger", "/creator/dashboard", "/wallet/payouts", "/wallet/payout-account"):
        status, body = api.call("GET", path, as_user="cu_bola", role="customer")
        assert status == 403, path
        assert body["status"] == 403


def test_without_a_token_the_wallet_is_401(gateway: FakeGateway, api: WalletApi) -> None:
    response = api.module.lambda_handler(http_event("GET", "/wallet"), lambda_context())

    assert response["statusCode"] == 401


def test_a_creator_sees_only_their_own_wallet_and_ledger(gateway: FakeGateway, api: WalletApi) -> None:
    a_sale(gateway, "cr_ada", 250000)
    a_sale(gateway, "cr_chidi", 100000, "USD")

    _, ada = api.call("GET", "/wallet", as_user="cr_ada")
    _, chidi = api.call("GET", "/wallet", as_user="cr_chidi")
    _, chidi_ledger = api.call("GET", "/wallet/ledger", as_user="cr_chidi")
    _, stranger = api.call("GET", "/wallet", as_user="cr_nobody")

    assert [b["currency"] for b in ada["balances"]] == ["NGN"]
    assert [b["currency"] for b in chidi["balances"]] == ["USD"]
    assert {e["currency"] for e in chidi_ledger["items"]} == {"USD"}
    assert stranger == {"balances": []}


def test_the_ledger_is_newest_first_signed_and_paged_with_a_cursor(gateway: FakeGateway, api: WalletApi) -> None:
    first = a_sale(gateway, "cr_ada", 100000)
    clock.set_offset(60)
    second = a_sale(gateway, "cr_ada", 200000)

    status, page1 = api.call("GET", "/wallet/ledger", as_user="cr_ada", query={"limit": "3"})
    _, page2 = api.call("GET", "/wallet/ledger", as_user="cr_ada", query={"limit": "3", "cursor": page1["next_cursor"]})

    assert status == 200
    entries = page1["items"] + page2["items"]
    # Newest first: the second sale's two entries, then the first's (one transaction's entries share a time).
    assert [e["order_id"] for e in entries] == [second.id, second.id, first.id, first.id]
    assert {(e["type"], e["amount"]) for e in entries[:2]} == {("sale", 200000), ("fee", -10000)}
    assert {(e["type"], e["amount"]) for e in entries[2:]} == {("sale", 100000), ("fee", -5000)}
    assert max(e["balance_after"] for e in entries[:2]) == 95000 + 200000
    assert set(entries[0]) == {
        "id",
        "type",
        "bucket",
        "amount",
        "currency",
        "order_id",
        "payout_id",
        "created_at",
        "balance_after",
    }
    assert page2["next_cursor"] is None


def test_a_forged_ledger_cursor_is_400(gateway: FakeGateway, api: WalletApi) -> None:
    status, body = api.call("GET", "/wallet/ledger", as_user="cr_ada", query={"cursor": "bm90LWEtY3Vyc29y"})

    assert status == 400
    assert body["status"] == 400


def test_the_dashboard_sums_sales_per_currency_product_and_day(gateway: FakeGateway, api: WalletApi) -> None:
    a_sale(gateway, "cr_ada", 100000, product_id="p_book", product_title="Book")
    a_sale(gateway, "cr_ada", 100000, product_id="p_book", product_title="Book")
    a_sale(gateway, "cr_ada", 300000, product_id="p_course", product_title="Course")
    a_sale(gateway, "cr_ada", 5000, "USD", product_id="p_book", product_title="Book")
    today = clock.now().date().isoformat()

    status, body = api.call("GET", "/creator/dashboard", as_user="cr_ada")

    assert status == 200
    assert body["totals"] == [
        {"currency": "NGN", "sales": 3, "gross": 500000, "fees": 25000, "net": 475000, "refunds": 0},
        {"currency": "USD", "sales": 1, "gross": 5000, "fees": 250, "net": 4750, "refunds": 0},
    ]
    assert {
        (p["product_id"], p["currency"]): (p["title"], p["sales"], p["gross"], p["net"]) for p in body["by_product"]
    } == {
        ("p_course", "NGN"): ("Course", 1, 300000, 285000),
        ("p_book", "NGN"): ("Book", 2, 200000, 190000),
        ("p_book", "USD"): ("Book", 1, 5000, 4750),
    }
    assert [(d["date"], d["currency"], d["sales"]) for d in body["by_day"]] == [(today, "NGN", 3), (today, "USD", 1)]


def test_the_dashboard_range_is_inclusive_and_excludes_other_days(gateway: FakeGateway, api: WalletApi) -> None:
    clock.set_offset(-3 * 86400)
    a_sale(gateway, "cr_ada", 100000)
    clock.set_offset(0)
    a_sale(gateway, "cr_ada", 200000)
    today = clock.now().date()
    three_days_ago = (today - timedelta(days=3)).isoformat()

    _, only_old = api.call(
        "GET", "/creator/dashboard", as_user="cr_ada", query={"from": three_days_ago, "to": three_days_ago}
    )
    _, only_today = api.call("GET", "/creator/dashboard", as_user="cr_ada", query={"from": today.isoformat()})

    assert (only_old["from"], only_old["to"]) == (three_days_ago, three_days_ago)
    assert [t["gross"] for t in only_old["totals"]] == [100000]
    assert [t["gross"] for t in only_today["totals"]] == [200000]


def test_a_reversed_or_too_long_dashboard_range_is_422(gateway: FakeGateway, api: WalletApi) -> None:
    reversed_status, reversed_body = api.call(
        "GET", "/creator/dashboard", as_user="cr_ada", query={"from": "2026-02-02", "to": "2026-02-01"}
    )
    long_status, _ = api.call(
        "GET", "/creator/dashboard", as_user="cr_ada", query={"from": "2020-01-01", "to": "2026-01-01"}
    )
    bad_status, _ = api.call("GET", "/creator/dashboard", as_user="cr_ada", query={"from": "yesterday"})

    assert reversed_status == 422
    assert reversed_body["errors"][0]["field"] == "from"
    assert long_status == 422
    assert bad_status == 422


def test_balances_equal_the_ledger_after_sales(gateway: FakeGateway) -> None:
    for amount in (100000, 123457, 999999):
        a_sale(gateway, "cr_ada", amount)

    sums = wallets_repo.ledger_sums("cr_ada")
    balance = wallets_repo.get_balance("cr_ada", "NGN")

    assert sums[("NGN", "available")] == balance.available
    assert wallet.audit("cr_ada") == []


def test_a_range_ending_in_the_first_days_of_year_one_is_422_not_500(gateway: FakeGateway, api: WalletApi) -> None:
    # Found by the fuzzer: the default 30 days before 0001-01-01 is no date at all.
    status, body = api.call("GET", "/creator/dashboard", as_user="cr_ada", query={"to": "0001-01-01"})

    assert status == 422
    assert body["errors"][0]["field"] == "to"
