"""The creator's dashboard: sales, gross, fees, net and refunds per currency, per product, per day.

Read from the sales counters that settlement and refunds keep (``market.repositories.stats``):
one query for the day counters (totals and ``by_day``) and one for the product-day counters
(``by_product``); never a scan. The figures are computed by ``market.domain.stats``.
"""

from __future__ import annotations

from datetime import date

from market import clock
from market.domain.stats import Dashboard, build_dashboard, date_range
from market.repositories import stats as stats_repo


def dashboard(creator_id: str, first: date | None = None, last: date | None = None) -> Dashboard:
    first_day, last_day = date_range(first, last, clock.now().date())
    days = stats_repo.day_counters(creator_id, first_day, last_day)
    products = stats_repo.product_day_counters(creator_id, first_day, last_day)
    return build_dashboard(first_day, last_day, days, products)
