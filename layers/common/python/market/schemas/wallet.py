"""Request and response shapes of the wallet API (DESIGN.md: wallet, ledger entry, dashboard,
payout account, payout and refund rows). Money is strict integers in minor units.

Beyond the contract: a ledger entry also says which ``bucket`` it moved (available, pending,
on_hold), which is what its ``balance_after`` is the balance of; payouts and dashboard rows
carry a ``failure_reason`` / ``refunds`` where there is one.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from market.repositories.payouts import Payout, PayoutAccount
from market.repositories.refunds import Refund
from market.repositories.wallets import Balance, LedgerEntry
from market.services.dashboard import Dashboard

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- wallet and ledger


class BalanceOut(BaseModel):
    currency: str
    available: int
    pending: int
    on_hold_for_payouts: int
    lifetime_gross: int
    lifetime_fees: int
    lifetime_net: int
    lifetime_paid_out: int

    @classmethod
    def of(cls, balance: Balance) -> BalanceOut:
        return cls(
            currency=balance.currency,
            available=balance.available,
            pending=balance.pending,
            on_hold_for_payouts=balance.on_hold,
            lifetime_gross=balance.lifetime_gross,
            lifetime_fees=balance.lifetime_fees,
            lifetime_net=balance.lifetime_net,
            lifetime_paid_out=balance.lifetime_paid_out,
        )


class WalletOut(BaseModel):
    balances: list[BalanceOut]


class LedgerEntryOut(BaseModel):
    id: str
    type: str
    bucket: str
    amount: int
    currency: str
    order_id: str | None
    payout_id: str | None
    created_at: str
    balance_after: int

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerEntryOut:
        return cls(
            id=entry.id,
            type=entry.type,
            bucket=entry.bucket,
            amount=entry.amount,
            currency=entry.currency,
            order_id=entry.order_id,
            payout_id=entry.payout_id,
            created_at=entry.created_at,
            balance_after=entry.balance_after,
        )


class LedgerPageOut(BaseModel):
    items: list[LedgerEntryOut]
    next_cursor: str | None


# ---------------------------------------------------------------- dashboard


class TotalsOut(BaseModel):
    currency: str
    sales: int
    gross: int
    fees: int
    net: int
    refunds: int


class ProductTotalsOut(BaseModel):
    product_id: str
    title: str
    currency: str
    sales: int
    gross: int
    net: int
    refunds: int


class DayTotalsOut(BaseModel):
    date: str
    currency: str
    sales: int
    gross: int
    net: int
    refunds: int


class DashboardOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: str = Field(alias="from")
    to: str
    totals: list[TotalsOut]
    by_product: list[ProductTotalsOut]
    by_day: list[DayTotalsOut]

    @classmethod
    def of(cls, view: Dashboard) -> DashboardOut:
        return cls(
            from_=view.first_day,
            to=view.last_day,
            totals=[TotalsOut(**vars(t)) for t in view.totals],
            by_product=[ProductTotalsOut(**vars(p)) for p in view.by_product],
            by_day=[DayTotalsOut(**vars(d)) for d in view.by_day],
        )


# ---------------------------------------------------------------- payout accounts and payouts


class PayoutAccountRequest(_Request):
    bank_code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{2,20}$")]
    account_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{6,20}$")]
    currency: Currency


class PayoutAccountOut(BaseModel):
    bank_code: str
    bank_name: str | None
    account_number: str
    account_name: str
    currency: str

    @classmethod
    def of(cls, account: PayoutAccount) -> PayoutAccountOut:
        return cls(
            bank_code=account.bank_code,
            bank_name=account.bank_name,
            account_number=account.account_masked,
            account_name=account.account_name,
            currency=account.currency,
        )


class PayoutRequestBody(_Request):
    amount: Annotated[StrictInt, Field(gt=0)]
    currency: Currency


class PayoutOut(BaseModel):
    id: str
    amount: int
    currency: str
    status: str
    created_at: str
    updated_at: str
    failure_reason: str | None = None

    @classmethod
    def of(cls, payout: Payout) -> PayoutOut:
        return cls(
            id=payout.id,
            amount=payout.amount,
            currency=payout.currency,
            status=payout.status,
            created_at=payout.created_at,
            updated_at=payout.updated_at,
            failure_reason=payout.failure_reason,
        )


class PayoutListOut(BaseModel):
    items: list[PayoutOut]
    next_cursor: str | None


# ---------------------------------------------------------------- refunds


class RefundRequestBody(_Request):
    amount: Annotated[StrictInt, Field(gt=0)] | None = None


class RefundOut(BaseModel):
    id: str
    amount: int
    currency: str
    status: str


class RefundAcceptedOut(BaseModel):
    order_id: str
    refund: RefundOut

    @classmethod
    def of(cls, refund: Refund, status: str) -> RefundAcceptedOut:
        return cls(
            order_id=refund.order_id,
            refund=RefundOut(id=refund.id, amount=refund.amount, currency=refund.currency, status=status),
        )
