"""Money in integer minor units; never a float."""

from __future__ import annotations

from dataclasses import dataclass

# Smallest price a product may have, in minor units (gateway minimums, roughly 1 unit of each).
MINIMUM_PRICE: dict[str, int] = {"NGN": 10000, "GHS": 100, "KES": 100, "ZAR": 100, "USD": 100}
# Smallest payout per currency, in minor units.
MINIMUM_PAYOUT: dict[str, int] = {"NGN": 100000, "GHS": 1000, "KES": 10000, "ZAR": 1000, "USD": 1000}


class CurrencyMismatch(ValueError):
    pass


@dataclass(frozen=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("money amounts are integers in minor units")

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


def basis_points_half_up(amount: int, bps: int) -> int:
    """``amount * bps / 10000`` rounded half-up, in integers only."""
    return (amount * bps * 2 + 10000) // 20000


def platform_fee(amount: int, bps: int, fixed: int = 0) -> int:
    """Platform fee of a sale: bps of the amount plus a fixed part, never above the amount."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    return min(amount, basis_points_half_up(amount, bps) + fixed)


def pro_rata(part: int, whole: int, value: int) -> int:
    """``value * part / whole`` rounded half-up (for refunding a fee in proportion)."""
    if whole <= 0:
        return 0
    return (value * part * 2 + whole) // (2 * whole)
