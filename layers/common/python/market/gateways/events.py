"""What a gateway's webhook says happened, in the gateway-neutral words the rest of the code uses.

Standard library only: the webhook receiver parses with it at cold start. A webhook event only
names what happened to which reference; every consumer asks the gateway's API for the facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EventKind = Literal[
    "payment.succeeded",
    "payment.failed",
    "transfer.succeeded",
    "transfer.failed",
    "transfer.reversed",
    "refund.pending",
    "refund.processed",
    "refund.failed",
    "refund.needs_attention",
]


@dataclass(frozen=True)
class WebhookEvent:
    kind: EventKind
    reference: str  # the payment's reference for payment and refund events; our payout id for transfers
    gateway_event: str  # the gateway's own event name (for logs)
    refund_id: str | None = None  # the gateway's refund id, for refund events that carry one
    transaction_id: str | None = None  # the gateway's transaction id, where verifying needs it


def text(value: object) -> str | None:
    """A non-empty identifier from a JSON value (strings and integers; anything else is absent).

    A string UTF-8 cannot encode (a lone surrogate, ``"\\ud800"``) is absent too: no key could be made of it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return None
        return value
    return None
