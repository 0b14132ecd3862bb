"""One webhook delivery: the exact bytes, their signature, every attempt; and one attempt over HTTP.

Each event is serialised once (compact JSON) and exactly those bytes are POSTed with
``Content-Type: application/json`` and ``x-paystack-signature`` = hex HMAC-SHA512 of the bytes keyed
with the secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localdev.paystack.formats import paystack_time

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
    delay_seconds: float = 0.0
    status: str = "pending"  # held | pending | delivered | failed
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
            "delay_seconds": self.delay_seconds,
            "attempts": [attempt.shape() for attempt in self.attempts],
            "body": self.body.decode("utf-8"),
            "payload": json.loads(self.body),
        }


def post(delivery: Delivery, secret_key: str, timeout: float) -> tuple[int | None, str | None, int]:
    """POST the delivery's bytes once: (status code or None, error or None, milliseconds taken)."""
    key = secret_key if delivery.signature_valid else secret_key + FORGED_KEY_SUFFIX
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
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status_code = response.status
            response.read()
    except urllib.error.HTTPError as exc:
        status_code = exc.code
        exc.close()
    except (OSError, ValueError) as exc:  # refused, reset, timed out, bad URL
        error = f"{type(exc).__name__}: {exc}"
    return status_code, error, int((time.monotonic() - started) * 1000)
