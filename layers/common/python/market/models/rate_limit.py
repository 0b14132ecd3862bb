"""Rate counters: one item per scope, key and fixed time window.

- rate counter: PK ``RATE#<scope>#<key>``, SK ``WINDOW#<n>``; hits, expires_at (TTL: the
  window's end plus a margin).

``n`` is ``epoch_seconds // window_seconds`` of ``market.clock``, so a shifted clock
moves to a fresh window.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute

from market.models.base import TableModel


def rate_pk(scope: str, key: str) -> str:
    return f"RATE#{scope}#{key}"


def window_sk(window_index: int) -> str:
    return f"WINDOW#{window_index}"


class RateCounterItem(TableModel):
    hits = NumberAttribute(default=0)
