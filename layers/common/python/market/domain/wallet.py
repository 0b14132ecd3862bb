"""A creator's wallet: balances per currency, the ledger that explains them, and the overdraft rule.

A balance has three buckets: ``available`` (may be paid out), ``pending`` (sales in their hold
period) and ``on_hold`` (payouts in flight). Every change is a list of ``Movement``s, each one
ledger entry of one bucket; ``Balance.apply`` is the one place a change is computed, so for every
bucket the sum of the ledger equals the balance. No bucket may go below zero, with one exception:
a refund may take ``available`` below zero (payouts then wait until it is positive again).

``reserved`` is not a bucket and has no ledger entries: it is the net debit of refunds in flight
(requested at the gateway, not yet processed or failed). A refund reserves its debit when it is
requested and releases it in the transaction that debits the wallet (or gives up); payouts may only
take what ``available`` holds beyond ``reserved``, so money promised to a refund cannot leave first.
A creator's refund must also be covered: ``available + pending - reserved`` stays at or above zero
after its reservation (``require_cover``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from market.domain.errors import Conflict
from market.domain.money import Money

Bucket = Literal["available", "pending", "on_hold"]
BUCKETS: tuple[Bucket, ...] = ("available", "pending", "on_hold")
LIFETIME_FIELDS = ("lifetime_gross", "lifetime_fees", "lifetime_net", "lifetime_paid_out", "lifetime_refunds")
EntryType = Literal[
    "sale", "fee", "release", "payout", "payout_reversal", "refund", "refund_fee_reversal", "adjustment"
]


class InsufficientFunds(Conflict):
    slug = "insufficient-balance"

    def __init__(self, detail: str = "The available balance does not cover this amount.") -> None:
        super().__init__(detail)


@dataclass(frozen=True)
class Movement:
    """One ledger entry: ``amount`` (signed: credits > 0) into ``bucket``."""

    type: EntryType
    bucket: Bucket
    amount: int
    order_id: str | None = None
    payout_id: str | None = None

    def __post_init__(self) -> None:
        if self.bucket not in BUCKETS:
            raise ValueError(f"unknown bucket {self.bucket}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("ledger amounts are integers in minor units")


@dataclass(frozen=True)
class WalletChange:
    creator_id: str
    currency: str
    movements: Sequence[Movement]
    lifetime: dict[str, int] = field(default_factory=dict)
    # Only refunds may take ``available`` below zero (recorded as such); payouts never can.
    allow_negative_available: bool = False
    # Added to ``reserved`` (refund debits in flight): + when a refund is requested, - when it ends.
    reserve: int = 0
    # The wallet must cover the change: available + pending - reserved >= 0 afterwards (a creator's refund).
    require_cover: bool = False


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    creator_id: str
    type: str
    bucket: str
    amount: int
    currency: str
    created_at: str
    balance_after: int  # of its bucket
    order_id: str | None = None
    payout_id: str | None = None


@dataclass(frozen=True)
class Balance:
    creator_id: str
    currency: str
    available: int = 0
    pending: int = 0
    on_hold: int = 0
    lifetime_gross: int = 0
    lifetime_fees: int = 0
    lifetime_net: int = 0
    lifetime_paid_out: int = 0
    lifetime_refunds: int = 0
    reserved: int = 0
    version: int = 0

    def bucket(self, name: str) -> int:
        return int(getattr(self, name))

    @property
    def covers(self) -> Money:
        """What the wallet holds that a refund's debit may come from: available + pending, less what is reserved."""
        return Money(self.available + self.pending - self.reserved, self.currency)

    @property
    def spendable(self) -> Money:
        """What a payout may take: available beyond the refund debits in flight."""
        return Money(self.available - self.reserved, self.currency)

    def apply(
        self, change: WalletChange, *, now: str, new_entry_id: Callable[[], str]
    ) -> tuple[Balance, list[LedgerEntry]]:
        """The balance after ``change`` and its ledger entries; ``InsufficientFunds`` when it would overdraw."""
        if change.currency != self.currency or change.creator_id != self.creator_id:
            raise ValueError("a change applies to its own wallet only")
        values = {bucket: self.bucket(bucket) for bucket in BUCKETS}
        entries = []
        for movement in change.movements:
            values[movement.bucket] += movement.amount
            entries.append(
                LedgerEntry(
                    id=new_entry_id(),
                    creator_id=self.creator_id,
                    type=movement.type,
                    bucket=movement.bucket,
                    amount=movement.amount,
                    currency=self.currency,
                    created_at=now,
                    balance_after=values[movement.bucket],
                    order_id=movement.order_id,
                    payout_id=movement.payout_id,
                )
            )
        lifetime = {name: int(getattr(self, name)) for name in LIFETIME_FIELDS}
        for name, delta in change.lifetime.items():
            if name not in LIFETIME_FIELDS:
                raise ValueError(f"unknown lifetime field {name}")
            lifetime[name] += delta
        # A reservation never goes below zero (refunds requested before reservations existed release 0).
        reserved = max(0, self.reserved + change.reserve)
        if values["on_hold"] < 0 or values["pending"] < 0:
            raise InsufficientFunds("The wallet does not hold this amount.")
        overdrawn = values["available"] - reserved < 0 and values["available"] < self.available
        if overdrawn and not change.allow_negative_available:
            raise InsufficientFunds()
        if change.require_cover and values["available"] + values["pending"] - reserved < 0:
            raise InsufficientFunds("The wallet does not cover this refund.")
        after = replace(self, **values, **lifetime, reserved=reserved, version=self.version + 1)  # type: ignore[arg-type]
        return after, entries


