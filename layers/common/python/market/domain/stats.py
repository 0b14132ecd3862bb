"""Sales figures: the counters settlement and refunds keep per creator, and the dashboard made of them.

Counters are kept on the day the money moved: a sale on the day it was paid, a refund on the day it
was processed (``refunds`` +amount, ``fees`` -the fee returned, ``net`` -(amount - fee returned)), so
net = gross - fees - refunds over any range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from market.domain.errors import FieldError, ValidationFailed

DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class Counter:
    day: str
    currency: str
    product_id: str | None = None
    product_title: str | None = None
    sales: int = 0
    gross: int = 0
    fees: int = 0
    net: int = 0
    refunds: int = 0


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


def date_range(first: date | None, last: date | None, today: date) -> tuple[str, str]:
    """``from``/``to`` (inclusive), defaulting to the last 30 days; 422 when reversed or too long."""
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValidationFailed([FieldError("from", "must not be after 'to'")])
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed([FieldError("from", f"the range may span at most {MAX_DAYS} days")])
    return first.isoformat(), last.isoformat()


def build_dashboard(first_day: str, last_day: str, days: Sequence[Counter], products: Sequence[Counter]) -> Dashboard:
    """Totals per currency and ``by_day`` from the day counters, ``by_product`` from the product-day ones."""
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
