"""Paystack webhooks: the signature, and what an event means in the neutral words of ``events``.

The signature is the lowercase hex HMAC-SHA512 of the raw body, keyed with the secret key. The
webhook receiver imports this at cold start, so it imports nothing but the standard library.
Always check the bytes as received: re-serialised JSON does not match.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from market.gateways.events import EventKind, WebhookEvent, text

SIGNATURE_HEADER = "x-paystack-signature"

_KINDS: dict[str, EventKind] = {
    "charge.success": "payment.succeeded",
    "transfer.success": "transfer.succeeded",
    "transfer.failed": "transfer.failed",
    "transfer.reversed": "transfer.reversed",
    "refund.pending": "refund.pending",
    "refund.processing": "refund.pending",
    "refund.processed": "refund.processed",
    "refund.failed": "refund.failed",
    "refund.needs-attention": "refund.needs_attention",
}


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


def verify(raw_body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    return verify_webhook_signature(raw_body, headers.get(SIGNATURE_HEADER), secret)


def parse(payload: object) -> WebhookEvent | None:
    """The event a signed body reports, or ``None`` for an event we do not act on (or a malformed body)."""
    if not isinstance(payload, dict):
        return None
    name, data = payload.get("event"), payload.get("data")
    kind = _KINDS.get(name) if isinstance(name, str) else None
    if kind is None or not isinstance(data, dict):
        return None
    if kind.startswith("refund."):
        transaction = data.get("transaction")
        reference = text(data.get("transaction_reference")) or (
            text(transaction.get("reference")) if isinstance(transaction, dict) else None
        )
        refund_id = text(data.get("id"))
    else:
        reference, refund_id = text(data.get("reference")), None
    if reference is None:
        return None
    return WebhookEvent(kind=kind, reference=reference, gateway_event=str(name), refund_id=refund_id)
