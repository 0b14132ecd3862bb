"""Sales counters per creator, per day and per product-day (see ``market.models.wallet``).

Settlement and refunds ADD to them inside their own transactions; the dashboard reads one
key range per view, never a scan.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def add_sales_to_counters(tx: TransactWrite, *, creator_id: str, day: str, sales: Sequence[Counter]) -> None:
    """In ``tx``: several sales of one creator and currency on one ``day`` (each ``Counter`` the
    sales of one product), as ONE update of the day counter and one per product-day counter: a
    transaction may touch an item only once."""
    by_product: dict[str, Counter] = {}
    for sale in sales:
        if sale.product_id is None or sale.day != day:
            raise ValueError("each sale names its product and is of the given day")
        known = by_product.get(sale.product_id)
        by_product[sale.product_id] = sale if known is None else _plus(known, sale)
    currencies = {sale.currency for sale in sales}
    if len(currencies) != 1:
        raise ValueError("the sales of one counter update share one currency")
    (currency,) = currencies
    total = Counter(
        day=day,
        currency=currency,
        sales=sum(sale.sales for sale in sales),
        gross=sum(sale.gross for sale in sales),
        fees=sum(sale.fees for sale in sales),
        net=sum(sale.net for sale in sales),
        refunds=sum(sale.refunds for sale in sales),
    )
    keyed: list[tuple[str, Counter]] = [(f"DAY#{day}#{currency}", total)]
    keyed += [(f"DAYPRODUCT#{day}#{product}#{currency}", sale) for product, sale in by_product.items()]
    for sort_key, counter in keyed:
        actions: list[Action] = [
            SalesCounterItem.creator_id.set(creator_id),
            SalesCounterItem.currency.set(currency),
            SalesCounterItem.day.set(day),
            SalesCounterItem.sales.add(counter.sales),
            SalesCounterItem.gross.add(counter.gross),
            SalesCounterItem.fees.add(counter.fees),
            SalesCounterItem.net.add(counter.net),
            SalesCounterItem.refunds.add(counter.refunds),
        ]
        if counter.product_id is not None and counter.product_title is not None:
            actions += [
                SalesCounterItem.product_id.set(counter.product_id),
                SalesCounterItem.product_title.set(counter.product_title),
            ]
        tx.update(SalesCounterItem(stats_pk(creator_id), sort_key), actions=actions)


def _plus(a: Counter, b: Counter) -> Counter:
    return Counter(
        day=a.day,
        currency=a.currency,
        product_id=a.product_id,
        product_title=b.product_title or a.product_title,
        sales=a.sales + b.sales,
        gross=a.gross + b.gross,
        fees=a.fees + b.fees,
        net=a.net + b.net,
        refunds=a.refunds + b.refunds,
    )


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
