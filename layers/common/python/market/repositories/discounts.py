"""Discount codes (keys in ``market.models.discount``): create, read, list, deactivate, and the
transaction items that reserve a use, give it back, or take it again for a late payment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from market.cursors import decode_cursor, encode_cursor
from market.domain.discount import Discount
from market.domain.errors import Conflict
from market.models.base import from_domain, to_domain
from market.models.discount import DiscountItem, code_sk, discounts_pk
from market.repositories.transactions import TxOp, condition_failed


class DiscountCodeTaken(Conflict):
    slug = "discount-code-taken"

    def __init__(self) -> None:
        super().__init__("You already have a discount code with this name.")


@dataclass(frozen=True)
class DiscountPage:
    items: list[Discount]
    next_cursor: str | None


def _discount(item: DiscountItem) -> Discount:
    return to_domain(item, Discount, product_ids=tuple(item.product_ids or ()))


def _key(creator_id: str, code: str) -> DiscountItem:
    return DiscountItem(discounts_pk(creator_id), code_sk(code))


def create(discount: Discount) -> Discount:
    item = from_domain(_key(discount.creator_id, discount.code), discount)
    try:
        item.save(condition=DiscountItem.PK.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            raise DiscountCodeTaken from error
        raise
    return discount


def get(creator_id: str, code: str) -> Discount | None:
    try:
        return _discount(DiscountItem.get(discounts_pk(creator_id), code_sk(code), consistent_read=True))
    except DoesNotExist:
        return None


def list_for(creator_id: str, limit: int, cursor: str | None) -> DiscountPage:
    scope = f"discounts:{creator_id}"
    result = DiscountItem.query(
        discounts_pk(creator_id),
        DiscountItem.SK.startswith("CODE#"),
        limit=limit,
        last_evaluated_key=decode_cursor(cursor, scope),
    )
    items = [_discount(item) for item in result]
    return DiscountPage(items=items, next_cursor=encode_cursor(result.last_evaluated_key, scope))


def deactivate(creator_id: str, code: str) -> bool:
    """Make the code inactive; False when there is no such code."""
    try:
        _key(creator_id, code).update(actions=[DiscountItem.active.set(False)], condition=DiscountItem.PK.exists())
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def reserve_use_op(discount: Discount, now: datetime) -> TxOp:
    """A transaction item taking one use of the code while it is active, unexpired and not used up."""
    condition: Any = DiscountItem.active == True  # noqa: E712 - a pynamodb condition
    condition &= DiscountItem.expires_at.does_not_exist() | (DiscountItem.expires_at > now)
    condition &= DiscountItem.max_redemptions.does_not_exist() | (
        DiscountItem.redemptions < DiscountItem.max_redemptions
    )
    key = _key(discount.creator_id, discount.code)
    return TxOp("discount", lambda tx: tx.update(key, actions=[DiscountItem.redemptions.add(1)], condition=condition))


def give_back_use_op(creator_id: str, code: str) -> TxOp:
    """A transaction item returning the use an order failed or expired with."""
    key = _key(creator_id, code)
    return TxOp("discount", lambda tx: tx.update(key, actions=[DiscountItem.redemptions.add(-1)]))


def retake_use_op(creator_id: str, code: str) -> TxOp:
    """A late payment of an order whose use was given back takes it again, even past the maximum."""
    key = _key(creator_id, code)
    return TxOp("discount", lambda tx: tx.update(key, actions=[DiscountItem.redemptions.add(1)]))
