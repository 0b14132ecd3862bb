"""Amounts as Flutterwave sends them (major units, JSON numbers) and as the emulator keeps them (minor units, ints).

Flutterwave v3 puts naira, cedis, shillings, rand and dollars on the wire (``7500`` is NGN 7,500,
``1234.5`` is NGN 1,234.50). The emulator stores every amount as an integer in the currency's
minor unit and converts both ways with ``Decimal`` only, so nothing is ever rounded by a float:

- incoming JSON is parsed with ``parse_float=Decimal`` (``12345.67`` arrives as ``Decimal("12345.67")``);
- outgoing amounts are ``int`` when whole, else the ``float`` whose shortest repr is exactly the
  decimal value (``float(Decimal("12345.67"))`` prints as ``12345.67``); amounts are capped at
  ``MAX_MINOR`` (15 significant digits), where that holds for every value.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

# ISO 4217 code -> number of decimals of the minor unit. Flutterwave serves more; these are the marketplace's.
CURRENCIES: dict[str, int] = {"NGN": 2, "GHS": 2, "KES": 2, "ZAR": 2, "USD": 2}
MAX_MINOR = 10**14 - 1  # 999,999,999,999.99 in a 2-decimal currency: 14 digits, exact as a float's repr


class AmountError(ValueError):
    """An amount the emulator refuses (the message is what the API answers)."""


def exponent(currency: str) -> int:
    return CURRENCIES[currency]


def to_minor(value: Any, currency: str) -> int:
    """``value`` in major units (int, Decimal, a numeric string; never a bool) -> int minor units.

    Refuses non-numbers, zero and negatives, more decimals than the currency has, and amounts over
    ``MAX_MINOR``. A ``float`` (a Python caller, never the wire) goes through its shortest repr.
    """
    if isinstance(value, bool) or value is None:
        raise AmountError("Invalid amount")
    if isinstance(value, float):
        value = repr(value)
    try:
        major = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise AmountError("Invalid amount") from exc
    if not major.is_finite() or major <= 0:
        raise AmountError("Invalid amount")
    minor = major.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise AmountError(f"Invalid amount: {currency} amounts have at most {exponent(currency)} decimal places")
    if minor > MAX_MINOR:
        raise AmountError("Invalid amount: too large")
    return int(minor)


def to_major(minor: int, currency: str) -> int | float:
    """Int minor units -> the JSON number Flutterwave would send (``1234567`` NGN -> ``12345.67``)."""
    major = Decimal(minor).scaleb(-exponent(currency))
    if major == major.to_integral_value():
        return int(major)
    return float(major)


def as_decimal(minor: int, currency: str) -> Decimal:
    """Minor units as an exact ``Decimal`` in major units (for pages and messages)."""
    return Decimal(minor).scaleb(-exponent(currency))


def format_amount(minor: int, currency: str) -> str:
    """``NGN 12,345.67``."""
    return f"{currency} {as_decimal(minor, currency):,.{exponent(currency)}f}"


def percent_of(minor: int, bps: int) -> int:
    """``bps`` basis points of ``minor``, rounded half up, in minor units."""
    return (minor * bps + 5_000) // 10_000
