"""Opaque, tamper-evident page cursors: the DynamoDB ``LastEvaluatedKey``, signed with HMAC-SHA256.

The key is an SSM SecureString on AWS (``CURSOR_SIGNING_KEY_PARAMETER``; its current version signs, the
previous one still verifies, see ``market.keys``), or ``CURSOR_SIGNING_KEY`` locally. Nothing else: a
key derived from a public name (the table's) would let anyone forge cursors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from market.domain.errors import BadRequest
from market.keys import KeySet, MissingKey, key_set
from market.settings import get_settings


def _secrets() -> KeySet:
    settings = get_settings()
    if settings.cursor_signing_key:
        return KeySet(settings.cursor_signing_key)
    if settings.cursor_signing_key_parameter:
        return key_set(settings.cursor_signing_key_parameter, settings.jwt_key_max_age_seconds)
    raise MissingKey("CURSOR_SIGNING_KEY or CURSOR_SIGNING_KEY_PARAMETER must be set")


def _derive(secret: str, scope: str) -> bytes:
    return hashlib.sha256(f"{secret}|cursor|{scope}".encode()).digest()


def _key(scope: str) -> bytes:
    return _derive(_secrets().current, scope)


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
    if len(mac) != 16 or not any(
        hmac.compare_digest(mac, hmac.new(_derive(secret, scope), payload, hashlib.sha256).digest()[:16])
        for secret in _secrets().verifying
    ):
        raise BadRequest("The cursor is not valid.")
    try:
        value = json.loads(payload)
    except ValueError as error:
        raise BadRequest("The cursor is not valid.") from error
    if not isinstance(value, dict):
        raise BadRequest("The cursor is not valid.")
    return value
