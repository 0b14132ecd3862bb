"""Fixed-window counters in DynamoDB (atomic ``ADD``), expiring through the table's TTL."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from market.domain.errors import TransientError
from market.models.rate_limit import RateCounterItem, rate_pk, window_sk
from market.repositories.transactions import TxOp, backoff, in_conflict

# Counters outlive their window a little, so a late read still finds them; TTL removes them after.
_TTL_MARGIN_SECONDS = 3600
SLOT_LABEL = "rate:"
_CONFLICT_ATTEMPTS = 5  # the label of a counter's item in a transaction: ``rate:<scope>``


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
    """Add ``amount`` to the counter of ``scope``/``key`` in ``window`` (creating it) and return the new count.

    The counters are also items of transactions (``slot``): while one holds the counter, DynamoDB
    refuses this update with a conflict, so it is tried again a few times, then answered 503.
    """
    counter = counter_item(scope, key, window)
    for attempt in range(_CONFLICT_ATTEMPTS):
        try:
            counter.update(actions=[RateCounterItem.hits.add(amount), RateCounterItem.expires_at.set(expiry(window))])
            return int(counter.hits)
        except UpdateError as error:
            if not in_conflict(error):
                raise
            backoff(attempt)
    raise TransientError("The request conflicted with another one; try again.")


def slot(scope: str, key: str, window: Window, limit: int) -> TxOp:
    """One request in the counter of ``scope``/``key``, as an item of a transaction (labelled
    ``rate:<scope>``): its condition fails once the counter already holds ``limit``."""
    counter = counter_item(scope, key, window)

    def add_to(tx: TransactWrite) -> None:
        tx.update(
            counter,
            actions=[RateCounterItem.hits.add(1), RateCounterItem.expires_at.set(expiry(window))],
            condition=under(limit),
        )

    return TxOp(f"{SLOT_LABEL}{scope}", add_to)


def counter_item(scope: str, key: str, window: Window) -> RateCounterItem:
    return RateCounterItem(rate_pk(scope, key), window_sk(window.index))


def under(limit: int) -> Condition:
    """A counter's condition: it holds fewer than ``limit`` (or does not exist yet)."""
    condition: Condition = RateCounterItem.hits.does_not_exist() | (RateCounterItem.hits < limit)
    return condition


def expiry(window: Window) -> int:
    """The TTL (epoch seconds) of a counter of ``window``."""
    return window.ends_at + _TTL_MARGIN_SECONDS


def reset(scope: str, key: str, window: Window) -> None:
    """Forget the counter of ``scope``/``key`` in ``window``."""
    counter_item(scope, key, window).delete()
