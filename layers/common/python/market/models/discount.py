"""Discount codes: ``DISCOUNT#<creator>`` / ``CODE#<CODE>`` (upper case), one item per code.

``redemptions`` is ADD-updated inside the transaction that creates an order with the code (with
the conditions that keep ``max_redemptions``) and inside the one that fails or expires it. The
code's own end of validity is ``valid_until``: ``expires_at`` is the table's TTL attribute, which
would make DynamoDB delete the code, so discount items do not carry it.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute

from market.models.base import IsoTimeAttribute, TableModel


def discounts_pk(creator_id: str) -> str:
    return f"DISCOUNT#{creator_id}"


def code_sk(code: str) -> str:
    return f"CODE#{code}"


class DiscountItem(TableModel):
    creator_id = UnicodeAttribute()
    code = UnicodeAttribute()
    product_ids = ListAttribute(of=UnicodeAttribute)
    percent_off = NumberAttribute(null=True)
    amount_off = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    max_redemptions = NumberAttribute(null=True)
    redemptions = NumberAttribute(default=0)
    expires_at = IsoTimeAttribute(attr_name="valid_until", null=True)  # type: ignore[assignment]  # not the TTL
    active = BooleanAttribute(default=True)
    created_at = IsoTimeAttribute()
