"""Orders: one purchase of one product, and the rules of its life.

An order is created ``pending`` with a gateway reference; a verified payment makes it ``paid``
(exactly once); a declined or mismatched payment ``failed``; an abandoned one ``expired``; refunds
make it ``partially_refunded`` or ``refunded``. The buyer, the product's creator and admins see it;
while it is paid or partially refunded it gives its buyer the file.

A gateway lets a buyer pay on the same reference after a decline or after the order expired, so a
verified success settles a ``failed`` or ``expired`` order too (DESIGN "Paying after a failed
attempt"): nothing about closing an order unpaid may make a later settlement impossible.
``paid_at`` is the gateway's time of payment, never earlier than ``created_at`` (the gateway keeps
whole seconds, our clock milliseconds).

Each initialize attempt of the checkout has its own reference (``checkout_attempt`` counts them):
a replay after an initialize whose answer was lost starts a fresh attempt instead of repeating a
reference the gateway already holds.

Pricing (DESIGN part 2): ``list_price`` is the product's price when ordered (or the buyer's own
amount for pay-what-you-want), ``discount_amount`` what a ``discount_code`` took off it, and
``amount = list_price - discount_amount`` what is charged (the platform fee is taken from it). An
order whose amount is 0 is ``paid`` at once with ``gateway`` ``none``. A guest order has no
``buyer_id``: its buyer reads it with the guest token whose hash it keeps (``market.domain.guest``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from market.clock import parse_iso
from market.domain.errors import Conflict
from market.domain.guest import guest_token_matches
from market.domain.money import Money
from market.domain.user import Caller

OrderStatus = Literal["pending", "paid", "failed", "expired", "refunded", "partially_refunded"]

# The statuses a verified payment may settle an order from: a buyer may pay after a decline or expiry.
SETTLEABLE: tuple[OrderStatus, ...] = ("pending", "failed", "expired")
# The statuses a pending order may be closed to without a payment, and where it must be then.
CLOSED_UNPAID: tuple[OrderStatus, ...] = ("failed", "expired")
# Statuses in which the buyer may download the file.
ACCESS_STATUSES: tuple[OrderStatus, ...] = ("paid", "partially_refunded")
# Statuses in which (part of) the order can still be refunded.
REFUNDABLE: tuple[OrderStatus, ...] = ("paid", "partially_refunded")
# The gateway of an order with nothing to charge.
NO_GATEWAY = "none"


class TooManyPendingOrders(Conflict):
    """409: the buyer already has as many unpaid orders open as allowed (pay or let one expire first)."""

    slug = "too-many-pending-orders"


def moves_from(new_status: OrderStatus) -> tuple[OrderStatus, ...]:
    """The statuses an order may be in for a move to ``new_status`` without a refund."""
    if new_status == "paid":
        return SETTLEABLE
    if new_status in CLOSED_UNPAID:
        return ("pending",)
    raise ValueError(f"an order does not move to {new_status} this way")


@dataclass(frozen=True)
class Order:
    id: str
    buyer_id: str | None  # None: a guest order
    buyer_email: str
    product_id: str
    product_title: str
    creator_id: str
    amount: int
    currency: str
    status: str
    gateway: str
    reference: str
    created_at: str
    updated_at: str
    authorization_url: str | None = None
    paid_at: str | None = None
    list_price: int | None = None  # None on orders made before pricing: then the amount
    discount_code: str | None = None
    discount_amount: int = 0
    guest_token_hash: str | None = None
    failure_reason: str | None = None
    platform_fee: int | None = None
    net_amount: int | None = None
    refunded_amount: int = 0
    delivery_email_sent_at: str | None = None
    checkout_attempt: int = 1

    @classmethod
    def new_pending(
        cls,
        *,
        order_id: str,
        buyer_id: str | None,
        buyer_email: str,
        product_id: str,
        product_title: str,
        creator_id: str,
        price: Money,
        gateway: str,
        reference: str,
        created_at: str,
    ) -> Order:
        """A new order waiting for its payment: nothing paid, failed, refunded or delivered yet."""
        return cls(
            id=order_id,
            buyer_id=buyer_id,
            buyer_email=buyer_email,
            product_id=product_id,
            product_title=product_title,
            creator_id=creator_id,
            amount=price.amount,
            currency=price.currency,
            status="pending",
            gateway=gateway,
            reference=reference,
            created_at=created_at,
            updated_at=created_at,
        )

    @property
    def total(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def gives_access(self) -> bool:
        return self.status in ACCESS_STATUSES

    @property
    def is_settleable(self) -> bool:
        return self.status in SETTLEABLE

    @property
    def is_refundable(self) -> bool:
        return self.status in REFUNDABLE and not self.is_free  # a free order took no money to give back

    @property
    def listed_price(self) -> int:
        """``list_price``, or for an order made before pricing (none stored) its amount."""
        return self.amount if self.list_price is None else self.list_price

    @property
    def is_guest(self) -> bool:
        return self.buyer_id is None

    @property
    def is_free(self) -> bool:
        return self.gateway == NO_GATEWAY

    def opened_by_guest_token(self, token: str | None) -> bool:
        """A guest order opens to its own token; no token opens a buyer's order."""
        return self.is_guest and guest_token_matches(token, self.guest_token_hash)

    def visible_to(self, caller: Caller) -> bool:
        """Its buyer, its product's creator and admins see an order; for anyone else it does not exist."""
        return caller.user_id in (self.buyer_id, self.creator_id) or caller.is_admin

    def refundable_by(self, caller: Caller) -> bool:
        return caller.user_id == self.creator_id or caller.is_admin

    def paid_at_for(self, gateway_paid_at: datetime | None, now: datetime) -> datetime:
        """When the order counts as paid: the gateway's time (ours when it gives none), never before ``created_at``."""
        return max(gateway_paid_at or now, parse_iso(self.created_at))


def attempt_subject(order_id: str, attempt: int) -> str:
    """What a gateway's reference of checkout attempt ``attempt`` is made from (the first: the order id itself)."""
    return order_id if attempt <= 1 else f"{order_id}-{attempt}"
