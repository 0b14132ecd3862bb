"""Opaque, tamper-evident page cursors: the DynamoDB ``LastEvaluatedKey``, signed with HMAC-SHA256."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from market.domain.errors import BadRequest
from market.settings import get_settings


def _key(scope: str) -> bytes:
    settings = get_settings()
    secret = settings.cursor_signing_key or settings.jwt_signing_key or settings.table_name
    return hashlib.sha256(f"{secret}|cursor|{scope}".encode()).digest()


def encode_cursor(last_key: dict[str, Any] | None, scope: str) -> str | None:
    """``None`` when there is no next page. ``scope`` binds a cursor to one listing."""
    if not last_key:
        return None
    payload = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_key(scope), payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as error:
        raise BadRequest("The cursor is not valid.") from error
    mac, payload = raw[:16], raw[16:]
    expected = hmac.new(_key(scope), payload, hashlib.sha256).digest()[:16]
    if len(mac) != 16 or not hmac.compare_digest(mac, expected):
        raise BadRequest("The cursor is not valid.")
    try:
        value = json.loads(payload)
    except ValueError as error:
        raise BadRequest("The cursor is not valid.") from error
    if not isinstance(value, dict):
        raise BadRequest("The cursor is not valid.")
    return value
