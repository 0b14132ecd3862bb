"""Refunds of paid orders, in full or in part, and their arithmetic.

A refund is ``requested`` (written before the gateway call; shown as ``pending``), ``pending`` (the
gateway took it), then ``processed`` or ``failed``. The creator gives back the net share of what
is refunded: ``refund`` -amount and ``refund_fee_reversal`` +the platform fee's share of it. The fee
share is cumulative (``pro_rata(refunded so far) - pro_rata(refunded before)``), so a sequence of
partial refunds returns exactly the whole fee.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from market.domain.money import Money, pro_rata
from market.domain.order import Order
from market.domain.wallet import Movement, WalletChange

RefundStatus = Literal["requested", "pending", "processed", "failed"]
OPEN_STATUSES: tuple[RefundStatus, ...] = ("requested", "pending")


@dataclass(frozen=True)
class Refund:
    id: str
    order_id: str
    creator_id: str
    gateway: str
    amount: int
    currency: str
    status: str
    requested_by: str
    created_at: str
    updated_at: str
    gateway_refund_id: str | None = None
    failure_reason: str | None = None
    processed_at: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def public_status(self) -> str:
        """The contract's status: ``requested`` is shown as ``pending``."""
        return "pending" if self.status == "requested" else self.status


@dataclass(frozen=True)
class RefundTotals:
    """What of an order is committed to refunds (requested + pending + processed), with a version."""

    committed: int = 0
    version: int = 0

    def remaining(self, order: Order) -> Money:
        return Money(order.amount - self.committed, order.currency)


@dataclass(frozen=True)
class RefundSplit:
    """A processed refund's effect on the creator: the fee share returned and the net debit."""

    amount: Money
    fee_back: Money

    @property
    def debit(self) -> Money:
        return self.amount - self.fee_back

    def wallet_change(self, order: Order) -> WalletChange:
        movements = [Movement("refund", "available", -self.amount.amount, order_id=order.id)]
        if self.fee_back.amount:
            movements.append(Movement("refund_fee_reversal", "available", self.fee_back.amount, order_id=order.id))
        return WalletChange(
            creator_id=order.creator_id,
            currency=order.currency,
            movements=movements,
            lifetime={
                "lifetime_refunds": self.amount.amount,
                "lifetime_fees": -self.fee_back.amount,
                "lifetime_net": -self.debit.amount,
            },
            allow_negative_available=True,
        )


def split_refund(order: Order, amount: int) -> RefundSplit:
    """How a refund of ``amount`` after what the order has refunded already splits into fee and net."""
    before = order.refunded_amount
    after = before + amount
    fee = order.platform_fee or 0
    fee_back = pro_rata(after, order.amount, fee) - pro_rata(before, order.amount, fee)
    return RefundSplit(amount=Money(amount, order.currency), fee_back=Money(fee_back, order.currency))
