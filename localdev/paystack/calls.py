"""The log of Paystack API calls the emulator answered (``GET /_emulator/calls``), so a test can assert what
was, or was not, called: every call with its operation, status and the fault that hit it."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from localdev.paystack.formats import paystack_time


@dataclass(frozen=True)
class Call:
    id: int
    operation: str
    method: str
    path: str
    status: int
    fault: str | None
    at: datetime

    def shape(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "at": paystack_time(self.at)}


class CallLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._calls: list[Call] = []
            self._ids = itertools.count(1)

    def record(self, operation: str, method: str, path: str, status: int, fault: str | None, at: datetime) -> None:
        with self._lock:
            self._calls.append(Call(next(self._ids), operation, method, path, status, fault, at))

    def search(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """Oldest first, filtered by ``operation``, ``status`` and ``fault`` (``none`` for calls no fault hit)."""
        wanted = {name: query[name] for name in ("operation", "status", "fault") if query.get(name)}
        with self._lock:
            shapes = [call.shape() for call in self._calls]
        return [item for item in shapes if all(str(item[name]).lower() == value for name, value in wanted.items())]
