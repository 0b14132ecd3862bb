"""The creator's dashboard: sales, gross, fees, net and refunds per currency, per product, per day.

Read from the sales counters that settlement and refunds keep (``market.repositories.stats``):
one query for the day counters (totals and ``by_day``) and one for the product-day counters
(``by_product``); never a scan. Counters are kept on the day the money moved: a sale on the
day it was paid, a refund on the day it was processed (``refunds`` +amount, ``fees`` -the fee
returned, ``net`` -(amount - fee returned)), so net = gross - fees - refunds over any range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from market import clock
from market.errors import FieldError, ValidationFailed
from market.repositories import stats as stats_repo

DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class Totals:
    currency: str
    sales: int
    gross: int
    fees: int
    net: int
    refunds: int


@dataclass(frozen=True)
class ProductTotals:
    product_id: str
    title: str
    currency: str
    sales: int
    gross: int
    net: int
    refunds: int


@dataclass(frozen=True)
class DayTotals:
    date: str
    currency: str
    sales: int
    gross: int
    net: int
    refunds: int


@dataclass(frozen=True)
class Dashboard:
    first_day: str
    last_day: str
    totals: list[Totals]
    by_product: list[ProductTotals]
    by_day: list[DayTotals]


def date_range(first: date | None, last: date | None) -> tuple[str, str]:
    """``from``/``to`` (inclusive), defaulting to the last 30 days; 422 when reversed or too long."""
    today = clock.now().date()
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValidationFailed([FieldError("from", "must not be after 'to'")])
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed([FieldError("from", f"the range may span at most {MAX_DAYS} days")])
    return first.isoformat(), last.isoformat()


def dashboard(creator_id: str, first: date | None = None, last: date | None = None) -> Dashboard:
    first_day, last_day = date_range(first, last)
    days = stats_repo.day_counters(creator_id, first_day, last_day)
    products = stats_repo.product_day_counters(creator_id, first_day, last_day)

    totals: dict[str, list[int]] = {}
    for counter in days:
        row = totals.setdefault(counter.currency, [0, 0, 0, 0, 0])
        for index, value in enumerate((counter.sales, counter.gross, counter.fees, counter.net, counter.refunds)):
            row[index] += value
    by_product: dict[tuple[str, str], list[int]] = {}
    titles: dict[str, str] = {}
    for counter in products:
        product_id = counter.product_id or "unknown"
        titles[product_id] = counter.product_title or titles.get(product_id, "")
        row = by_product.setdefault((product_id, counter.currency), [0, 0, 0, 0])
        for index, value in enumerate((counter.sales, counter.gross, counter.net, counter.refunds)):
            row[index] += value

    return Dashboard(
        first_day=first_day,
        last_day=last_day,
        totals=[Totals(currency, *values) for currency, values in sorted(totals.items())],
        by_product=sorted(
            (ProductTotals(pid, titles.get(pid, ""), cur, *values) for (pid, cur), values in by_product.items()),
            key=lambda p: (-p.gross, p.product_id, p.currency),
        ),
        by_day=sorted(
            (DayTotals(c.day, c.currency, c.sales, c.gross, c.net, c.refunds) for c in days),
            key=lambda d: (d.date, d.currency),
        ),
    )
