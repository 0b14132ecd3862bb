"""Creator money: balances, the ledger beside them, sales counters, holds.

- balance: ``WALLET#<creator>`` / ``BALANCE#<currency>``: available, pending, on_hold_for_payouts,
  lifetime totals, ``reserved`` (net debits of refunds in flight: no ledger entries) and a
  ``version`` that every change conditions on and increments.
- ledger entry: ``WALLET#<creator>`` / ``LEDGER#<created_at>#<id>``: one movement of one bucket
  (available, pending or on_hold). For every wallet and bucket, the sum of the entries equals the
  balance; a movement between buckets is two entries in the same transaction.
- sales counters: ``STATS#<creator>`` / ``DAY#<date>#<currency>`` and
  ``DAYPRODUCT#<date>#<product>#<currency>`` (ADD-updated by settlement and refunds), so the
  dashboard reads one key range per view.
- hold: ``HOLDS#<release date>`` / ``<release_at>#<order id>``: a sale's net amount waiting in
  ``pending`` until its hold period passes; the release job reads the days up to today.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from market.models.base import TableModel


def wallet_pk(creator_id: str) -> str:
    return f"WALLET#{creator_id}"


def balance_sk(currency: str) -> str:
    return f"BALANCE#{currency}"


def stats_pk(creator_id: str) -> str:
    return f"STATS#{creator_id}"


def holds_pk(day: str) -> str:
    return f"HOLDS#{day}"


class WalletBalanceItem(TableModel):
    creator_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    available = NumberAttribute(default=0)
    pending = NumberAttribute(default=0)
    on_hold = NumberAttribute(default=0)
    lifetime_gross = NumberAttribute(default=0)
    lifetime_fees = NumberAttribute(default=0)
    lifetime_net = NumberAttribute(default=0)
    lifetime_paid_out = NumberAttribute(default=0)
    lifetime_refunds = NumberAttribute(default=0)
    reserved = NumberAttribute(default=0)
    version = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(null=True)


class LedgerEntryItem(TableModel):
    id = UnicodeAttribute(attr_name="entry_id")
    creator_id = UnicodeAttribute()
    type = UnicodeAttribute()  # sale, fee, release, payout, payout_reversal, refund, refund_fee_reversal, adjustment
    bucket = UnicodeAttribute()  # available, pending, on_hold
    amount = NumberAttribute()  # signed: credits > 0, debits < 0
    currency = UnicodeAttribute()
    balance_after = NumberAttribute()  # of this bucket
    order_id = UnicodeAttribute(null=True)
    payout_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class SalesCounterItem(TableModel):
    creator_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    day = UnicodeAttribute()
    product_id = UnicodeAttribute(null=True)
    product_title = UnicodeAttribute(null=True)
    sales = NumberAttribute(default=0)
    gross = NumberAttribute(default=0)
    fees = NumberAttribute(default=0)
    net = NumberAttribute(default=0)
    refunds = NumberAttribute(default=0)


class HoldItem(TableModel):
    creator_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    order_id = UnicodeAttribute()
    amount = NumberAttribute()
    release_at = UnicodeAttribute()
