"""Fixed-window counters in DynamoDB (atomic ``ADD``), expiring through the table's TTL."""

from __future__ import annotations

from dataclasses import dataclass

from market.models.rate_limit import RateCounterItem, rate_pk, window_sk

# Counters outlive their window a little, so a late read still finds them; TTL removes them after.
_TTL_MARGIN_SECONDS = 3600


@dataclass(frozen=True)
class Window:
    index: int
    ends_at: int  # epoch seconds

    def seconds_left(self, now: int) -> int:
        return max(1, self.ends_at - now)


def window_at(now: int, window_seconds: int) -> Window:
    index = now // window_seconds
    return Window(index=index, ends_at=(index + 1) * window_seconds)


def add(scope: str, key: str, window: Window, amount: int = 1) -> int:
    """Add ``amount`` to the counter of ``scope``/``key`` in ``window`` (creating it) and return the new count."""
    counter = RateCounterItem(rate_pk(scope, key), window_sk(window.index))
    counter.update(
        actions=[
            RateCounterItem.hits.add(amount),
            RateCounterItem.expires_at.set(window.ends_at + _TTL_MARGIN_SECONDS),
        ]
    )
    return int(counter.hits)


def expiry(window: Window) -> int:
    """The TTL (epoch seconds) of a counter of ``window``."""
    return window.ends_at + _TTL_MARGIN_SECONDS


def reset(scope: str, key: str, window: Window) -> None:
    """Forget the counter of ``scope``/``key`` in ``window``."""
    RateCounterItem(rate_pk(scope, key), window_sk(window.index)).delete()
