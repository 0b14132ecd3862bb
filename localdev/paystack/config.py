"""The emulator's knobs (``EmulatorConfig``), changeable at run time through ``POST /_emulator/config``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localdev.paystack.common import bad_request

TRANSFER_OUTCOMES = ("success", "failed", "pending")


@dataclass
class EmulatorConfig:
    """Knobs of the emulator; all can be changed at run time through ``POST /_emulator/config``."""

    fee_bps: int = 150
    """Paystack's fee reported by verify: ``fee_bps`` of the paid amount (half-up) + ``fee_flat``, capped."""
    fee_flat: int = 0
    fee_cap: int | None = 200_000
    auto_process_refunds: bool = True
    """Refunds become ``processed`` (and ``refund.processed`` is sent) ``refund_delay_seconds`` after creation.
    Off: they stay ``pending`` until ``POST /_emulator/refunds/{id}/process`` or ``/fail``."""
    refund_delay_seconds: float = 0.2
    send_refund_pending_webhook: bool = True
    refund_webhook_amount_as_string: bool = False
    """Some Paystack samples carry the refund amount as a string; turn on to exercise a consumer with it."""
    transfer_outcome: str = "success"
    """``success`` (test transfers always succeed), ``failed`` (settles failed after the delay) or ``pending``."""
    transfer_settle_delay_seconds: float = 0.0
    transfers_require_otp: bool = False
    webhook_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    """Seconds before each retry of a delivery not answered 200 (Paystack test mode: hourly for 10 h)."""
    webhook_timeout_seconds: float = 10.0
    fault_timeout_seconds: float = 5.0
    """How long a ``timeout`` fault holds the answer (longer than the client's timeout)."""
    unknown_reference_status: int = 404

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes``; unknown names or values of the wrong type raise ``PaystackError`` (400)."""
        known = {item.name: item for item in dataclasses.fields(self)}
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise bad_request(f"Unknown emulator setting: {name}")
            checked[name] = _coerce_setting(name, getattr(self, name), value)
        if checked.get("transfer_outcome", self.transfer_outcome) not in TRANSFER_OUTCOMES:
            raise bad_request(f"transfer_outcome must be one of {', '.join(TRANSFER_OUTCOMES)}")
        for name, value in checked.items():
            setattr(self, name, value)

    def restore(self, other: EmulatorConfig) -> None:
        for item in dataclasses.fields(self):
            setattr(self, item.name, getattr(other, item.name))

    def shape(self) -> dict[str, Any]:
        return {item.name: _jsonable(getattr(self, item.name)) for item in dataclasses.fields(self)}


def _coerce_setting(name: str, current: Any, value: Any) -> Any:
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
    elif isinstance(current, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(current, str) and isinstance(value, str):
        return value
    raise bad_request(f"Invalid value for emulator setting {name}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
