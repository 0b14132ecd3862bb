"""Flutterwave v3 webhooks: the ``verif-hash`` check, and what an event means in the neutral words of ``events``.

Flutterwave v3 does not sign the body: every webhook carries the secret hash set on the dashboard in
the ``verif-hash`` header, as it is. So the check is a constant-time comparison of that header with
the hash, and a body that passes it is still only a hint: the consumer asks Flutterwave's API for the
facts (by transaction id, then by ``tx_ref``). Flutterwave's source addresses change: nothing here
(or anywhere) allow-lists IPs.

Bodies vary in the wild: ``{"event": "charge.completed", "data": {...}, "event.type": "..."}`` is the
documented v3 shape, but older hooks put the fields at the top level (``txRef``, ``status``, no
``event``), and ``created_at`` is sometimes ``createdAt``. ``parse`` accepts what it can read and
answers ``None`` (acknowledged, not queued) for anything else; it never raises. Standard library only:
the webhook receiver imports this at cold start.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from market.gateways.events import EventKind, WebhookEvent, text

HASH_HEADER = "verif-hash"
CHARGE_COMPLETED = "charge.completed"
TRANSFER_COMPLETED = "transfer.completed"


def verify(raw_body: bytes, headers: Mapping[str, str], secret_hash: str) -> bool:
    """True only when the ``verif-hash`` header equals the secret hash (compared in constant time)."""
    received = headers.get(HASH_HEADER)
    if not received or not secret_hash:
        return False
    return hmac.compare_digest(received.strip().encode("utf-8", "replace"), secret_hash.encode("utf-8"))


def _charge_kind(status: object) -> EventKind:
    # Both kinds lead the consumer to verify with the API; the word only says what the hook claimed.
    return "payment.failed" if isinstance(status, str) and status.strip().lower() == "failed" else "payment.succeeded"


def _transfer_kind(status: object) -> EventKind | None:
    word = status.strip().upper() if isinstance(status, str) else ""
    if word == "SUCCESSFUL":
        return "transfer.succeeded"
    if word == "FAILED":
        return "transfer.failed"
    return None  # NEW / PENDING: nothing has happened yet


def parse(payload: object) -> WebhookEvent | None:
    """The event a verified body reports, or ``None`` for an event we do not act on (or a body we cannot read)."""
    if not isinstance(payload, dict):
        return None
    name = payload.get("event")
    data = payload.get("data")
    fields: dict[str, object] = data if isinstance(data, dict) else payload
    event_type = payload.get("event.type")
    if name == TRANSFER_COMPLETED or (name is None and event_type == "Transfer"):
        transfer_kind = _transfer_kind(fields.get("status"))
        reference = text(fields.get("reference"))
        if transfer_kind is None or reference is None:
            return None
        return WebhookEvent(
            kind=transfer_kind,
            reference=reference,
            gateway_event=TRANSFER_COMPLETED,
            transaction_id=text(fields.get("id")),
        )
    is_charge = name == CHARGE_COMPLETED or (
        name is None and isinstance(event_type, str) and event_type.upper().endswith("_TRANSACTION")
    )
    if not is_charge:
        return None
    reference = text(fields.get("tx_ref")) or text(fields.get("txRef"))
    if reference is None:
        return None
    return WebhookEvent(
        kind=_charge_kind(fields.get("status")),
        reference=reference,
        gateway_event=CHARGE_COMPLETED,
        transaction_id=text(fields.get("id")),
    )
