"""What every part of the emulator shares: its settings, the error envelope, times and ids."""

from __future__ import annotations

import dataclasses
import itertools
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ACCOUNT_ID = 2_508_309  # the merchant account every object belongs to
PAGE_SIZE = 10
TRANSFER_OUTCOMES = ("successful", "failed", "pending")
REFUND_OUTCOMES = ("completed", "processing")

Clock = Callable[[], datetime]
Emit = Callable[..., object]
Schedule = Callable[[float, Callable[[], None]], None]

_CODE_ALPHABET = string.ascii_lowercase + string.digits


class FlutterwaveError(Exception):
    """An answer in Flutterwave's error envelope: ``{"status": "error", "message": ..., "data": null}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"status": "error", "message": self.message, "data": None}


def bad_request(message: str) -> FlutterwaveError:
    return FlutterwaveError(400, message)


@dataclass
class EmulatorConfig:
    """Knobs of the emulator; all can be changed at run time through ``POST /_emulator/config``."""

    fee_bps: int = 140
    """``app_fee`` of a successful charge: ``fee_bps`` of the amount (half up), capped at ``fee_cap`` (minor units)."""
    fee_cap: int | None = 200_000
    transfer_outcome: str = "successful"
    """How a transfer settles after ``transfer_settle_delay_seconds``: ``successful``, ``failed`` (both with a
    ``transfer.completed`` webhook) or ``pending`` (it stays ``NEW`` until ``/_emulator/transfers/{ref}/...``)."""
    transfer_settle_delay_seconds: float = 0.2
    refund_outcome: str = "completed"
    """``completed`` at once (as Flutterwave's sample answers), or ``processing`` until a control route settles it."""
    send_failed_charge_webhook: bool = True
    """Flutterwave sends ``charge.completed`` for failed attempts too."""
    webhook_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0)
    """Seconds before each retry of a delivery not answered 200 (Flutterwave: 3 retries, 30 minutes apart)."""
    webhook_timeout_seconds: float = 10.0
    fault_timeout_seconds: float = 5.0
    """How long a ``timeout`` fault holds the answer (longer than a client's timeout)."""
    not_found_status: int = 404
    """The HTTP status of "No transaction was found for this id" (and of unknown transfers and refunds)."""

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes``; unknown names or values of the wrong type raise ``FlutterwaveError`` (400)."""
        known = {item.name for item in dataclasses.fields(self)}
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise bad_request(f"Unknown emulator setting: {name}")
            checked[name] = _coerce(name, getattr(self, name), value)
        if checked.get("transfer_outcome", self.transfer_outcome) not in TRANSFER_OUTCOMES:
            raise bad_request(f"transfer_outcome must be one of {', '.join(TRANSFER_OUTCOMES)}")
        if checked.get("refund_outcome", self.refund_outcome) not in REFUND_OUTCOMES:
            raise bad_request(f"refund_outcome must be one of {', '.join(REFUND_OUTCOMES)}")
        if not 400 <= checked.get("not_found_status", self.not_found_status) <= 499:
            raise bad_request("not_found_status must be a 4xx status")
        for name, value in checked.items():
            setattr(self, name, value)

    def restore(self, other: EmulatorConfig) -> None:
        for item in dataclasses.fields(self):
            setattr(self, item.name, getattr(other, item.name))

    def shape(self) -> dict[str, Any]:
        return {
            item.name: list(value) if isinstance(value := getattr(self, item.name), tuple) else value
            for item in dataclasses.fields(self)
        }


def _coerce(name: str, current: Any, value: Any) -> Any:
    if name == "fee_cap" and value is None:
        return None
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(current, tuple):
        if isinstance(value, list | tuple) and all(_is_number(item) for item in value):
            return tuple(float(item) for item in value)
    elif isinstance(current, float):
        if _is_number(value):
            return float(value)
    elif isinstance(current, int) or current is None:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    elif isinstance(current, str) and isinstance(value, str):
        return value
    raise bad_request(f"Invalid value for emulator setting {name}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def flw_time(moment: datetime) -> str:
    """Flutterwave's time format: ``2020-07-06T19:17:04.000Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".000Z"


def text(body: Mapping[str, Any], name: str) -> str:
    """A body field as stripped text (numbers as their digits), "" when absent."""
    value = body.get(name)
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def int_value(value: Any, name: str) -> int:
    """A non-negative integer given as a JSON number or a string of digits, else a 400."""
    if isinstance(value, bool):
        raise bad_request(f"{name} must be an integer")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise bad_request(f"{name} must be an integer")


def random_code(length: int) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


class Ids:
    """Integer ids per kind of object, increasing, each kind from its own (Flutterwave-looking) start."""

    _STARTS = {"transaction": 8_321_000, "customer": 2_571_000, "refund": 75_900, "transfer": 396_400}

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters = {kind: itertools.count(start + 1) for kind, start in self._STARTS.items()}

    def next(self, kind: str) -> int:
        with self._lock:
            return next(self._counters[kind])


def paged(items: list[dict[str, Any]], page_value: str | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Flutterwave's pages: ``meta.page_info`` {total, current_page, total_pages, page_size}."""
    raw = (page_value or "").strip()
    page = int(raw) if raw.isdigit() and int(raw) > 0 else 1
    total_pages = max(1, -(-len(items) // PAGE_SIZE))
    chunk = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    info = {"total": len(items), "current_page": page, "total_pages": total_pages, "page_size": PAGE_SIZE}
    return chunk, {"page_info": info}
