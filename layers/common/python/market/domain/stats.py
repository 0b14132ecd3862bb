"""Sales figures: the counters settlement and refunds keep per creator, and the dashboard made of them.

Counters are kept on the day the money moved: a sale on the day it was paid, a refund on the day it
was processed (``refunds`` +amount, ``fees`` -the fee returned, ``net`` -(amount - fee returned)), so
net = gross - fees - refunds over any range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
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


@dataclass(frozen=True, kw_only=True)
class Figures:
    """What every dashboard row counts (gross and net in minor units)."""

    sales: int = 0
    gross: int = 0
    net: int = 0
    refunds: int = 0


@dataclass(frozen=True, kw_only=True)
class Totals(Figures):
    currency: str
    fees: int = 0


@dataclass(frozen=True, kw_only=True)
class ProductTotals(Figures):
    product_id: str
    title: str
    currency: str


@dataclass(frozen=True, kw_only=True)
class DayTotals(Figures):
    date: str
    currency: str


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
    if first is None:
        if last - date.min < timedelta(days=DEFAULT_DAYS - 1):
            raise ValidationFailed([FieldError("to", f"must be at least {DEFAULT_DAYS} days after year 1")])
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValidationFailed([FieldError("from", "must not be after 'to'")])
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed([FieldError("from", f"the range may span at most {MAX_DAYS} days")])
    return first.isoformat(), last.isoformat()


def build_dashboard(first_day: str, last_day: str, days: Sequence[Counter], products: Sequence[Counter]) -> Dashboard:
    """Totals per currency and ``by_day`` from the day counters, ``by_product`` from the product-day ones."""
    totals: dict[str, Counter] = {}
    for counter in days:
        totals[counter.currency] = _add(totals.get(counter.currency), counter)
    by_product: dict[tuple[str, str], Counter] = {}
    titles: dict[str, str] = {}
    for counter in products:
        product_id = counter.product_id or "unknown"
        titles[product_id] = counter.product_title or titles.get(product_id, "")
        by_product[(product_id, counter.currency)] = _add(by_product.get((product_id, counter.currency)), counter)

    return Dashboard(
        first_day=first_day,
        last_day=last_day,
        totals=[Totals(currency=cur, fees=c.fees, **_figures(c)) for cur, c in sorted(totals.items())],
        by_product=sorted(
            (
                ProductTotals(product_id=pid, title=titles.get(pid, ""), currency=cur, **_figures(c))
                for (pid, cur), c in by_product.items()
            ),
            key=lambda p: (-p.gross, p.product_id, p.currency),
        ),
        by_day=sorted(
            (DayTotals(date=c.day, currency=c.currency, **_figures(c)) for c in days),
            key=lambda d: (d.date, d.currency),
        ),
    )


def _add(total: Counter | None, counter: Counter) -> Counter:
    if total is None:
        return counter
    return replace(
        total,
        sales=total.sales + counter.sales,
        gross=total.gross + counter.gross,
        fees=total.fees + counter.fees,
        net=total.net + counter.net,
        refunds=total.refunds + counter.refunds,
    )


def _figures(counter: Counter) -> dict[str, int]:
    return {"sales": counter.sales, "gross": counter.gross, "net": counter.net, "refunds": counter.refunds}
