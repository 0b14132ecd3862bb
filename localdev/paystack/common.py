"""What every resource of the emulator shares: Paystack's constants and error envelope, and the plumbing
(lock, clock, ids, webhook emitter, scheduler) each resource book is built with."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from localdev.paystack.config import EmulatorConfig

DOMAIN = "test"
INTEGRATION_ID = 100_001
BUSINESS_NAME = "Marketplace (local Paystack emulator)"
CURRENCIES = ("NGN", "GHS", "KES", "ZAR", "USD")
MAX_AMOUNT = 10_000_000 * 100  # Paystack's per-transaction limit, in minor units

_FIRST_IDS = {
    "transaction": 4_000_000_000,
    "customer": 90_000_000,
    "refund": 12_000_000,
    "recipient": 56_000_000,
    "transfer": 860_000_000,
}

Emit = Callable[..., object]
Schedule = Callable[[float, Callable[[], None]], None]
Clock = Callable[[], datetime]


class PaystackError(Exception):
    """An answer in Paystack's error envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        error_type: str | None = None,
        next_step: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.error_type = error_type
        self.next_step = next_step

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": False, "message": self.message}
        if self.next_step:
            body["meta"] = {"nextStep": self.next_step}
        if self.error_type:
            body["type"] = self.error_type
        if self.code:
            body["code"] = self.code
        return body


def bad_request(message: str) -> PaystackError:
    return PaystackError(400, message, error_type="validation_error")


class Ids:
    """Paystack-like integer ids, one sequence per kind of object."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._last = dict(_FIRST_IDS)

    def next(self, kind: str) -> int:
        self._last[kind] += 1
        return self._last[kind]


@dataclass
class Context:
    """The plumbing every resource book shares: one lock for all state (the threaded server calls in from any
    request thread), the settings, the clock, the id sequences, ``emit`` (queues a webhook; never sends inside
    the caller) and ``schedule`` (runs delayed work, forgotten on reset)."""

    lock: threading.RLock
    config: EmulatorConfig
    clock: Clock
    ids: Ids
    emit: Emit
    schedule: Schedule


class Book:
    """One resource's state, built with the shared context; ``reset`` forgets it all."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def _found[K, V](self, table: Mapping[K, V], key: K, what: str) -> V:
        """``table[key]``, or Paystack's 404 ``<what> not found``."""
        with self._ctx.lock:
            item = table.get(key)
        if item is None:
            raise PaystackError(404, f"{what} not found")
        return item


class HasStatus(Protocol):
    status: str


def in_state[T: HasStatus](item: T, states: Collection[str], what: str) -> T:
    """``item`` if its status is one of ``states``; else a 409 ``<what> is already <status>``."""
    if item.status not in states:
        raise PaystackError(409, f"{what} is already {item.status}")
    return item
