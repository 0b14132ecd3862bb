"""Payouts: a creator's money leaving the wallet for a bank account, through a gateway transfer.

A payout is ``pending`` (requested), ``processing`` (the transfer was initiated), then ``paid``,
``failed`` or ``reversed``. The payout id is the transfer's reference.

The ledger (DESIGN part 2, "Ledger"): a payout's money leaves the wallet at the request, as ONE
``payout`` entry of -amount on ``available``; nothing sits on hold for it. A payout that fails (or
is reversed after it was paid) adds ONE ``payout_reversal`` of +amount. The transfer's success moves
no money (only ``lifetime_paid_out``). So the listed entries sum to available + pending + on_hold at
every moment, and no move between a creator's own balances is ever listed as a payout.

Payouts requested before this model (``held``) moved their amount ``available`` -> ``on_hold`` and
leave ``on_hold`` when the transfer settles; they keep that path until they close.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from market.domain.money import MINIMUM_PAYOUT, Money
from market.domain.wallet import Movement, WalletChange

PayoutStatus = Literal["pending", "processing", "paid", "failed", "reversed"]
PAYOUT_STATUSES: tuple[PayoutStatus, ...] = ("pending", "processing", "paid", "failed", "reversed")
IN_FLIGHT: tuple[PayoutStatus, ...] = ("pending", "processing")


def mask_account_number(account_number: str) -> str:
    """Every digit but the last four hidden."""
    visible = account_number[-4:]
    return "*" * (len(account_number) - len(visible)) + visible


def minimum_payout(currency: str) -> Money:
    return Money(MINIMUM_PAYOUT.get(currency, 1), currency)


@dataclass(frozen=True)
class PayoutAccount:
    """Where a creator is paid in one currency: the gateway's transfer recipient and a masked number."""

    creator_id: str
    currency: str
    gateway: str
    bank_code: str
    bank_name: str | None
    account_masked: str
    account_name: str
    recipient_code: str
    updated_at: str


@dataclass(frozen=True)
class Payout:
    id: str
    creator_id: str
    amount: int
    currency: str
    status: str
    gateway: str
    recipient_code: str
    created_at: str
    updated_at: str
    account_masked: str | None = None
    bank_code: str | None = None
    transfer_code: str | None = None
    failure_reason: str | None = None
    paid_at: str | None = None
    # Requested under the old model (amount held in ``on_hold``). Every new payout is created with False.
    held: bool = True

    @property
    def total(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT

    def request_change(self) -> WalletChange:
        """The request: the money leaves ``available`` (one ``payout`` entry)."""
        return WalletChange(
            creator_id=self.creator_id,
            currency=self.currency,
            movements=[Movement("payout", "available", -self.amount, payout_id=self.id)],
        )

    def paid_change(self) -> WalletChange:
        """The transfer succeeded: it counts as paid out (a held payout's money leaves ``on_hold`` now)."""
        movements = [Movement("payout", "on_hold", -self.amount, payout_id=self.id)] if self.held else []
        return WalletChange(
            creator_id=self.creator_id,
            currency=self.currency,
            movements=movements,
            lifetime={"lifetime_paid_out": self.amount},
        )

    def returned_change(self) -> WalletChange:
        """The transfer failed (in flight) or was reversed after it was paid: the money comes back to ``available``."""
        if self.in_flight and self.held:
            movements = [
                Movement("payout_reversal", "on_hold", -self.amount, payout_id=self.id),
                Movement("payout_reversal", "available", self.amount, payout_id=self.id),
            ]
            return WalletChange(self.creator_id, self.currency, movements)
        back = [Movement("payout_reversal", "available", self.amount, payout_id=self.id)]
        if self.in_flight:
            return WalletChange(self.creator_id, self.currency, back)
        return WalletChange(self.creator_id, self.currency, back, lifetime={"lifetime_paid_out": -self.amount})
