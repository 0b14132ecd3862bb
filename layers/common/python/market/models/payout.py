"""Payouts and the payout accounts they are sent to.

- payout: ``PAYOUT#<id>`` / ``PAYOUT``; GSI1 ``CREATOR_PAYOUTS#<creator>`` / ``<created_at>#<id>``
  (the creator's payouts, newest first). The payout id is also the gateway transfer reference,
  so a transfer webhook finds its payout with one read. Status: ``pending`` (no transfer yet),
  ``processing`` (transfer initiated), ``paid``, ``failed``, ``reversed``. The payout is written in
  the same transaction that takes its amount out of ``available`` (``held``: payouts made before
  that model held it in ``on_hold``), and every later status change rides in the transaction
  that moves money, if any.
- payout account: ``WALLET#<creator>`` / ``PAYOUT_ACCOUNT#<currency>``: one per currency, with the
  gateway the creator chose to be paid out through, the resolved bank account (masked number,
  account name) and that gateway's transfer recipient code. The recipient code is all a transfer
  needs, and only the gateway reads it (``market.gateways``): a handle of the gateway's own where it
  keeps recipients, else the bank code and account number themselves, the one place the full number
  is then kept (copied onto each payout, as every recipient code is).
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from market.models.base import TableModel

PAYOUT_SK = "PAYOUT"


def payout_pk(payout_id: str) -> str:
    return f"PAYOUT#{payout_id}"


def creator_payouts_pk(creator_id: str) -> str:
    return f"CREATOR_PAYOUTS#{creator_id}"


def payout_account_sk(currency: str) -> str:
    return f"PAYOUT_ACCOUNT#{currency}"


class PayoutItem(TableModel):
    id = UnicodeAttribute(attr_name="payout_id")
    creator_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    gateway = UnicodeAttribute()
    recipient_code = UnicodeAttribute()
    account_masked = UnicodeAttribute(null=True)
    bank_code = UnicodeAttribute(null=True)
    transfer_code = UnicodeAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    held = BooleanAttribute(null=True)  # absent: a payout of the old model (its amount in on_hold)


class PayoutAccountItem(TableModel):
    creator_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    gateway = UnicodeAttribute()
    bank_code = UnicodeAttribute()
    bank_name = UnicodeAttribute(null=True)
    account_masked = UnicodeAttribute()
    account_name = UnicodeAttribute()
    recipient_code = UnicodeAttribute()
    updated_at = UnicodeAttribute()
