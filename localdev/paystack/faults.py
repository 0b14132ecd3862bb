"""Fault injection on the Paystack API routes (``/_emulator/faults``), one fault per operation.

Modes: ``error`` answers a 500 (or ``status``) at once and does nothing; ``timeout`` does the work and
holds the answer ``seconds`` (what a client with a shorter read timeout sees as a timeout after the work was
done); ``lost`` does the work and then answers a 500 (or ``status``): the answer is lost, the effect is not.

A fault applies to the next ``count`` calls (default 1). With ``probability`` it applies to each call with
that chance, drawn from ``random.Random(seed)`` (``seed`` default 0), so a storm is the same on every run;
``count`` then caps how many calls it fails (default: no cap, until cleared).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from localdev.paystack.common import PaystackError
from localdev.paystack.http import int_value

FAULT_MODES = ("error", "timeout", "lost")


@dataclass
class Fault:
    mode: str
    remaining: int | None  # None: no cap
    status: int = 500
    seconds: float | None = None
    probability: float | None = None
    seed: int = 0
    injected: int = 0
    _draws: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._draws.seed(self.seed)

    def applies(self) -> bool:
        """Whether this call fails (and count it)."""
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.probability is not None and self._draws.random() >= self.probability:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        self.injected += 1
        return True

    def shape(self) -> dict[str, Any]:
        shape: dict[str, Any] = {"mode": self.mode, "remaining": self.remaining, "status": self.status}
        shape["seconds"] = self.seconds
        if self.probability is not None:
            shape.update(probability=self.probability, seed=self.seed, injected=self.injected)
        return shape


class Faults:
    """The faults by operation; ``operations`` are the API operation names faults may target."""

    def __init__(self, operations: tuple[str, ...]) -> None:
        self.operations = operations
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()

    def add(self, values: Mapping[str, Any]) -> None:
        """``operation`` (or ``route``), ``mode``, ``count``, ``status``, ``seconds``, ``probability``, ``seed``."""
        operation = values.get("operation", values.get("route"))
        if operation not in self.operations:
            raise PaystackError(400, f"route must be one of {', '.join(self.operations)}")
        mode = values.get("mode", "error")
        if mode not in FAULT_MODES:
            raise PaystackError(400, f"mode must be one of {', '.join(FAULT_MODES)}")
        probability = _number(values.get("probability"), "probability")
        if probability is not None and not 0 < probability <= 1:
            raise PaystackError(400, "probability must be more than 0 and at most 1")
        count = values.get("count")
        remaining = (
            None if count is None and probability is not None else int_value(1 if count is None else count, "count")
        )
        status = int_value(values.get("status", 500), "status")
        if not 400 <= status <= 599:
            raise PaystackError(400, "status must be an HTTP error status")
        fault = Fault(
            str(mode),
            remaining,
            status,
            seconds=_number(values.get("seconds"), "seconds"),
            probability=probability,
            seed=int_value(values.get("seed", 0), "seed"),
        )
        with self._lock:
            self._faults[str(operation)] = fault

    def take(self, operation: str) -> Fault | None:
        """The fault that applies to this call of ``operation``, if any."""
        with self._lock:
            fault = self._faults.get(operation)
            return fault if fault is not None and fault.applies() else None

    def clear(self, operation: str | None = None) -> None:
        with self._lock:
            if operation is None:
                self._faults.clear()
            else:
                self._faults.pop(operation, None)

    def shape(self) -> dict[str, Any]:
        with self._lock:
            return {operation: fault.shape() for operation, fault in self._faults.items()}


def _number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PaystackError(400, f"{name} must be a number")
    try:
        return float(value)
    except ValueError as exc:
        raise PaystackError(400, f"{name} must be a number") from exc
