"""Fault injection on the Paystack API routes (``/_emulator/faults``).

A fault on an operation answers its next ``count`` calls with an error (``mode: "error"``: a 500, or
``status``, at once, nothing done) or processes them and holds the answer ``seconds`` (``mode: "timeout"``:
what a client with a shorter read timeout sees as a timeout after the work was done).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localdev.paystack.common import PaystackError
from localdev.paystack.http import int_value

FAULT_MODES = ("error", "timeout")


@dataclass
class Fault:
    mode: str
    remaining: int
    status: int = 500
    seconds: float | None = None

    def shape(self) -> dict[str, Any]:
        return {"mode": self.mode, "remaining": self.remaining, "status": self.status, "seconds": self.seconds}


class Faults:
    """At most one fault per operation; ``operations`` are the API route names faults may target."""

    def __init__(self, operations: tuple[str, ...]) -> None:
        self.operations = operations
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()

    def add(self, values: Mapping[str, Any]) -> None:
        operation = values.get("route")
        if operation not in self.operations:
            raise PaystackError(400, f"route must be one of {', '.join(self.operations)}")
        mode = values.get("mode", "error")
        if mode not in FAULT_MODES:
            raise PaystackError(400, "mode must be error or timeout")
        count = int_value(values.get("count", 1), "count")
        status = int_value(values.get("status", 500), "status")
        if not 400 <= status <= 599:
            raise PaystackError(400, "status must be an HTTP error status")
        seconds = values.get("seconds")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)):
            raise PaystackError(400, "seconds must be a number")
        with self._lock:
            self._faults[str(operation)] = Fault(
                str(mode), count, status, float(seconds) if seconds is not None else None
            )

    def take(self, operation: str) -> Fault | None:
        """The fault that applies to this call of ``operation``, if any (and one fewer remaining)."""
        with self._lock:
            fault = self._faults.get(operation)
            if fault is None or fault.remaining <= 0:
                return None
            fault.remaining -= 1
            return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def shape(self) -> dict[str, Any]:
        with self._lock:
            return {operation: fault.shape() for operation, fault in self._faults.items()}
