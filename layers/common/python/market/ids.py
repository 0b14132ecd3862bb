"""Opaque identifiers."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str = "") -> str:
    """A sortable, unguessable id: milliseconds since epoch (base36) + 80 random bits."""
    millis = int(time.time() * 1000)
    return f"{prefix}{_base36(millis).rjust(9, '0')}{secrets.token_hex(10)}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


def new_token(num_bytes: int = 32) -> str:
    """A URL-safe secret (download links, refresh tokens)."""
    return secrets.token_urlsafe(num_bytes)
