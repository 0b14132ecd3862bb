"""Sweeping a day-partitioned worklist within a time budget, from a persisted cursor.

The reconcilers (pending orders, open refunds) check every marker of their worklist
(``market.repositories.worklists``) again and again until its subject closes. One run:

1. first checks: the markers created since the last run (``fresh_after``, oldest first), with up to
   ``fresh_share`` of the budget, so a new order is looked at soon however large the backlog is;
2. the sweep: from the cursor (day, last sort key) onwards, day after day up to today; at the end of
   today's markers the sweep starts again at the oldest day that still held markers. Only markers
   older than ``cutoff`` are due.

The cursor is saved after every page, so a run that meets its budget (or its timeout) goes on from
there next time: a backlog is worked through run after run, and a marker of any age (after a
downtime of any length) is reached, because a sweep starts at the oldest day that held one.
Each page is checked ``concurrency`` markers at a time (gateway calls are I/O).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from market.domain.errors import AppError
from market.observability import logger
from market.repositories import worklists as worklists_repo
from market.repositories.worklists import Marker, SweepCursor, Worklist

Check = Callable[[Marker], str]


@dataclass(frozen=True)
class SweepReport:
    outcomes: dict[str, int]
    first_checks: int
    checked: int
    sweeps_finished: int
    cursor: SweepCursor


@dataclass(frozen=True)
class Budget:
    seconds: float
    concurrency: int = 8
    fresh_share: float = 0.5
    first_lookback_days: int = 35


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


class _Run:
    def __init__(self, worklist: Worklist, check: Check, cutoff: str, budget: Budget, now: datetime) -> None:
        self.worklist = worklist
        self.check = check
        self.cutoff = cutoff
        self.budget = budget
        self.started = time.monotonic()
        self.today = now.date().isoformat()
        self.page_size = max(1, budget.concurrency) * 2
        self.done: set[str] = set()
        self.outcomes: Counter[str] = Counter()
        self.pool = ThreadPoolExecutor(max_workers=max(1, budget.concurrency), thread_name_prefix="reconcile")
        first_day = (now - timedelta(days=budget.first_lookback_days)).date().isoformat()
        self.cursor = worklists_repo.load_cursor(worklist, first_day)

    def left(self, share: float = 1.0) -> bool:
        return time.monotonic() - self.started < self.budget.seconds * share

    def _one(self, marker: Marker) -> str:
        try:
            return self.check(marker)
        except AppError as error:  # a gateway outage, a refusal: this one waits for the next run
            logger.warning("reconcile check failed", worklist=self.worklist, subject=marker.subject, error=error.slug)
            return "failed"

    def run_page(self, page: list[Marker]) -> None:
        todo = [marker for marker in page if marker.sort_key not in self.done]
        self.done.update(marker.sort_key for marker in todo)
        self.outcomes.update(self.pool.map(self._one, todo))

    def first_checks(self) -> int:
        """Markers after ``fresh_after``, oldest first, within the fresh share of the budget."""
        checked = 0
        after = self.cursor.fresh_after
        day = after[:10] if after else self.cursor.first_day
        while self.left(self.budget.fresh_share) and day <= self.today:
            page = worklists_repo.markers(
                self.worklist, day, after=after if after[:10] == day else "", before=self.cutoff, limit=self.page_size
            )
            if not page:
                day = _next_day(day)
                continue
            self.run_page(page)
            checked += len(page)
            after = page[-1].sort_key
            self.cursor = replace(self.cursor, fresh_after=after)
            worklists_repo.save_cursor(self.cursor)
        return checked

    def sweep(self) -> int:
        """The sweep from the cursor; at most one wrap to the oldest day per run. Returns sweeps finished."""
        finished = 0
        while self.left():
            cursor = self.cursor
            page = worklists_repo.markers(
                self.worklist, cursor.day, after=cursor.after, before=self.cutoff, limit=self.page_size
            )
            if not page:
                if cursor.day >= self.today:
                    self.cursor = cursor.finished_sweep(self.today)
                    worklists_repo.save_cursor(self.cursor)
                    finished += 1
                    break
                self.cursor = replace(cursor, day=_next_day(cursor.day), after="")
                continue
            if not cursor.oldest_seen:
                cursor = replace(cursor, oldest_seen=cursor.day)
            self.run_page(page)
            last = page[-1].sort_key
            # What the sweep checked needs no first check any more (sort keys order across days).
            self.cursor = replace(cursor, after=last, fresh_after=max(cursor.fresh_after, last))
            worklists_repo.save_cursor(self.cursor)
        worklists_repo.save_cursor(self.cursor)
        return finished


def sweep(worklist: Worklist, check: Check, *, cutoff: str, budget: Budget, now: datetime) -> SweepReport:
    """Check the due markers of ``worklist`` (first checks, then the sweep) until the budget is spent."""
    run = _Run(worklist, check, cutoff, budget, now)
    try:
        first = run.first_checks()
        finished = run.sweep()
    finally:
        run.pool.shutdown(wait=True)
    return SweepReport(
        outcomes=dict(run.outcomes),
        first_checks=first,
        checked=len(run.done),
        sweeps_finished=finished,
        cursor=run.cursor,
    )
