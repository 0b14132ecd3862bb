"""The ledger of payouts as GET /wallet/ledger lists it (DESIGN part 2, "Ledger"), and transfer events in any
order: one payout entry of -amount per payout, one payout_reversal of +amount if it fails or is reversed, no
move between the creator's own balances listed as a payout, and the listed entries always summing to
available + pending + on_hold_for_payouts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from market.domain.payout import Payout
from market.repositories import payouts as payouts_repo
from market.services import payouts, wallet
from market.services.payouts import PayoutRequest
from tests.fixtures.aws import AwsResources
from tests.fixtures.wallet import (
    FakeGateway,
    WalletApi,
    a_funded_creator,
    deliver_gateway_event,
    run_payouts_worker,
)

CREATOR = "cr_ada"


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    yield from a_funded_creator(CREATOR)  # 475000 available


@pytest.fixture
def api() -> WalletApi:
    return WalletApi()


def listed(api: WalletApi) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        status, page = api.call(
            "GET", "/wallet/ledger", as_user=CREATOR, query={"limit": "100", **({"cursor": cursor} if cursor else {})}
        )
        assert status == 200
        entries += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return entries


def assert_sum_identity(api: WalletApi) -> dict[str, int]:
    _, body = api.call("GET", "/wallet", as_user=CREATOR)
    (row,) = body["balances"]
    total = row["available"] + row["pending"] + row["on_hold_for_payouts"]
    assert sum(e["amount"] for e in listed(api) if e["currency"] == "NGN") == total
    return row


def payout_entries(api: WalletApi, payout: Payout) -> list[tuple[str, int]]:
    return sorted((e["type"], e["amount"]) for e in listed(api) if e["payout_id"] == payout.id)


def status_of(payout: Payout) -> str:
    stored = payouts_repo.get_payout(payout.id)
    assert stored is not None
    return stored.status


def test_a_paid_payout_is_one_payout_entry_and_the_sum_holds_at_every_step(
    gateway: FakeGateway, api: WalletApi
) -> None:
    # Defect 9 (issue 13): a payout read as +amount into on_hold beside -amount from available.
    payout = payouts.request_payout(PayoutRequest(CREATOR, 200000, "NGN"))
    assert payout_entries(api, payout) == [("payout", -200000)]
    assert assert_sum_identity(api)["available"] == 275000

    run_payouts_worker(payout.id)
    gateway.set_transfer(payout.id, "success")
    deliver_gateway_event("transfer.success", payout.id)

    assert status_of(payout) == "paid"
    assert payout_entries(api, payout) == [("payout", -200000)]
    row = assert_sum_identity(api)
    assert (row["available"], row["on_hold_for_payouts"], row["lifetime_paid_out"]) == (275000, 0, 200000)
    assert not [e for e in listed(api) if e["type"] == "payout" and e["amount"] > 0]
    assert wallet.audit(CREATOR) == []


def test_a_failed_payout_adds_one_reversal_of_plus_amount(gateway: FakeGateway, api: WalletApi) -> None:
    payout = payouts.request_payout(PayoutRequest(CREATOR, 200000, "NGN"))
    run_payouts_worker(payout.id)
    gateway.set_transfer(payout.id, "failed")

    deliver_gateway_event("transfer.failed", payout.id)
    deliver_gateway_event("transfer.failed", payout.id)

    assert payout_entries(api, payout) == [("payout", -200000), ("payout_reversal", 200000)]
    assert assert_sum_identity(api)["available"] == 475000
    assert wallet.audit(CREATOR) == []


def test_transfer_reversed_after_success_brings_the_money_back_once(gateway: FakeGateway, api: WalletApi) -> None:
    payout = payouts.request_payout(PayoutRequest(CREATOR, 200000, "NGN"))
    run_payouts_worker(payout.id)
    gateway.set_transfer(payout.id, "success")
    deliver_gateway_event("transfer.success", payout.id)
    gateway.set_transfer(payout.id, "reversed")

    deliver_gateway_event("transfer.reversed", payout.id)
    deliver_gateway_event("transfer.reversed", payout.id)

    assert status_of(payout) == "reversed"
    assert payout_entries(api, payout) == [("payout", -200000), ("payout_reversal", 200000)]
    row = assert_sum_identity(api)
    assert (row["available"], row["lifetime_paid_out"]) == (475000, 0)


def test_transfer_reversed_arriving_before_transfer_success_settles_the_same(
    gateway: FakeGateway, api: WalletApi
) -> None:
    payout = payouts.request_payout(PayoutRequest(CREATOR, 200000, "NGN"))
    run_payouts_worker(payout.id)
    gateway.set_transfer(payout.id, "reversed")  # it succeeded, then was reversed; the events come newest first

    deliver_gateway_event("transfer.reversed", payout.id)
    deliver_gateway_event("transfer.success", payout.id)

    assert status_of(payout) == "reversed"
    assert payout_entries(api, payout) == [("payout", -200000), ("payout_reversal", 200000)]
    row = assert_sum_identity(api)
    assert (row["available"], row["lifetime_paid_out"]) == (475000, 0)
    assert wallet.audit(CREATOR) == []


def test_a_payout_of_the_old_model_still_settles_out_of_on_hold(gateway: FakeGateway, api: WalletApi) -> None:
    """Payouts requested before this ledger model held their amount in on_hold; they keep that path."""
    from dataclasses import replace

    from market import clock, ids
    from market.domain.wallet import Movement, WalletChange
    from market.repositories import wallets as wallets_repo

    now = clock.iso(clock.now())
    old = Payout(
        id=ids.new_id("po_"),
        creator_id=CREATOR,
        amount=100000,
        currency="NGN",
        status="pending",
        gateway="paystack",
        recipient_code="RCP_old",
        created_at=now,
        updated_at=now,
    )
    held = WalletChange(
        CREATOR,
        "NGN",
        [
            Movement("payout", "available", -100000, payout_id=old.id),
            Movement("payout", "on_hold", 100000, payout_id=old.id),
        ],
    )
    wallets_repo.apply_change(held, [payouts_repo.create_payout_op(replace(old, held=True))])
    assert wallet.audit(CREATOR) == []
    run_payouts_worker(old.id)
    gateway.set_transfer(old.id, "success")

    deliver_gateway_event("transfer.success", old.id)

    row = assert_sum_identity(api)
    assert (row["available"], row["on_hold_for_payouts"]) == (375000, 0)
    assert wallet.audit(CREATOR) == []
