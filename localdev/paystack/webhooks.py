"""Webhook delivery as Paystack does it, on a compressed schedule, with the controls tests need.

Deliveries run on a small thread pool, never inside the request that caused them. Only a 200 counts;
anything else (another status, a connection error, a timeout) is retried after each of
``webhook_retry_delays`` in turn. Every attempt is recorded in the delivery log (``GET /_emulator/webhooks``).

For out-of-order and duplicate delivery: a delivery can be sent ``delay`` seconds late, or ``held`` (by the
caller, or by a hold rule matching its event and reference) until released, one by one or all together in
the order asked; copies can be sent ``concurrent``-ly, each on its own thread, all let go at the same
moment.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from localdev.paystack.common import PaystackError
from localdev.paystack.config import EmulatorConfig
from localdev.paystack.deliveries import Attempt, Delivery, post, serialise
from localdev.paystack.scheduler import Scheduler

BARRIER_TIMEOUT_SECONDS = 5.0


class WebhookDispatcher:
    """Signs, sends and retries webhooks; keeps the delivery log and the hold rules."""

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
        self._holds: list[dict[str, str | None]] = []
        self._ids = itertools.count(1)
        self._generation = 0
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="paystack-webhook")

    def emit(
        self, event: str, data: dict[str, Any], *, subject: str, reference: str, delay: float = 0.0, hold: bool = False
    ) -> Delivery:
        """Queue a new event (called by the store, possibly under its lock: this never blocks on the network)."""
        body = serialise({"event": event, "data": data})
        return self._queue(event, body, subject, reference, delay=delay, hold=hold)

    def resend(
        self,
        original: Delivery,
        *,
        times: int = 1,
        bad_signature: bool = False,
        delay: float = 0.0,
        concurrent: bool = False,
    ) -> list[Delivery]:
        """Send the same bytes again, as Paystack's retries and duplicate deliveries do."""
        barrier = threading.Barrier(times, timeout=BARRIER_TIMEOUT_SECONDS) if concurrent else None
        return [
            self._queue(
                original.event,
                original.body,
                original.subject,
                original.reference,
                bad_signature=bad_signature,
                replay_of=original.id,
                delay=delay,
                barrier=barrier,
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

    # --- holds ------------------------------------------------------------------------

    def hold_matching(self, *, event: str | None, reference: str | None) -> None:
        """Hold every new delivery of ``event`` for ``reference`` (either may be None: any)."""
        with self._lock:
            self._holds.append({"event": event, "reference": reference})

    def hold_rules(self) -> list[dict[str, str | None]]:
        with self._lock:
            return [dict(rule) for rule in self._holds]

    def stop_holding(self) -> None:
        """No more holds for new deliveries; those held stay held until released."""
        with self._lock:
            self._holds.clear()

    def release(self, delivery_id: int) -> Delivery:
        with self._lock:
            delivery = self._deliveries.get(delivery_id)
            if delivery is None:
                raise PaystackError(404, "Webhook delivery not found")
            if delivery.status != "held":
                raise PaystackError(409, f"Webhook delivery is {delivery.status}, not held")
        self.release_all([delivery])
        return delivery

    def held(self, *, newest_first: bool = False) -> list[Delivery]:
        with self._lock:
            held = [delivery for delivery in self._deliveries.values() if delivery.status == "held"]
        return sorted(held, key=lambda item: item.id, reverse=newest_first)

    def release_all(self, deliveries: list[Delivery]) -> None:
        """Send these held deliveries one after the other, in this order (first attempts; retries as usual)."""
        with self._lock:
            for delivery in deliveries:
                delivery.status = "pending"
            if not self._closed:
                self._pool.submit(self._attempt_in_order, list(deliveries))

    # --- life -------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            self._deliveries.clear()
            self._holds.clear()

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
        delay: float = 0.0,
        hold: bool = False,
        barrier: threading.Barrier | None = None,
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
                delay_seconds=delay,
            )
            self._deliveries[delivery.id] = delivery
            if hold or any(_matches(rule, delivery) for rule in self._holds):
                delivery.status = "held"
            elif self._closed:
                pass
            elif barrier is not None:
                threading.Thread(target=self._attempt_together, args=(delivery, barrier), daemon=True).start()
            elif delay > 0:
                self._scheduler.call_later(delay, lambda: self._submit_retry(delivery, 1))
            else:
                self._pool.submit(self._attempt, delivery, 1)
            return delivery

    def _attempt_together(self, delivery: Delivery, barrier: threading.Barrier) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # a copy that did not start in time: send anyway
            barrier.wait()
        self._attempt(delivery, 1)

    def _attempt_in_order(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            self._attempt(delivery, 1)

    def _attempt(self, delivery: Delivery, number: int) -> None:
        if delivery.generation != self._generation:
            return
        status_code, error, duration_ms = post(delivery, self._secret_key, self._config.webhook_timeout_seconds)
        attempt = Attempt(number, self._clock(), status_code, error, duration_ms)
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


def _matches(rule: dict[str, str | None], delivery: Delivery) -> bool:
    return (rule["event"] in (None, delivery.event)) and (rule["reference"] in (None, delivery.reference))
