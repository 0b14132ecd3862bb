"""Orders and what pins a payment to one order.

- order: ``ORDER#<id>`` / ``ORDER``; GSI1 ``BUYER#<buyer>`` / ``<created_at>#<id>`` (the buyer's
  history; a guest order's is ``GUEST#<sha256 of the address>``, found by ``POST /orders/resend`` and
  in nobody's history); GSI2 ``CREATOR_ORDERS#<creator>`` / ``<created_at>#<id>`` (the creator's sales).
- payment reference: ``REF#<gateway>#<reference>`` / ``REF`` -> order id. A reference belongs to
  exactly one order, so a cheap order's reference can never pay for a dear one.
- transaction: ``TXN#<gateway>#<reference>`` / ``TXN``: what the gateway verified. Its conditional
  put (``attribute_not_exists``) inside the settlement transaction is the exactly-once guard.
- pending marker: ``PENDING#<yyyy-mm-dd>`` / ``<created_at>#<order id>`` while the order is
  pending: the reconciler's worklist, removed in the transaction that settles, fails or expires it.
- idempotency key: ``IDEMPOTENCY#<scope>#<caller>#<key>`` / ``IDEMPOTENCY`` -> the order (or
  payout, or refund) it created and a hash of the request, written in the same transaction.
- open orders of a buyer: ``OPENORDERS#<buyer>`` / ``COUNT``: how many of the buyer's orders are
  pending. The order's creation adds 1 (conditioned on staying within the limit), the transaction
  that moves it out of ``pending`` takes 1 off; no other write touches it.
- early event: ``EARLY#<gateway>#<reference>`` / ``<event>#<subject>``: a gateway event that came
  before the record it concerns (no order has the reference, or no refund of ours matches the
  gateway's); the path that creates the record applies it, and TTL removes what never matched.
- reconciler cursor: ``RECONCILER#<worklist>`` / ``CURSOR``: where a scheduled sweep of a
  day-partitioned worklist (pending orders, open refunds) goes on from.
- one checkout attempt after another: each has its own reference (``REF#`` item), the order keeps
  the latest in ``reference`` and counts them in ``checkout_attempt``.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from market.models.base import TableModel

ORDER_SK = "ORDER"
REF_SK = "REF"
TXN_SK = "TXN"
IDEMPOTENCY_SK = "IDEMPOTENCY"


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def guest_orders_pk(email_key: str) -> str:
    """GSI1 partition of a guest's orders (``market.domain.guest.guest_email_key`` of the address)."""
    return f"GUEST#{email_key}"


def reference_pk(gateway: str, reference: str) -> str:
    return f"REF#{gateway}#{reference}"


def transaction_pk(gateway: str, reference: str) -> str:
    return f"TXN#{gateway}#{reference}"


def pending_pk(day: str) -> str:
    return f"PENDING#{day}"


def idempotency_pk(scope: str, caller_id: str, key: str) -> str:
    return f"IDEMPOTENCY#{scope}#{caller_id}#{key}"


def open_orders_pk(buyer_id: str) -> str:
    return f"OPENORDERS#{buyer_id}"


def early_event_pk(gateway: str, reference: str) -> str:
    return f"EARLY#{gateway}#{reference}"


def reconciler_pk(worklist: str) -> str:
    return f"RECONCILER#{worklist}"


OPEN_ORDERS_SK = "COUNT"
CURSOR_SK = "CURSOR"


class OrderItem(TableModel):
    id = UnicodeAttribute(attr_name="order_id")
    buyer_id = UnicodeAttribute(null=True)  # absent: a guest order
    buyer_email = UnicodeAttribute()
    product_id = UnicodeAttribute()
    product_title = UnicodeAttribute()
    creator_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()  # pending, paid, failed, expired, refunded, partially_refunded
    gateway = UnicodeAttribute()
    reference = UnicodeAttribute()
    authorization_url = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    list_price = NumberAttribute(null=True)
    discount_code = UnicodeAttribute(null=True)
    discount_amount = NumberAttribute(null=True)
    guest_token_hash = UnicodeAttribute(null=True)  # SHA-256 of a guest order's token
    failure_reason = UnicodeAttribute(null=True)
    platform_fee = NumberAttribute(null=True)
    net_amount = NumberAttribute(null=True)
    refunded_amount = NumberAttribute(null=True)
    # Set by the delivery consumer (with a condition) when the email went out.
    delivery_email_sent_at = UnicodeAttribute(null=True)
    checkout_attempt = NumberAttribute(null=True)


class ReferenceItem(TableModel):
    order_id = UnicodeAttribute()
    gateway = UnicodeAttribute()
    reference = UnicodeAttribute()


class TransactionItem(TableModel):
    order_id = UnicodeAttribute()
    gateway = UnicodeAttribute()
    reference = UnicodeAttribute()
    gateway_transaction_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    gateway_fee = NumberAttribute(null=True)
    platform_fee = NumberAttribute()
    net_amount = NumberAttribute()
    paid_at = UnicodeAttribute(null=True)
    verified_at = UnicodeAttribute()


class PendingOrderMarker(TableModel):
    order_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


class IdempotencyItem(TableModel):
    scope = UnicodeAttribute()
    request_hash = UnicodeAttribute()
    resource_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


class OpenOrdersItem(TableModel):
    open = NumberAttribute(default=0)


class EarlyEventItem(TableModel):
    gateway = UnicodeAttribute()
    reference = UnicodeAttribute()
    event = UnicodeAttribute()
    subject = UnicodeAttribute(null=True)
    received_at = UnicodeAttribute()


class ReconcilerCursorItem(TableModel):
    worklist = UnicodeAttribute()
    first_day = UnicodeAttribute()
    day = UnicodeAttribute()
    after = UnicodeAttribute(null=True)
    oldest_seen = UnicodeAttribute(null=True)
    fresh_after = UnicodeAttribute(null=True)
    sweeps = NumberAttribute(default=0)
    updated_at = UnicodeAttribute()
