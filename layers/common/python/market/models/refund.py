"""Refunds of paid orders.

- refund: ``REFUNDS#<order id>`` / ``REFUND#<refund id>``: amount, currency, the gateway's refund
  id and a status: ``requested`` (written before the gateway call; shown as ``pending``),
  ``pending`` (the gateway accepted it), ``processed``, ``failed``. The move to ``processed`` is
  conditioned on the previous status and rides in the transaction that debits the creator, so
  a repeated ``refund.processed`` can never debit twice. ``reserved_debit`` is what its request
  reserved in the wallet; ``kind`` ``capture`` marks the return of a captured payment that never
  settled the order (no wallet, totals or order changes).
- gateway refund claim: ``REFUNDS#<order id>`` / ``GATEWAY#<gateway refund id>`` -> our refund id,
  written in the transaction that stores the gateway's id on a refund: one gateway refund is
  never matched to two of ours (a lost answer is recovered by listing the transaction's refunds).
- open refund marker: ``OPENREFUND#<yyyy-mm-dd>`` / ``<created_at>#<order id>#<refund id>`` while
  a refund is open: the refund reconciler's worklist, removed in the transaction that closes it.
- refund totals: ``REFUNDS#<order id>`` / ``TOTALS``: ``committed`` (requested + pending +
  processed amounts) and a ``version``. A refund request reserves its amount here with an
  optimistic condition, so concurrent requests can never refund more than the order's amount.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from market.models.base import TableModel

TOTALS_SK = "TOTALS"


def refunds_pk(order_id: str) -> str:
    return f"REFUNDS#{order_id}"


def refund_sk(refund_id: str) -> str:
    return f"REFUND#{refund_id}"


def gateway_claim_sk(gateway_refund_id: str) -> str:
    return f"GATEWAY#{gateway_refund_id}"


def open_refund_pk(day: str) -> str:
    return f"OPENREFUND#{day}"


class RefundItem(TableModel):
    id = UnicodeAttribute(attr_name="refund_id")
    order_id = UnicodeAttribute()
    creator_id = UnicodeAttribute()
    gateway = UnicodeAttribute()
    gateway_refund_id = UnicodeAttribute(null=True)
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    requested_by = UnicodeAttribute()
    failure_reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    processed_at = UnicodeAttribute(null=True)
    reserved_debit = NumberAttribute(null=True)
    kind = UnicodeAttribute(null=True)
    reference = UnicodeAttribute(null=True)


class GatewayRefundClaimItem(TableModel):
    refund_id = UnicodeAttribute()


class OpenRefundMarker(TableModel):
    order_id = UnicodeAttribute()
    refund_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


class RefundTotalsItem(TableModel):
    order_id = UnicodeAttribute()
    committed = NumberAttribute(default=0)
    version = NumberAttribute(default=0)