def sale_change(creator_id: str, order_id: str, gross: Money, fee: Money, *, held: bool) -> WalletChange:
    """A sale: ``sale`` +gross and ``fee`` -fee into ``pending`` during a hold, else ``available``."""
    bucket: Bucket = "pending" if held else "available"
    movements = [Movement("sale", bucket, gross.amount, order_id=order_id)]
    if fee.amount:
        movements.append(Movement("fee", bucket, -fee.amount, order_id=order_id))
    net = gross - fee
    return WalletChange(
        creator_id=creator_id,
        currency=gross.currency,
        movements=movements,
        lifetime={"lifetime_gross": gross.amount, "lifetime_fees": fee.amount, "lifetime_net": net.amount},
    )


def release_change(creator_id: str, order_id: str, amount: Money) -> WalletChange:
    """A sale's net leaves its hold: ``pending`` → ``available``."""
    return WalletChange(
        creator_id=creator_id,
        currency=amount.currency,
        movements=[
            Movement("release", "pending", -amount.amount, order_id=order_id),
            Movement("release", "available", amount.amount, order_id=order_id),
        ],
    )


@dataclass(frozen=True)
class Hold:
    """A sale's net waiting in ``pending`` until ``release_at`` (``day``/``sort_key`` locate its item)."""

    creator_id: str
    currency: str
    order_id: str
    amount: int
    release_at: str
    day: str = ""
    sort_key: str = ""


def ledger_differences(creator_id: str, balances: Sequence[Balance], sums: dict[tuple[str, str], int]) -> list[str]:
    """Every bucket whose balance differs from the sum of its ledger entries (empty when they agree)."""
    by_currency = {balance.currency: balance for balance in balances}
    problems = []
    for currency in sorted({currency for currency, _ in sums} | set(by_currency)):
        balance = by_currency.get(currency) or Balance(creator_id=creator_id, currency=currency)
        for bucket in BUCKETS:
            expected = sums.get((currency, bucket), 0)
            if balance.bucket(bucket) != expected:
                problems.append(
                    f"{creator_id} {currency} {bucket}: balance {balance.bucket(bucket)} != ledger sum {expected}"
                )
    return problems
