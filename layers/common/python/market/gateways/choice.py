"""Which gateway a payment or a payout may go through: the caller's choice, checked against the profiles.

A buyer picks the gateway of an order (``POST /orders {gateway}``), a creator the gateway that pays
them out in a currency (``PUT /wallet/payout-account {gateway}``), and a creator may restrict the
gateways a product accepts. Every refusal is a 422 on the field that named the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence

from market.domain.errors import FieldError, ValidationFailed
from market.gateways.profiles import DEFAULT_GATEWAY, GATEWAY_NAMES, PROFILES, GatewayProfile


def known(name: str, field: str = "gateway") -> GatewayProfile:
    """The profile of ``name``; 422 on ``field`` for a name no gateway has."""
    found = PROFILES.get(name)
    if found is None:
        raise ValidationFailed([FieldError(field, f"must be one of {', '.join(GATEWAY_NAMES)}")])
    return found


def for_currency(name: str | None, currency: str, field: str = "gateway") -> GatewayProfile:
    """The gateway ``name`` (the default when ``None``), if it can take ``currency``; 422 on ``field`` otherwise."""
    chosen = known(name or DEFAULT_GATEWAY, field)
    if not chosen.takes(currency):
        raise ValidationFailed([FieldError(field, f"{chosen.name} cannot take {currency}")])
    return chosen


def for_product(name: str | None, currency: str, accepted: Sequence[str] | None) -> GatewayProfile:
    """The gateway of a new order for a product priced in ``currency`` that accepts ``accepted`` (None: any)."""
    chosen = for_currency(name, currency)
    if accepted is not None and chosen.name not in accepted:
        raise ValidationFailed([FieldError("gateway", f"this product accepts only {', '.join(accepted)}")])
    return chosen


def check_restriction(gateways: Sequence[str] | None, currency: str, field: str = "gateways") -> tuple[str, ...] | None:
    """A product's list of accepted gateways, checked: known names, each able to take ``currency``; repeats dropped."""
    if gateways is None:
        return None
    errors = []
    for name in gateways:
        profile = PROFILES.get(name)
        if profile is None:
            errors.append(FieldError(field, f"{name!r} is not one of {', '.join(GATEWAY_NAMES)}"))
        elif not profile.takes(currency):
            errors.append(FieldError(field, f"{name} cannot take {currency}"))
    if not gateways:
        errors.append(FieldError(field, "name at least one gateway, or null for every gateway"))
    if errors:
        raise ValidationFailed(errors)
    return tuple(dict.fromkeys(gateways))
