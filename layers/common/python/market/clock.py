"""The one source of "now". Tests and the local stack may shift it; production never does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def epoch_seconds() -> int:
    return int(now().timestamp())


def set_offset(seconds: float) -> None:
    """Shift the clock (local stack and tests only: expiry and lockout windows without sleeping)."""
    global _offset
    _offset = timedelta(seconds=seconds)


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a ``Z``, as the API contract writes times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
