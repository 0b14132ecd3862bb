"""Money: an integer amount in the currency's minor unit with its ISO 4217 code; never a float.

Every amount that moves (a sale, a fee, a refund, a payout) is computed as ``Money``, so two
currencies can never be added by mistake; records and the HTTP contract keep the amount and the
currency side by side, and ``Money.of(record.amount, record.currency)`` joins them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Smallest price a product may have, in minor units (gateway minimums, roughly 1 unit of each).
MINIMUM_PRICE: dict[str, int] = {"NGN": 10000, "GHS": 100, "KES": 100, "ZAR": 100, "USD": 100}
# Smallest payout per currency, in minor units.
MINIMUM_PAYOUT: dict[str, int] = {"NGN": 100000, "GHS": 1000, "KES": 10000, "ZAR": 1000, "USD": 1000}
# ISO 4217 minor-unit exponents that are not 2 (the currencies we sell in all use 2).
_EXPONENTS: dict[str, int] = {"XOF": 0, "XAF": 0, "RWF": 0, "UGX": 0, "JPY": 0, "BHD": 3, "KWD": 3}


class CurrencyMismatch(ValueError):
    """Two amounts of different currencies were combined."""


@dataclass(frozen=True, order=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("money amounts are integers in minor units")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} != {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def min(self, other: Money) -> Money:
        self._same(other)
        return self if self.amount <= other.amount else other

    def to_major(self) -> Decimal:
        """The amount in major units, exactly (``150050 NGN`` -> ``Decimal("1500.50")``)."""
        return Decimal(self.amount).scaleb(-minor_unit_exponent(self.currency))

    @classmethod
    def from_major(cls, value: Decimal | int | str, currency: str) -> Money:
        """Major units (as a gateway sends them) to minor units; a value finer than the minor unit raises."""
        scaled = Decimal(str(value)).scaleb(minor_unit_exponent(currency))
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} {currency} is finer than the currency's minor unit")
        return cls(int(scaled), currency)


def minor_unit_exponent(currency: str) -> int:
    """How many decimals the currency's minor unit has (2 for NGN, GHS, KES, ZAR, USD)."""
    return _EXPONENTS.get(currency.upper(), 2)


def basis_points_half_up(amount: int, bps: int) -> int:
    """``amount * bps / 10000`` rounded half-up, in integers only."""
    return (amount * bps * 2 + 10000) // 20000


def pro_rata(part: int, whole: int, value: int) -> int:
    """``value * part / whole`` rounded half-up (for refunding a fee in proportion)."""
    if whole <= 0:
        return 0
    return (value * part * 2 + whole) // (2 * whole)


@dataclass(frozen=True)
class FeePolicy:
    """The platform's fee: ``bps`` of a sale, half-up, plus a fixed part per currency; never above the sale."""

    bps: int
    fixed: dict[str, int]

    def fee(self, sale: Money) -> Money:
        return Money(platform_fee(sale.amount, self.bps, self.fixed.get(sale.currency, 0)), sale.currency)


def platform_fee(amount: int, bps: int, fixed: int = 0) -> int:
    """Platform fee of a sale: bps of the amount plus a fixed part, never above the amount."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    return min(amount, basis_points_half_up(amount, bps) + fixed)
