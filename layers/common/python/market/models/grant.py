"""Delivery items: download grants and the buyer's library.

- download grant: ``GRANT#<sha256 of the token>`` / ``GRANT``; GSI1 ``ORDER_GRANTS#<order>`` /
  ``<created_at>`` (every grant of an order, to revoke them); order, buyer, product,
  ``uses_left``, ``created_at``, ``revoked`` (set by a revocation) and ``expires_at`` (epoch
  seconds; also the table's TTL attribute, so DynamoDB removes spent grants by itself). The token
  itself is never stored: whoever reads the table cannot download.
- library entry: ``LIBRARY#<buyer>`` / ``ORDER#<paid_at>#<order>``: one per delivered paid order,
  written by the delivery consumer. The buyer's library is one query of this partition, newest
  payment first, so unpaid, failed and expired orders never cost a read (no filter, no GSI).
  Product details and the file come from the product when the library is read (archived products
  stay, a re-uploaded file is the one served); the order's status is checked at read time too.
- delivery claim: ``DELIVERY#<order>`` / ``CLAIM``: a short lease a delivery consumer takes
  before it sends the email, so two copies of the queue message (a webhook delivered twice, a
  visibility timeout passing during a slow send) do not both send; ``expires_at`` (TTL) a day on.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from market.models.base import TableModel

GRANT_SK = "GRANT"
CLAIM_SK = "CLAIM"


def grant_pk(token_hash: str) -> str:
    return f"GRANT#{token_hash}"


def order_grants_pk(order_id: str) -> str:
    return f"ORDER_GRANTS#{order_id}"


def library_pk(buyer_id: str) -> str:
    return f"LIBRARY#{buyer_id}"


def library_sk(paid_at: str, order_id: str) -> str:
    return f"ORDER#{paid_at}#{order_id}"


def delivery_pk(order_id: str) -> str:
    return f"DELIVERY#{order_id}"


class GrantItem(TableModel):
    order_id = UnicodeAttribute()
    buyer_id = UnicodeAttribute(null=True)  # absent: a guest order
    product_id = UnicodeAttribute()
    uses_left = NumberAttribute()
    created_at = UnicodeAttribute()
    revoked = BooleanAttribute(null=True)
    revoked_at = UnicodeAttribute(null=True)


class LibraryEntryItem(TableModel):
    order_id = UnicodeAttribute()
    buyer_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    paid_at = UnicodeAttribute()


class DeliveryClaimItem(TableModel):
    order_id = UnicodeAttribute()
    claimed_until = NumberAttribute()  # epoch seconds
    claim_id = UnicodeAttribute()  # random, per attempt: only its holder releases it
