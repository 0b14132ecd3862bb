"""Money properties over any sequence of sales, hold releases, payouts (paid, failed, reversed) and
refunds, run by the real services on in-process moto with a fake of the gateway port:

- every balance equals the sum of its ledger, and ``on_hold`` equals what payouts in flight hold there
  (nothing, since a payout's money leaves at the request); the listed entries sum to
  available + pending + on_hold; no refund's reservation is left once it settled;
- a payout is accepted only when ``available`` covers it, and never leaves ``available`` below zero
  (only a refund may do that);
- lifetime net is always gross - fees - refunds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market import clock
from market.domain.errors import AppError
from market.domain.order import Order
from market.domain.user import Caller
from market.gateways.registry import reset_gateways
from market.repositories import refunds as refunds_repo
from market.repositories import wallets as wallets_repo
from market.services import payouts, refunds, wallet
from market.services.payouts import PayoutRequest
from market.settings import get_settings
from tests.fixtures.aws import AwsResources
from tests.fixtures.wallet import FakeGateway, a_sale, install_fake_gateway

DAY = 86400


@dataclass(frozen=True)
class Sale:
    amount: int


@dataclass(frozen=True)
class NextDay:
    pass


@dataclass(frozen=True)
class Payout:
    amount: int


@dataclass(frozen=True)
class Transfer:
    which: int
    outcome: str  # success, failed, reversed


@dataclass(frozen=True)
class RefundOf:
    which: int
    percent: int


steps = st.one_of(
    st.builds(Sale, st.integers(min_value=10_000, max_value=2_000_000)),
    st.just(NextDay()),
    st.builds(Payout, st.integers(min_value=50_000, max_value=2_000_000)),
    st.builds(Transfer, st.integers(min_value=0, max_value=20), st.sampled_from(["success", "failed", "reversed"])),
    st.builds(RefundOf, st.integers(min_value=0, max_value=20), st.integers(min_value=1, max_value=100)),
)


@pytest.fixture
def gateway(aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGateway]:
    monkeypatch.setenv("HOLD_DAYS", "NGN:1")
    # Every NextDay step runs the release job, so it never needs to look further back than a day or two
    # (and each day looked back is one query: fewer keep the examples fast).
    monkeypatch.setattr(wallet, "RELEASE_LOOKBACK_DAYS", 2)
    get_settings.cache_clear()
    yield install_fake_gateway()
    reset_gateways()
    get_settings.cache_clear()


class World:
    def __init__(self, gateway: FakeGateway) -> None:
        self.gateway = gateway
        self.creator = f"cr_{uuid.uuid4().hex[:12]}"
        self.sales: list[Order] = []
        self.payout_ids: list[str] = []
        self.day = 0
        clock.set_offset(0)
        payouts.set_payout_account(self.creator, bank_code="058", account_number="0123456789", currency="NGN")

    def available(self) -> int:
        return wallets_repo.get_balance(self.creator, "NGN").available

    def apply(self, step: object) -> None:
        if isinstance(step, Sale):
            self.sales.append(a_sale(self.gateway, self.creator, step.amount, buyer_id=f"cu_{len(self.sales)}"))
        elif isinstance(step, NextDay):
            self.day += 1
            clock.set_offset(self.day * DAY + 60)
            wallet.release_due_holds()
        elif isinstance(step, Payout):
            self.payout(step.amount)
        elif isinstance(step, Transfer) and self.payout_ids:
            self.transfer(self.payout_ids[step.which % len(self.payout_ids)], step.outcome)
        elif isinstance(step, RefundOf) and self.sales:
            self.refund(self.sales[step.which % len(self.sales)], step.percent)

    def payout(self, amount: int) -> None:
        before = self.available()
        try:
            payout = payouts.request_payout(PayoutRequest(self.creator, amount, "NGN"))
        except AppError as error:
            refused = error.status
        else:
            refused = None
        if refused is not None:
            assert refused in (409, 422)
            assert amount > before or amount < 100_000
            return
        assert before >= amount
        assert self.available() == before - amount >= 0
        self.payout_ids.append(payout.id)
        payouts.process_payout(payout.id)

    def transfer(self, payout_id: str, outcome: str) -> None:
        if payout_id not in self.gateway.transfers:
            return
        current = self.gateway.transfers[payout_id].status
        if outcome == "reversed" and current != "success":
            return  # only a paid transfer can be reversed
        if outcome != "reversed" and current != "pending":
            return
        self.gateway.set_transfer(payout_id, outcome)
        payouts.sync_transfer("paystack", payout_id)
        payouts.sync_transfer("paystack", payout_id)  # webhooks repeat

    def refund(self, order: Order, percent: int) -> None:
        remaining = order.amount - refunds_repo.get_totals(order.id).committed
        amount = max(1, remaining * percent // 100)
        try:
            refund = refunds.request_refund(Caller(self.creator, "creator"), order.id, amount)
        except AppError as error:
            refused = error.status
        else:
            refused = None
        if refused is not None:
            assert refused == 409  # nothing left to refund, or the order is fully refunded
            return
        assert refund.gateway_refund_id is not None
        self.gateway.settle_refund(refund.gateway_refund_id)
        refunds.on_refund_event("paystack", order.reference)
        refunds.on_refund_event("paystack", order.reference)  # webhooks repeat

    def check(self) -> None:
        assert wallet.audit(self.creator) == []
        balance = wallets_repo.get_balance(self.creator, "NGN")
        assert balance.pending >= 0
        assert balance.on_hold == 0
        assert balance.reserved == 0  # every refund here settles at once
        sums = wallets_repo.ledger_sums(self.creator)
        assert sum(sums.values()) == balance.available + balance.pending + balance.on_hold
        assert balance.lifetime_net == balance.lifetime_gross - balance.lifetime_fees - balance.lifetime_refunds


def empty_the_table(table_name: str) -> None:
    """moto copies every table on each transaction: an empty table keeps every example as fast as the first."""
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(table_name)
    keys = [{"PK": i["PK"], "SK": i["SK"]} for i in table.scan(ProjectionExpression="PK, SK")["Items"]]
    with table.batch_writer() as batch:
        for key in keys:
            batch.delete_item(Key=key)


@given(st.lists(steps, min_size=1, max_size=10))
def test_balances_always_equal_the_ledger_and_payouts_never_overdraw(
    gateway: FakeGateway, aws_resources: AwsResources, program: list[object]
) -> None:
    world = World(gateway)
    try:
        for step in program:
            world.apply(step)
            world.check()
    finally:
        empty_the_table(aws_resources.table_name)
