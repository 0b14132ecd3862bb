"""What an order costs, and the order it becomes (DESIGN part 2).

- ``list_price``: the product's price, or the buyer's own ``amount`` for pay-what-you-want (its
  minimum when none is sent); a fixed-price product takes no other amount (``Product.buyer_price``);
- ``discount_amount``: what the code takes off the list price (``Discount.discount_on``: half-up
  for a percentage, at most the price for a fixed amount); a code that is unknown, inactive,
  expired, used up or not valid for the product is 422 on ``discount_code``;
- ``amount = list_price - discount_amount`` is charged; it is 0 (free) or at least the currency's
  minimum charge: a code that would leave less than that (but more than 0) is 422 on
  ``discount_code``, since no gateway can charge it and rounding either way would break the sum;
- an order whose amount is 0 is ``paid`` at once with gateway ``none``: no payment, no fee, no net.

Every bad field is named in one 422.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from market.domain.discount import Discount
from market.domain.errors import FieldError, ValidationFailed
from market.domain.money import MINIMUM_PRICE, Money
from market.domain.order import NO_GATEWAY, Order
from market.domain.product import Product


@dataclass(frozen=True)
class Pricing:
    list_price: Money
    discount_amount: int = 0
    discount: Discount | None = None

    @property
    def charge(self) -> Money:
        return Money(self.list_price.amount - self.discount_amount, self.list_price.currency)

    @property
    def is_free(self) -> bool:
        return self.charge.amount == 0

    @property
    def discount_code(self) -> str | None:
        return self.discount.code if self.discount else None


def price_order(
    product: Product,
    *,
    amount: int | None,
    discount_code: str | None,
    discount: Discount | None,
    now: datetime,
) -> Pricing:
    """The order's pricing; 422 naming ``amount`` and/or ``discount_code`` when they do not apply.

    ``discount`` is the product's creator's code named ``discount_code`` (``None`` when there is none).
    """
    errors: list[FieldError] = []
    try:
        list_price = product.buyer_price(amount)
    except ValidationFailed as failed:
        errors.extend(failed.errors)
        list_price = product.list_price
    off = 0
    if discount_code is not None:
        off, reason = _discount_off(discount, product, list_price, now)
        if reason is not None:
            errors.append(FieldError("discount_code", reason))
    if errors:
        raise ValidationFailed(errors)
    return Pricing(list_price=list_price, discount_amount=off, discount=discount if discount_code else None)


def _discount_off(
    discount: Discount | None, product: Product, list_price: Money, now: datetime
) -> tuple[int, str | None]:
    """What the code takes off ``list_price``, or why it takes nothing."""
    if discount is None:
        return 0, "No discount code has this name."
    reason = discount.unusable_reason(product.id, product.currency, now)
    if reason is not None:
        return 0, reason
    off = discount.discount_on(list_price).amount
    left = list_price.amount - off
    minimum = MINIMUM_PRICE.get(list_price.currency, 1)
    if 0 < left < minimum:
        return 0, f"This discount code would leave {left} to pay, less than the least a payment can be ({minimum})."
    return off, None


def new_order(
    *,
    order_id: str,
    buyer_id: str | None,
    buyer_email: str,
    product: Product,
    pricing: Pricing,
    gateway: str,
    reference: str,
    created_at: str,
    guest_token_hash: str | None = None,
) -> Order:
    """The order to store: pending on ``gateway``, or paid at once when there is nothing to charge.

    A free order has gateway ``none``, its own id as its reference (there is no payment), no fee and
    no net; it is paid when it is made.
    """
    free = pricing.is_free
    order = Order.new_pending(
        order_id=order_id,
        buyer_id=buyer_id,
        buyer_email=buyer_email,
        product_id=product.id,
        product_title=product.title,
        creator_id=product.creator_id,
        price=pricing.charge,
        gateway=NO_GATEWAY if free else gateway,
        reference=order_id if free else reference,
        created_at=created_at,
    )
    order = replace(
        order,
        list_price=pricing.list_price.amount,
        discount_code=pricing.discount_code,
        discount_amount=pricing.discount_amount,
        guest_token_hash=guest_token_hash,
    )
    if free:
        order = replace(order, status="paid", paid_at=created_at, platform_fee=0, net_amount=0)
    return order
