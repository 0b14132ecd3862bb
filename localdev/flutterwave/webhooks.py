"""Webhook delivery as Flutterwave does it, on a compressed schedule.

Each event is serialised once (compact JSON: ``{"event", "data", "event.type"}``, plus
``meta_data`` for a charge with ``meta``) and exactly those bytes are POSTed with
``Content-Type: application/json`` and ``verif-hash: <secret hash>``: Flutterwave v3 signs
nothing, the receiver compares that header with the hash set on the dashboard. Deliveries run
on a small thread pool, never inside the request that caused them. Only a 200 counts; anything
else (another status, a refused connection, a timeout) is retried after each of
``webhook_retry_delays`` in turn. Every attempt is kept in the delivery log (``GET /_emulator/webhooks``).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localdev.flutterwave.config import EmulatorConfig, flw_time
from localdev.paystack.scheduler import Scheduler

HASH_HEADER = "verif-hash"
WRONG_HASH_SUFFIX = "-not-the-real-hash"


def serialise(payload: dict[str, Any]) -> bytes:
    """Compact JSON, UTF-8: the exact bytes that are sent (and retried)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass
class Attempt:
    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    def shape(self) -> dict[str, Any]:
        return {
            "attempt": self.number,
            "at": flw_time(self.at),
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


@dataclass
class Delivery:
    id: int
    event: str
    subject: str  # "transaction" (charge.completed) or "transfer"
    key: str  # the tx_ref, or the transfer's reference
    transaction_id: int | None  # the attempt a charge.completed is about
    url: str
    body: bytes
    hash_valid: bool
    created_at: datetime
    generation: int
    replay_of: int | None = None
    status: str = "pending"  # pending | delivered | failed
    attempts: list[Attempt] = field(default_factory=list)

    def shape(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "subject": self.subject,
            "reference": self.key,
            "transaction_id": self.transaction_id,
            "url": self.url,
            "verif_hash": "valid" if self.hash_valid else "wrong",
            "status": self.status,
            "created_at": flw_time(self.created_at),
            "replay_of": self.replay_of,
            "attempts": [attempt.shape() for attempt in self.attempts],
            "body": self.body.decode("utf-8"),
            "payload": json.loads(self.body),
        }


class WebhookDispatcher:
    """Sends and retries webhooks with the ``verif-hash`` header; keeps the delivery log."""

    def __init__(
        self,
        *,
        url: str,
        secret_hash: str,
        config: EmulatorConfig,
        clock: Callable[[], datetime],
        scheduler: Scheduler,
        max_workers: int = 8,
    ) -> None:
        self.url = url
        self._secret_hash = secret_hash
        self._config = config
        self._clock = clock
        self._scheduler = scheduler
        self._lock = threading.Lock()
        self._deliveries: dict[int, Delivery] = {}
        self._ids = itertools.count(1)
        self._generation = 0
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="flutterwave-webhook")

    def emit(
        self,
        event: str,
        data: dict[str, Any],
        *,
        event_type: str,
        subject: str,
        key: str,
        transaction_id: int | None = None,
        meta_data: dict[str, Any] | None = None,
    ) -> Delivery:
        """Queue a new event (called under the state's lock: this never blocks on the network)."""
        # Key order as in Flutterwave's samples: a charge carries "event.type" last, a transfer before "data".
        payload: dict[str, Any] = {"event": event}
        if subject == "transfer":
            payload["event.type"] = event_type
        payload["data"] = data
        if meta_data:
            payload["meta_data"] = meta_data
        payload.setdefault("event.type", event_type)
        return self._queue(event, serialise(payload), subject, key, transaction_id)

    def resend(self, original: Delivery, *, times: int = 1, wrong_hash: bool = False) -> list[Delivery]:
        """The same bytes again, as Flutterwave's retries and duplicate deliveries do."""
        return [
            self._queue(
                original.event,
                original.body,
                original.subject,
                original.key,
                original.transaction_id,
                wrong_hash=wrong_hash,
                replay_of=original.id,
            )
            for _ in range(times)
        ]

    def get(self, delivery_id: int) -> Delivery | None:
        with self._lock:
            return self._deliveries.get(delivery_id)

    def last_for(self, subject: str, key: str | None = None, *, transaction_id: int | None = None) -> Delivery | None:
        """The newest original (not resent) delivery about ``key`` (or about that transaction id)."""
        with self._lock:
            for delivery in sorted(self._deliveries.values(), key=lambda item: item.id, reverse=True):
                if delivery.subject != subject or delivery.replay_of is not None:
                    continue
                if key is not None and delivery.key != key:
                    continue
                if transaction_id is not None and delivery.transaction_id != transaction_id:
                    continue
                return delivery
            return None

    def log(self, *, reference: str | None = None, event: str | None = None) -> list[dict[str, Any]]:
        """Deliveries in the order they were created, each with every attempt."""
        with self._lock:
            deliveries = sorted(self._deliveries.values(), key=lambda item: item.id)
            return [
                delivery.shape()
                for delivery in deliveries
                if (reference is None or delivery.key == reference) and (event is None or delivery.event == event)
            ]

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            self._deliveries.clear()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._generation += 1
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _queue(
        self,
        event: str,
        body: bytes,
        subject: str,
        key: str,
        transaction_id: int | None,
        *,
        wrong_hash: bool = False,
        replay_of: int | None = None,
    ) -> Delivery:
        with self._lock:
            delivery = Delivery(
                id=next(self._ids),
                event=event,
                subject=subject,
                key=key,
                transaction_id=transaction_id,
                url=self.url,
                body=body,
                hash_valid=not wrong_hash,
                created_at=self._clock(),
                generation=self._generation,
                replay_of=replay_of,
            )
            self._deliveries[delivery.id] = delivery
            if not self._closed:
                self._pool.submit(self._attempt, delivery, 1)
            return delivery

    def _attempt(self, delivery: Delivery, number: int) -> None:
        if delivery.generation != self._generation:
            return
        secret_hash = self._secret_hash if delivery.hash_valid else self._secret_hash + WRONG_HASH_SUFFIX
        request = urllib.request.Request(
            delivery.url,
            data=delivery.body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                HASH_HEADER: secret_hash,
                "User-Agent": "Flutterwave-Emulator/1.0",
            },
        )
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        try:
            with urllib.request.urlopen(request, timeout=self._config.webhook_timeout_seconds) as response:
                status_code = response.status
                response.read()
        except urllib.error.HTTPError as exc:
            status_code = exc.code
            exc.close()
        except (OSError, ValueError) as exc:  # refused, reset, timed out, bad URL
            error = f"{type(exc).__name__}: {exc}"
        attempt = Attempt(number, self._clock(), status_code, error, int((time.monotonic() - started) * 1000))
        delays = self._config.webhook_retry_delays
        with self._lock:
            if delivery.generation != self._generation:
                return
            delivery.attempts.append(attempt)
            if status_code == 200:
                delivery.status = "delivered"
                return
            if number > len(delays):
                delivery.status = "failed"
                return
        self._scheduler.call_later(delays[number - 1], lambda: self._submit_retry(delivery, number + 1))

    def _submit_retry(self, delivery: Delivery, number: int) -> None:
        with self._lock:
            if self._closed or delivery.generation != self._generation:
                return
            self._pool.submit(self._attempt, delivery, number)
