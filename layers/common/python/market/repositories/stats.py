"""Sales counters per creator, per day and per product-day (see ``market.models.wallet``).

Settlement and refunds ADD to them inside their own transactions; the dashboard reads one
key range per view, never a scan.
"""

from __future__ import annotations

from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from market.domain.stats import Counter
from market.models.base import to_domain
from market.models.wallet import SalesCounterItem, stats_pk


def add_to_counters(
    tx: TransactWrite,
    *,
    creator_id: str,
    product_id: str,
    product_title: str,
    currency: str,
    day: str,
    sales: int = 0,
    gross: int = 0,
    fees: int = 0,
    net: int = 0,
    refunds: int = 0,
) -> None:
    """In ``tx``: add to the creator's day counter and product-day counter."""
    keys = [
        (f"DAY#{day}#{currency}", None, None),
        (f"DAYPRODUCT#{day}#{product_id}#{currency}", product_id, product_title),
    ]
    for sort_key, product, title in keys:
        actions: list[Action] = [
            SalesCounterItem.creator_id.set(creator_id),
            SalesCounterItem.currency.set(currency),
            SalesCounterItem.day.set(day),
            SalesCounterItem.sales.add(sales),
            SalesCounterItem.gross.add(gross),
            SalesCounterItem.fees.add(fees),
            SalesCounterItem.net.add(net),
            SalesCounterItem.refunds.add(refunds),
        ]
        if product is not None and title is not None:
            actions += [SalesCounterItem.product_id.set(product), SalesCounterItem.product_title.set(title)]
        tx.update(SalesCounterItem(stats_pk(creator_id), sort_key), actions=actions)


def day_counters(creator_id: str, first_day: str, last_day: str) -> list[Counter]:
    """One query: the creator's per-day counters between two ISO dates, inclusive."""
    items = SalesCounterItem.query(
        stats_pk(creator_id), SalesCounterItem.SK.between(f"DAY#{first_day}", f"DAY#{last_day}~")
    )
    return [to_domain(item, Counter) for item in items]


def product_day_counters(creator_id: str, first_day: str, last_day: str) -> list[Counter]:
    """One query: the creator's per-product-per-day counters between two ISO dates, inclusive."""
    items = SalesCounterItem.query(
        stats_pk(creator_id), SalesCounterItem.SK.between(f"DAYPRODUCT#{first_day}", f"DAYPRODUCT#{last_day}~")
    )
    return [to_domain(item, Counter) for item in items]
