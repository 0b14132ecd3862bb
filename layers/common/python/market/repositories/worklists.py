"""Day-partitioned worklists (pending orders, open refunds) and the persisted cursor of their sweeps.

A worklist holds one marker per open subject in ``<prefix><yyyy-mm-dd>`` / ``<created_at>#<subject>``
(``market.models.order.PendingOrderMarker``, ``market.models.refund.OpenRefundMarker``); the
transaction that closes the subject deletes its marker. A scheduled job pages through the markers
with ``markers`` and keeps where it is in ``RECONCILER#<worklist>`` / ``CURSOR`` (``load_cursor``,
``save_cursor``), so a run that stops at its time budget goes on from there the next time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from pynamodb.exceptions import DoesNotExist

from market import clock
from market.models.order import CURSOR_SK, PendingOrderMarker, ReconcilerCursorItem, pending_pk, reconciler_pk
from market.models.refund import OpenRefundMarker, open_refund_pk

Worklist = Literal["pending-orders", "open-refunds"]


@dataclass(frozen=True)
class Marker:
    sort_key: str  # "<created_at>#<subject>"
    subject: str  # the order id; "<order id>#<refund id>" for a refund
    created_at: str


@dataclass(frozen=True)
class SweepCursor:
    """Where a worklist's sweep is: ``day`` and the last sort key done there; the day a sweep starts at
    (``first_day``: the oldest that may hold markers) and the oldest seen holding one in this sweep;
    ``fresh_after``: the newest marker given its first check (sort key order across days)."""

    worklist: str
    first_day: str
    day: str
    after: str = ""
    oldest_seen: str = ""
    fresh_after: str = ""
    sweeps: int = 0

    def finished_sweep(self, today: str) -> SweepCursor:
        """The cursor at the start of the next sweep: from the oldest day that still held markers, and never
        after the newest marker given a first check (a new one is never older than that, even when a
        shifted clock went back)."""
        start = min(self.oldest_seen or today, self.fresh_after[:10] or today, today)
        return replace(self, first_day=start, day=start, after="", oldest_seen="", sweeps=self.sweeps + 1)


def load_cursor(worklist: Worklist, first_day: str) -> SweepCursor:
    """The stored cursor, or a new one starting at ``first_day``."""
    try:
        item = ReconcilerCursorItem.get(reconciler_pk(worklist), CURSOR_SK, consistent_read=True)
    except DoesNotExist:
        return SweepCursor(worklist=worklist, first_day=first_day, day=first_day, fresh_after=first_day)
    return SweepCursor(
        worklist=worklist,
        first_day=item.first_day,
        day=item.day,
        after=item.after or "",
        oldest_seen=item.oldest_seen or "",
        fresh_after=item.fresh_after or "",
        sweeps=int(item.sweeps or 0),
    )


def save_cursor(cursor: SweepCursor) -> None:
    """Keep the cursor (the last writer wins: two overlapping runs only repeat some checks)."""
    ReconcilerCursorItem(
        reconciler_pk(cursor.worklist),
        CURSOR_SK,
        worklist=cursor.worklist,
        first_day=cursor.first_day,
        day=cursor.day,
        after=cursor.after or None,
        oldest_seen=cursor.oldest_seen or None,
        fresh_after=cursor.fresh_after or None,
        sweeps=cursor.sweeps,
        updated_at=clock.iso(clock.now()),
    ).save()


def markers(worklist: Worklist, day: str, *, after: str, before: str, limit: int) -> list[Marker]:
    """Up to ``limit`` markers of ``day`` with ``after < sort key < before``, oldest first."""
    if worklist == "pending-orders":
        pending = PendingOrderMarker.query(
            pending_pk(day),
            PendingOrderMarker.SK.between(after + "\x00", before) if after else PendingOrderMarker.SK < before,  # noqa: SIM300 - a pynamodb condition
            consistent_read=True,
            limit=limit,
        )
        found = [Marker(item.SK, item.order_id, item.created_at) for item in pending]
    else:
        refunds = OpenRefundMarker.query(
            open_refund_pk(day),
            OpenRefundMarker.SK.between(after + "\x00", before) if after else OpenRefundMarker.SK < before,  # noqa: SIM300 - a pynamodb condition
            consistent_read=True,
            limit=limit,
        )
        found = [Marker(item.SK, f"{item.order_id}#{item.refund_id}", item.created_at) for item in refunds]
    # ``between`` is inclusive of ``before``: the cut-off itself is not due yet.
    return [marker for marker in found[:limit] if marker.sort_key < before]
