"""Refunds of paid orders, in full or in part, their arithmetic and who may make them.

A refund is ``requested`` (written before the gateway call; shown as ``pending``), ``pending`` (the
gateway took it), ``needs_attention`` (the gateway needs something, e.g. the customer's account
details; still open), then ``processed`` or ``failed``. The creator gives back the net share of what
is refunded: ``refund`` -amount and ``refund_fee_reversal`` +the platform fee's share of it. The fee
share is cumulative (``pro_rata(refunded so far) - pro_rata(refunded before)``), so a sequence of
partial refunds returns exactly the whole fee.

While a refund is open its net debit is reserved in the creator's wallet (``reserved_debit``, see
``market.domain.wallet``): the transaction that debits the wallet releases exactly that much.

Who may refund (DESIGN part 2, "Refunds"): the product's creator within ``refund_window_days`` of
``paid_at`` and only while available + pending (less what other refunds reserved) covers the net
debit; an admin always (the wallet may then go below zero, and payouts wait).

A ``capture`` refund returns a payment the gateway captured that never settled an order (another
amount or currency than the order's, or an attempt the order no longer uses): no wallet or order
changes, only the money going back to the buyer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from market.clock import parse_iso
from market.domain.errors import Conflict
from market.domain.money import Money, pro_rata
from market.domain.order import Order
from market.domain.user import Caller
from market.domain.wallet import Movement, WalletChange

RefundStatus = Literal["requested", "pending", "needs_attention", "processed", "failed"]
OPEN_STATUSES: tuple[RefundStatus, ...] = ("requested", "pending", "needs_attention")
RefundKind = Literal["sale", "capture"]
DEFAULT_REFUND_WINDOW_DAYS = 30


class RefundNotAllowed(Conflict):
    """409 ``refund-not-allowed``: past the creator's refund window, or the wallet does not cover it."""

    slug = "refund-not-allowed"


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
    reserved_debit: int = 0
    kind: str = "sale"
    # The gateway reference the money was captured on (capture refunds: may differ from the order's).
    reference: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_capture(self) -> bool:
        return self.kind == "capture"

    @property
    def awaits_gateway_answer(self) -> bool:
        """Requested, and the gateway's answer (its refund id) never arrived."""
        return self.status == "requested" and self.gateway_refund_id is None

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
    """A refund's effect on the creator: the fee share returned and the net debit."""

    amount: Money
    fee_back: Money

    @property
    def debit(self) -> Money:
        return self.amount - self.fee_back

    def wallet_change(self, order: Order, *, release: int = 0) -> WalletChange:
        """The processed refund: debit the wallet and release what its request reserved."""
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
            reserve=-release,
        )

    def reservation(self, order: Order, *, require_cover: bool) -> WalletChange:
        """The request: reserve the net debit (no ledger entry); a creator's must be covered by the wallet."""
        return WalletChange(
            creator_id=order.creator_id,
            currency=order.currency,
            movements=[],
            reserve=self.debit.amount,
            require_cover=require_cover,
        )


def reservation_release(refund: Refund) -> WalletChange:
    """A refund that ends without money moving (failed at the gateway) gives its reservation back."""
    return WalletChange(
        creator_id=refund.creator_id, currency=refund.currency, movements=[], reserve=-refund.reserved_debit
    )


def split_refund(order: Order, amount: int) -> RefundSplit:
    """How a refund of ``amount`` after what the order has refunded already splits into fee and net."""
    before = order.refunded_amount
    after = before + amount
    fee = order.platform_fee or 0
    fee_back = pro_rata(after, order.amount, fee) - pro_rata(before, order.amount, fee)
    return RefundSplit(amount=Money(amount, order.currency), fee_back=Money(fee_back, order.currency))


def check_refund_window(order: Order, caller: Caller, now: datetime, window_days: int) -> None:
    """A creator refunds within ``window_days`` of ``paid_at``; an admin at any time."""
    if caller.is_admin:
        return
    paid_at = parse_iso(order.paid_at) if order.paid_at else parse_iso(order.created_at)
    if now > paid_at + timedelta(days=window_days):
        raise RefundNotAllowed(
            f"The refund window of {window_days} days after payment has passed; ask an admin to refund this order."
        )


def requires_cover(caller: Caller) -> bool:
    """A creator's refund must be covered by their wallet; an admin's may take it below zero."""
    return not caller.is_admin
