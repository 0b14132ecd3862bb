"""A batch of one creator's sales applied as one change (``combined``) leaves the wallet exactly where
applying them one by one does: the same buckets and lifetime totals, the same ledger entries in the
same order with the same running ``balance_after``; only the version moves once instead of once per sale.
"""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from market.domain.money import FeePolicy, Money
from market.domain.wallet import Balance, LedgerEntry, WalletChange, combined, sale_change

CREATOR = "cr_prop"
NOW = "2026-01-05T10:30:00.000Z"

sales = st.lists(st.integers(min_value=1, max_value=5_000_000), min_size=1, max_size=40)


def changes_for(amounts: list[int], *, bps: int, held: bool) -> list[WalletChange]:
    policy = FeePolicy(bps=bps, fixed={})
    return [
        sale_change(CREATOR, f"ord_{n}", Money(amount, "NGN"), policy.fee(Money(amount, "NGN")), held=held)
        for n, amount in enumerate(amounts)
    ]


def one_by_one(start: Balance, changes: list[WalletChange]) -> tuple[Balance, list[LedgerEntry]]:
    ids = (f"le_{n}" for n in itertools.count())
    balance, entries = start, []
    for change in changes:
        balance, made = balance.apply(change, now=NOW, new_entry_id=lambda: next(ids))
        entries += made
    return balance, entries


@given(
    amounts=sales,
    bps=st.integers(min_value=0, max_value=10_000),
    held=st.booleans(),
    opening=st.integers(min_value=-1_000_000, max_value=1_000_000),
)
def test_a_combined_batch_ends_where_the_sales_one_by_one_do(
    amounts: list[int], bps: int, held: bool, opening: int
) -> None:
    start = Balance(creator_id=CREATOR, currency="NGN", available=opening, version=7)
    changes = changes_for(amounts, bps=bps, held=held)
    ids = (f"le_{n}" for n in itertools.count())

    together, entries = start.apply(combined(changes), now=NOW, new_entry_id=lambda: next(ids))
    apart, expected_entries = one_by_one(start, changes)

    assert together.version == start.version + 1
    assert together == Balance(**{**apart.__dict__, "version": start.version + 1})
    assert entries == expected_entries
    assert together.lifetime_gross == sum(amounts)
    assert together.lifetime_net == together.lifetime_gross - together.lifetime_fees
