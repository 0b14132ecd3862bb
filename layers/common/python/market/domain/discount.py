"""Discount codes: a creator's code takes a percentage or a fixed amount off some of their products.

- a code is 3 to 32 of ``A-Z a-z 0-9 _ -``, stored upper case and matched without regard to case;
  one code per creator per spelling;
- exactly one of ``percent_off`` (1-100) and ``amount_off`` (with its ``currency``, in minor units);
- ``product_ids`` (all of the creator's products when created without) and optional
  ``max_redemptions`` (at least 1) and ``expires_at``;
- the discount on a list price is ``round_half_up(list_price x percent_off / 100)`` or
  ``min(amount_off, list_price)``; an ``amount_off`` applies only to orders in its currency;
  it never takes the price below zero;
- ``redemptions`` counts orders made with the code that are pending or paid (and later states of
  paid orders): a use is reserved when the order is made and given back when it fails or expires,
  so ``max_redemptions`` holds under concurrency. A late payment of an order whose use was given
  back still settles at its price and takes a use again, even past ``max_redemptions``.
- deleting a code makes it inactive; orders already made keep their price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from market.domain.errors import FieldError, ValidationFailed
from market.domain.money import Money

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,32}$")


def normalise_code(code: str) -> str:
    """The one form a code is stored and looked up in."""
    return code.strip().upper()


def percent_of(amount: int, percent: int) -> int:
    """``amount x percent / 100`` rounded half-up, in integers only."""
    return (amount * percent * 2 + 100) // 200


@dataclass(frozen=True)
class Discount:
    creator_id: str
    code: str  # upper case
    product_ids: tuple[str, ...]
    created_at: datetime
    percent_off: int | None = None
    amount_off: int | None = None
    currency: str | None = None
    max_redemptions: int | None = None
    redemptions: int = 0
    expires_at: datetime | None = None
    active: bool = True

    def applies_to(self, product_id: str, currency: str) -> bool:
        if product_id not in self.product_ids:
            return False
        return self.amount_off is None or self.currency == currency

    def unusable_reason(self, product_id: str, currency: str, now: datetime) -> str | None:
        """Why the code does not take money off this product now (``None`` when it does)."""
        if not self.active:
            return "This discount code is no longer active."
        if self.expires_at is not None and self.expires_at <= now:
            return "This discount code has expired."
        if self.max_redemptions is not None and self.redemptions >= self.max_redemptions:
            return "This discount code has been used up."
        if not self.applies_to(product_id, currency):
            return "This discount code is not valid for this product."
        return None

    def discount_on(self, list_price: Money) -> Money:
        """What the code takes off ``list_price``: never more than the price, never below zero."""
        if self.percent_off is not None:
            off = percent_of(list_price.amount, self.percent_off)
        elif self.amount_off is not None and self.currency == list_price.currency:
            off = self.amount_off
        else:
            off = 0
        return Money(max(0, min(off, list_price.amount)), list_price.currency)


def check_new_discount(
    *,
    code: str,
    percent_off: int | None,
    amount_off: int | None,
    currency: str | None,
    max_redemptions: int | None,
    expires_at: datetime | None,
    now: datetime,
    supported_currencies: tuple[str, ...],
) -> None:
    """422 naming every bad field of a new code."""
    errors: list[FieldError] = []
    if not CODE_PATTERN.match(code):
        errors.append(FieldError("code", "must be 3 to 32 of A-Z, a-z, 0-9, '_' and '-'"))
    if (percent_off is None) == (amount_off is None):
        errors.append(FieldError("percent_off", "give exactly one of percent_off and amount_off"))
    if percent_off is not None and not 1 <= percent_off <= 100:
        errors.append(FieldError("percent_off", "must be 1 to 100"))
    if amount_off is not None:
        if amount_off < 1:
            errors.append(FieldError("amount_off", "must be at least 1 (minor units)"))
        if currency is None:
            errors.append(FieldError("currency", "is required with amount_off"))
    if currency is not None:
        if amount_off is None:
            errors.append(FieldError("currency", "goes with amount_off only"))
        elif currency not in supported_currencies:
            errors.append(FieldError("currency", f"must be one of {', '.join(supported_currencies)}"))
    if max_redemptions is not None and max_redemptions < 1:
        errors.append(FieldError("max_redemptions", "must be at least 1"))
    if expires_at is not None and expires_at <= now:
        errors.append(FieldError("expires_at", "must be in the future"))
    if errors:
        raise ValidationFailed(errors)
