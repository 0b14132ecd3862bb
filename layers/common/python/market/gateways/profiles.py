"""What the code outside ``market.gateways`` may ask of a gateway without loading its API client.

Standard library only (the webhook receiver uses it at cold start): each gateway's name, the
reference format of its payments, the currencies it can take, how its webhooks are verified and
what they mean, and where its webhook secret comes from. The API client itself (initialize,
verify, refunds, transfers) is ``market.gateways.registry.get_gateway(name)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from market.gateways import credentials, flutterwave_webhook, paystack_webhook
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
    currencies: frozenset[str]
    """What the gateway can charge and pay out in (its docs); an order or payout account in another is refused."""

    def takes(self, currency: str) -> bool:
        return currency in self.currencies


def _paystack_reference(order_id: str) -> str:
    # Paystack allows letters, digits, '-', '.', '='.
    return "mkt-" + order_id.replace("_", "-")


def _flutterwave_reference(order_id: str) -> str:
    # The tx_ref. The official Node SDK pastes it into verify_by_reference's query unencoded: keep to
    # letters, digits and '-' (localdev/flutterwave/README.md, "Where the official Node SDK and the docs differ").
    return "mkt-" + order_id.replace("_", "-")


# PAYSTACK.md section 1 (the spec's list; XOF, EGP and RWF are unconfirmed there, so left out).
PAYSTACK_CURRENCIES = frozenset({"NGN", "GHS", "KES", "ZAR", "USD"})
# Flutterwave v3's documented collection currencies (a merchant account may have fewer enabled).
FLUTTERWAVE_CURRENCIES = frozenset(
    {"NGN", "GHS", "KES", "ZAR", "USD", "EUR", "GBP", "UGX", "TZS", "RWF", "XAF", "XOF", "ZMW", "MWK", "EGP"}
)


PROFILES: dict[str, GatewayProfile] = {
    "paystack": GatewayProfile(
        name="paystack",
        new_reference=_paystack_reference,
        verify_webhook=paystack_webhook.verify,
        parse_webhook=paystack_webhook.parse,
        webhook_secret=credentials.paystack_secret_key,
        currencies=PAYSTACK_CURRENCIES,
    ),
    "flutterwave": GatewayProfile(
        name="flutterwave",
        new_reference=_flutterwave_reference,
        verify_webhook=flutterwave_webhook.verify,
        parse_webhook=flutterwave_webhook.parse,
        webhook_secret=credentials.flutterwave_secret_hash,
        currencies=FLUTTERWAVE_CURRENCIES,
    ),
}
GATEWAY_NAMES: tuple[str, ...] = tuple(PROFILES)


class UnknownGateway(ValueError):
    """No gateway has this name."""


def profile(name: str) -> GatewayProfile:
    found = PROFILES.get(name)
    if found is None:
        raise UnknownGateway(f"unknown payment gateway {name!r}")
    return found
