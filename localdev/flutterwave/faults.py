"""Fault switches (``/_emulator/faults``), as the Paystack emulator has them.

``{"route": <endpoint>, "mode": "error"|"timeout", "count": N, "status"?, "seconds"?}``: the next
N calls of that endpoint answer ``status`` (500) at once in Flutterwave's error envelope, or are
processed and answered only after ``seconds`` (a read timeout as the client sees it: the work
is done, the answer comes too late: a refund or a transfer whose answer was lost).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from localdev.flutterwave.config import bad_request, int_value

MODES = ("error", "timeout")


@dataclass
class Fault:
    mode: str
    remaining: int
    status: int = 500
    seconds: float | None = None

    def shape(self) -> dict[str, Any]:
        return {"mode": self.mode, "remaining": self.remaining, "status": self.status, "seconds": self.seconds}


class FaultSwitches:
    def __init__(self, routes: Iterable[str]) -> None:
        self.routes = tuple(routes)
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()

    def add(self, values: Mapping[str, Any]) -> None:
        route = values.get("route")
        if route not in self.routes:
            raise bad_request(f"route must be one of {', '.join(self.routes)}")
        mode = values.get("mode", "error")
        if mode not in MODES:
            raise bad_request("mode must be error or timeout")
        count = int_value(values.get("count", 1), "count")
        status = int_value(values.get("status", 500), "status")
        if not 400 <= status <= 599:
            raise bad_request("status must be an HTTP error status")
        seconds = values.get("seconds")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)):
            try:
                seconds = float(str(seconds))
            except ValueError as exc:
                raise bad_request("seconds must be a number") from exc
        with self._lock:
            self._faults[str(route)] = Fault(str(mode), count, status, float(seconds) if seconds is not None else None)

    def take(self, route: str) -> Fault | None:
        """The fault for this call of ``route``, if one is armed (and count it down)."""
        with self._lock:
            fault = self._faults.get(route)
            if fault is None or fault.remaining <= 0:
                return None
            fault.remaining -= 1
            return Fault(fault.mode, fault.remaining, fault.status, fault.seconds)

    def shape(self) -> dict[str, Any]:
        with self._lock:
            return {route: fault.shape() for route, fault in self._faults.items()}

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
