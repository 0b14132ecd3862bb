"""Discount codes of a creator: create (every bad field named), list, deactivate.

The rules of a code are the discount's own (``market.domain.discount``); checkout applies them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from market import clock
from market.domain.discount import Discount, check_new_discount, normalise_code
from market.domain.errors import FieldError, NotFound, ValidationFailed
from market.repositories import discounts as discounts_repo
from market.repositories import products as products_repo
from market.repositories.discounts import DiscountPage
from market.settings import get_settings

# A code covers at most this many products (the whole list is stored on the code's item).
MAX_PRODUCTS_PER_CODE = 500


def _creator_product_ids(creator_id: str) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = products_repo.list_by_creator(creator_id, 100, cursor, published_only=False)
        ids.extend(product.id for product in page.items if product.status != "archived")
        cursor = page.next_cursor
        if cursor is None or len(ids) >= MAX_PRODUCTS_PER_CODE:
            return ids[:MAX_PRODUCTS_PER_CODE]


def create_discount(
    creator_id: str,
    *,
    code: str,
    percent_off: int | None = None,
    amount_off: int | None = None,
    currency: str | None = None,
    product_ids: Sequence[str] | None = None,
    max_redemptions: int | None = None,
    expires_at: datetime | None = None,
) -> Discount:
    now = clock.now()
    check_new_discount(
        code=code,
        percent_off=percent_off,
        amount_off=amount_off,
        currency=currency,
        max_redemptions=max_redemptions,
        expires_at=expires_at,
        now=now,
        supported_currencies=get_settings().supported_currencies,
    )
    if product_ids is None:
        chosen = _creator_product_ids(creator_id)
    else:
        chosen = list(dict.fromkeys(product_ids))
        foreign = [pid for pid in chosen if (p := products_repo.get(pid)) is None or p.creator_id != creator_id]
        if foreign:
            raise ValidationFailed([FieldError("product_ids", f"not your products: {', '.join(foreign[:10])}")])
    discount = Discount(
        creator_id=creator_id,
        code=normalise_code(code),
        product_ids=tuple(chosen),
        created_at=now,
        percent_off=percent_off,
        amount_off=amount_off,
        currency=currency,
        max_redemptions=max_redemptions,
        expires_at=expires_at,
    )
    return discounts_repo.create(discount)


def list_discounts(creator_id: str, limit: int, cursor: str | None) -> DiscountPage:
    return discounts_repo.list_for(creator_id, limit, cursor)


def delete_discount(creator_id: str, code: str) -> None:
    """Make the code inactive (orders already made keep their price); 404 when there is none."""
    if not discounts_repo.deactivate(creator_id, normalise_code(code)):
        raise NotFound("No discount code has this name.")
