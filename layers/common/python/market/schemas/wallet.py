"""Request and response shapes of the wallet API (DESIGN.md: wallet, ledger entry, dashboard,
payout account, payout and refund rows). Money is strict integers in minor units.

Responses are read straight from the domain objects (``from_attributes``); a field the contract
names otherwise than the domain says where it comes from (``validation_alias``).

Beyond the contract: a ledger entry also says which ``bucket`` it moved (available, pending,
on_hold), which is what its ``balance_after`` is the balance of; payouts and dashboard rows
carry a ``failure_reason`` / ``refunds`` where there is one; a payout account says which
``gateway`` pays it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StringConstraints, ValidationInfo

from market.domain.payout import minimum_payout
from market.domain.stats import DayTotals, ProductTotals, Totals
from market.settings import get_settings

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


def _supported(currency: str) -> str:
    # Checked here, not only in the service, so that one 422 names every bad field.
    supported = get_settings().supported_currencies
    if currency not in supported:
        raise ValueError(f"must be one of {', '.join(supported)}")
    return currency


SupportedCurrency = Annotated[Currency, AfterValidator(_supported)]


def _at_least_the_minimum_payout(amount: int, info: ValidationInfo) -> int:
    currency = info.data.get("currency")  # declared before amount: present when it was valid
    if currency is not None and amount < minimum_payout(currency).amount:
        raise ValueError(f"the smallest payout in {currency} is {minimum_payout(currency).amount}")
    return amount


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# ---------------------------------------------------------------- wallet and ledger


class BalanceOut(_Out):
    currency: str
    available: int
    pending: int
    on_hold_for_payouts: int = Field(validation_alias="on_hold")
    lifetime_gross: int
    lifetime_fees: int
    lifetime_net: int
    lifetime_paid_out: int


class WalletOut(_Out):
    balances: list[BalanceOut]


class LedgerEntryOut(_Out):
    id: str
    type: str
    bucket: str
    amount: int
    currency: str
    order_id: str | None
    payout_id: str | None
    created_at: str
    balance_after: int


class LedgerPageOut(_Out):
    items: list[LedgerEntryOut]
    next_cursor: str | None


# ---------------------------------------------------------------- dashboard


class DashboardOut(_Out):
    model_config = ConfigDict(from_attributes=True, serialize_by_alias=True)

    from_: str = Field(validation_alias="first_day", serialization_alias="from")
    to: str = Field(validation_alias="last_day")
    # The dashboard's rows are the domain's own records (``market.domain.stats``), serialised as they are.
    totals: list[Totals]
    by_product: list[ProductTotals]
    by_day: list[DayTotals]


# ---------------------------------------------------------------- payout accounts and payouts


class PayoutAccountRequest(_Request):
    bank_code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{2,20}$")]
    account_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{6,20}$")]
    currency: SupportedCurrency
    # Which gateway pays the creator out in this currency (absent: the default one); the payouts service checks it.
    gateway: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None


class PayoutAccountOut(_Out):
    bank_code: str
    bank_name: str | None
    account_number: str = Field(validation_alias="account_masked")
    account_name: str
    currency: str
    gateway: str


class PayoutRequestBody(_Request):
    currency: SupportedCurrency
    amount: Annotated[StrictInt, Field(gt=0), AfterValidator(_at_least_the_minimum_payout)]


class PayoutOut(_Out):
    id: str
    amount: int
    currency: str
    status: str
    created_at: str
    updated_at: str
    failure_reason: str | None = None


class PayoutListOut(_Out):
    items: list[PayoutOut]
    next_cursor: str | None


# ---------------------------------------------------------------- refunds


class RefundRequestBody(_Request):
    amount: Annotated[StrictInt, Field(gt=0)] | None = None


class RefundOut(_Out):
    id: str
    amount: int
    currency: str
    status: str = Field(validation_alias="public_status")


class RefundAcceptedOut(BaseModel):
    order_id: str
    refund: RefundOut


class RefundDetailOut(_Out):
    """One refund of an order as its creator and admins see it: with ``needs_attention`` and capture returns."""

    id: str
    order_id: str
    kind: str
    amount: int
    currency: str
    status: str = Field(validation_alias="public_status")
    requested_by: str
    note: str | None = Field(default=None, validation_alias="failure_reason")
    created_at: str
    updated_at: str
    processed_at: str | None = None


class RefundListOut(BaseModel):
    items: list[RefundDetailOut]
