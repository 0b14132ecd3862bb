"""One background thread that runs callbacks when they are due (webhook retries, delayed settlements)."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("localdev.paystack")


class Scheduler:
    """One background thread that runs callbacks when they are due (retries, delayed settlements)."""

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._condition = threading.Condition()
        self._sequence = itertools.count()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="paystack-emulator-scheduler", daemon=True)
        self._thread.start()

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        with self._condition:
            if self._closed:
                return
            heapq.heappush(self._queue, (time.monotonic() + max(0.0, delay), next(self._sequence), callback))
            self._condition.notify()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._queue.clear()
            self._condition.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._closed and (not self._queue or self._queue[0][0] > time.monotonic()):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._condition.wait(timeout)
                if self._closed:
                    return
                _, _, callback = heapq.heappop(self._queue)
            try:
                callback()
            except Exception:
                log.exception("scheduled emulator task failed")
