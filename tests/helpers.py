"""Test helpers shared by every test layer."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until[T](
    check: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns something truthy, or fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: T = check()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)
        last = check()
    return last
