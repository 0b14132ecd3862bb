"""Gateway factory: one client per gateway name per container, built from settings on first use.

Payment logic asks ``get_gateway(order.gateway)`` (or the payout account's gateway) and never
names a gateway class: each gateway is one builder here. Tests install a fake of the port
with ``override_gateway`` and undo it with ``reset_gateways``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from market.gateways.base import PaymentGateway
from market.gateways.profiles import DEFAULT_GATEWAY, UnknownGateway
from market.settings import Settings, get_settings


def _build_paystack(settings: Settings) -> PaymentGateway:
    from market.gateways.credentials import resolve_secret
    from market.gateways.paystack import PaystackGateway

    secret = resolve_secret(settings.paystack_secret_key, settings.paystack_secret_parameter)
    return PaystackGateway(settings.paystack_base_url, secret, settings.gateway_timeout_seconds)


def _build_flutterwave(settings: Settings) -> PaymentGateway:
    from market.gateways.credentials import resolve_secret
    from market.gateways.flutterwave import FlutterwaveGateway

    secret = resolve_secret(
        settings.flutterwave_secret_key, settings.flutterwave_secret_parameter, "Flutterwave secret key"
    )
    return FlutterwaveGateway(settings.flutterwave_base_url, secret, settings.gateway_timeout_seconds)


_BUILDERS: dict[str, Callable[[Settings], PaymentGateway]] = {
    "paystack": _build_paystack,
    "flutterwave": _build_flutterwave,
}
_instances: dict[str, PaymentGateway] = {}
_lock = threading.Lock()


def get_gateway(name: str = DEFAULT_GATEWAY) -> PaymentGateway:
    """The gateway client for ``name``, created once per container."""
    with _lock:
        gateway = _instances.get(name)
        if gateway is None:
            builder = _BUILDERS.get(name)
            if builder is None:
                raise UnknownGateway(f"unknown payment gateway {name!r}")
            gateway = builder(get_settings())
            _instances[name] = gateway
        return gateway


def override_gateway(name: str, gateway: PaymentGateway) -> None:
    """Use ``gateway`` for ``name`` until ``reset_gateways()`` (tests: an in-memory fake of the port)."""
    with _lock:
        _instances[name] = gateway


def reset_gateways() -> None:
    """Forget every client (tests, or after the settings changed)."""
    with _lock:
        _instances.clear()
