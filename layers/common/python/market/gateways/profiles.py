"""What the code outside ``market.gateways`` may ask of a gateway without loading its API client.

Standard library only (the webhook receiver uses it at cold start): each gateway's name, the
reference format of its payments, how its webhooks are verified and what they mean, and where
its webhook secret comes from. The API client itself (initialize, verify, refunds, transfers) is
``market.gateways.registry.get_gateway(name)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from market.gateways import credentials, paystack_webhook
from market.gateways.events import WebhookEvent

DEFAULT_GATEWAY = "paystack"


@dataclass(frozen=True)
class GatewayProfile:
    name: str
    new_reference: Callable[[str], str]
    """The payment reference of an order: one per order, never reused."""
    verify_webhook: Callable[[bytes, Mapping[str, str], str], bool]
    """Whether a webhook's raw body and (lower-cased) headers are the gateway's, given its secret."""
    parse_webhook: Callable[[object], WebhookEvent | None]
    """What a verified webhook body reports, or ``None`` for an event we do not act on."""
    webhook_secret: Callable[[], str]


def _paystack_reference(order_id: str) -> str:
    # Paystack allows letters, digits, '-', '.', '='.
    return "mkt-" + order_id.replace("_", "-")


PROFILES: dict[str, GatewayProfile] = {
    "paystack": GatewayProfile(
        name="paystack",
        new_reference=_paystack_reference,
        verify_webhook=paystack_webhook.verify,
        parse_webhook=paystack_webhook.parse,
        webhook_secret=credentials.paystack_secret_key,
    ),
}


class UnknownGateway(ValueError):
    """No gateway has this name."""


def profile(name: str) -> GatewayProfile:
    found = PROFILES.get(name)
    if found is None:
        raise UnknownGateway(f"unknown payment gateway {name!r}")
    return found
