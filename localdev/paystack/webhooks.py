"""Webhook delivery as Paystack does it, on a compressed schedule.

Each event is serialised once (compact JSON) and exactly those bytes are POSTed with
``Content-Type: application/json`` and ``x-paystack-signature`` = hex HMAC-SHA512 of the
bytes keyed with the secret key. Deliveries run on a small thread pool, never inside
the request that caused them. Only a 200 counts; anything else (another status, a
connection error, a timeout) is retried after each of ``webhook_retry_delays`` in turn.
Every attempt is recorded in the delivery log (``GET /_emulator/webhooks``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localdev.paystack.config import EmulatorConfig
from localdev.paystack.formats import paystack_time
from localdev.paystack.scheduler import Scheduler

log = logging.getLogger("localdev.paystack")

SIGNATURE_HEADER = "x-paystack-signature"
FORGED_KEY_SUFFIX = "-not-the-real-key"


def serialise(payload: dict[str, Any]) -> bytes:
    """Compact JSON, UTF-8: the exact bytes that are signed and sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signature(body: bytes, secret_key: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), body, hashlib.sha512).hexdigest()


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
            "at": paystack_time(self.at),
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


@dataclass
class Delivery:
    id: int
    event: str
    subject: str  # "transaction" (charge and refund events) or "transfer"
    reference: str
    url: str
    body: bytes
    signature_valid: bool
    created_at: datetime
    generation: int
    replay_of: int | None = None
    status: str = "pending"  # pending | delivered | failed
    attempts: list[Attempt] = field(default_factory=list)

    def shape(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "reference": self.reference,
            "url": self.url,
            "signature": "valid" if self.signature_valid else "bad",
            "status": self.status,
            "created_at": paystack_time(self.created_at),
            "replay_of": self.replay_of,
            "attempts": [attempt.shape() for attempt in self.attempts],
            "body": self.body.decode("utf-8"),
            "payload": json.loads(self.body),
        }


class WebhookDispatcher:
    """Signs, sends and retries webhooks; keeps the delivery log."""

    def __init__(
        self,
        *,
        url: str,
        secret_key: str,
        config: EmulatorConfig,
        clock: Callable[[], datetime],
        scheduler: Scheduler,
        max_workers: int = 8,
    ) -> None:
        self.url = url
        self._secret_key = secret_key
        self._config = config
        self._clock = clock
        self._scheduler = scheduler
        self._lock = threading.Lock()
        self._deliveries: dict[int, Delivery] = {}
        self._ids = itertools.count(1)
        self._generation = 0
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="paystack-webhook")

    def emit(self, event: str, data: dict[str, Any], *, subject: str, reference: str) -> Delivery:
        """Queue a new event (called by the store, possibly under its lock: this never blocks on the network)."""
        return self._queue(event, serialise({"event": event, "data": data}), subject, reference)

    def resend(self, original: Delivery, *, times: int = 1, bad_signature: bool = False) -> list[Delivery]:
        """Send the same bytes again, as Paystack's retries and duplicate deliveries do."""
        return [
            self._queue(
                original.event,
                original.body,
                original.subject,
                original.reference,
                bad_signature=bad_signature,
                replay_of=original.id,
            )
            for _ in range(times)
        ]

    def get(self, delivery_id: int) -> Delivery | None:
        with self._lock:
            return self._deliveries.get(delivery_id)

    def last_for(self, subject: str, reference: str, event: str | None = None) -> Delivery | None:
        with self._lock:
            for delivery in sorted(self._deliveries.values(), key=lambda item: item.id, reverse=True):
                if delivery.subject != subject or delivery.reference != reference:
                    continue
                if event and delivery.event != event:
                    continue
                if delivery.replay_of is None:
                    return delivery
            return None

    def log(self, *, reference: str | None = None, event: str | None = None) -> list[dict[str, Any]]:
        """Deliveries in the order they were created, each with every attempt."""
        with self._lock:
            deliveries = sorted(self._deliveries.values(), key=lambda item: item.id)
            return [
                delivery.shape()
                for delivery in deliveries
                if (reference is None or delivery.reference == reference) and (event is None or delivery.event == event)
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
        reference: str,
        *,
        bad_signature: bool = False,
        replay_of: int | None = None,
    ) -> Delivery:
        with self._lock:
            delivery = Delivery(
                id=next(self._ids),
                event=event,
                subject=subject,
                reference=reference,
                url=self.url,
                body=body,
                signature_valid=not bad_signature,
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
        key = self._secret_key if delivery.signature_valid else self._secret_key + FORGED_KEY_SUFFIX
        request = urllib.request.Request(
            delivery.url,
            data=delivery.body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(delivery.body, key),
                "User-Agent": "Paystack-Emulator/1.0",
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
