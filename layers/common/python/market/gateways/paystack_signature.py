"""Paystack webhook signatures: lowercase hex HMAC-SHA512 of the raw body, keyed with the secret key.

The webhook receiver imports this at cold start, so it imports nothing but ``hmac`` and
``hashlib``. Always check the bytes as received: re-serialised JSON does not match.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "x-paystack-signature"


def sign(raw_body: bytes, secret: str) -> str:
    """The signature Paystack sends for ``raw_body``."""
    return hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha512).hexdigest()


def verify_webhook_signature(raw_body: bytes, signature: str | None, secret: str) -> bool:
    """True only when ``signature`` is the HMAC-SHA512 of exactly ``raw_body``; compared in constant time."""
    if not signature or not secret:
        return False
    expected = sign(raw_body, secret).encode("ascii")
    received = signature.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, received)
