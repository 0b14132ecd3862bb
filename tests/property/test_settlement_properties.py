"""Settlement properties (hypothesis): whatever order and however often settlement runs over a few
orders, every wallet's ledger sums to its balance and each paid order is credited exactly once.

Each example gets a fresh in-process moto built from template.yaml; the gateway is a fake of our port.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from market.domain.money import platform_fee
from market.domain.order import Order
from market.repositories import wallets as wallets_repo
from market.services import payments
from market.services.payments import Outcome
from market.settings import get_settings
from tests.fixtures.payments import (
    a_pending_order,
    counters,
    delivery_messages,
    fresh_aws,
    install_fake_gateway,
    ledger,
    sale_entries,
    stored_order,
)

# What the gateway says about each order when asked.
AT_GATEWAY = ("paid", "paid", "paid", "underpaid", "abandoned", "failed", "unknown")
CREDITED = {"paid"}
FINAL_STATUS = {"paid": "paid", "underpaid": "failed", "abandoned": "pending", "failed": "failed", "unknown": "pending"}
# How a settle call reaches the order: by reference (the payments consumer), with the order read
# now (verify endpoint, reconciler), or with the copy read before anything ran (a slow consumer).
HOW = ("reference", "fresh", "stale")


@dataclass(frozen=True)
class OrderSpec:
    creator: int
    amount: int
    at_gateway: str


order_specs = st.builds(
    OrderSpec,
    creator=st.integers(0, 1),
    amount=st.integers(100, 5_000_000),
    at_gateway=st.sampled_from(AT_GATEWAY),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[OrderSpec], list[tuple[int, str]], bool]:
    """Orders, then a sequence of (order index, how) settle calls: every order at least once, some many times."""
    orders = draw(st.lists(order_specs, min_size=1, max_size=4))
    extra = draw(st.lists(st.tuples(st.integers(0, len(orders) - 1), st.sampled_from(HOW)), max_size=8))
    firsts = [(index, draw(st.sampled_from(HOW))) for index in range(len(orders))]
    calls = draw(st.permutations(firsts + extra))
    with_hold = draw(st.booleans())
    return orders, list(calls), with_hold


@settings(
    max_examples=15,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
)
@given(scenarios())
def test_any_sequence_of_repeated_settlements_credits_each_paid_order_once(
    scenario: tuple[list[OrderSpec], list[tuple[int, str]], bool],
) -> None:
    specs, calls, with_hold = scenario
    with fresh_aws({"HOLD_DAYS": "NGN:3"} if with_hold else None):
        run_scenario(specs, calls, with_hold)


def run_scenario(specs: list[OrderSpec], calls: list[tuple[int, str]], with_hold: bool) -> None:
    gateway = install_fake_gateway()
    creators = [f"cr_{n}" for n in range(2)]
    orders: list[Order] = []
    for spec in specs:
        order = a_pending_order(creator_id=creators[spec.creator], amount=spec.amount)
        if spec.at_gateway == "paid":
            gateway.pay(order)
        elif spec.at_gateway == "underpaid":
            gateway.pay(order, amount=order.amount - 1)
        elif spec.at_gateway in ("abandoned", "failed"):
            gateway.pay(order, status=spec.at_gateway)
        orders.append(order)

    settled_by: dict[int, int] = {}
    for index, how in calls:
        order = orders[index]
        if how == "reference":
            result = payments.settle_reference(order.gateway, order.reference)
        elif how == "fresh":
            result = payments.settle_order(stored_order(order.id))
        else:
            result = payments.settle_order(order)
        if result.outcome == Outcome.SETTLED:
            settled_by[index] = settled_by.get(index, 0) + 1

    bucket = "pending" if with_hold else "available"
    fee_bps = get_settings().platform_fee_bps
    for creator in creators:
        assert wallets_repo.check_wallet(creator) == [], "the ledger must sum to the balance"
        mine = [(i, s) for i, s in enumerate(specs) if creators[s.creator] == creator]
        expected_net = sum(s.amount - platform_fee(s.amount, fee_bps) for _, s in mine if s.at_gateway in CREDITED)
        balance = wallets_repo.get_balance(creator, "NGN")
        assert balance.bucket(bucket) == expected_net
        assert balance.lifetime_gross == sum(s.amount for _, s in mine if s.at_gateway in CREDITED)
        assert sum(e.amount for e in ledger(creator)) == expected_net
        sales = sum(int(c.sales) for key, c in counters(creator).items() if key.startswith("DAY#"))
        assert sales == sum(1 for _, s in mine if s.at_gateway in CREDITED)

    deliveries = [message["order_id"] for message in delivery_messages()]
    for index, (order, spec) in enumerate(zip(orders, specs, strict=True)):
        credited = spec.at_gateway in CREDITED
        assert len(sale_entries(order.creator_id, order.id)) == (1 if credited else 0)
        assert settled_by.get(index, 0) == (1 if credited else 0)
        assert stored_order(order.id).status == FINAL_STATUS[spec.at_gateway]
        # Every settle call of a paid order hands it to delivery (the first settles, the rest are duplicates).
        assert deliveries.count(order.id) == (sum(1 for i, _ in calls if i == index) if credited else 0)
