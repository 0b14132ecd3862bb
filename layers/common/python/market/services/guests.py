"""Guest orders: read one with its guest token, and email a guest's links again.

The rules are ``market.domain.guest``'s: a token opens its own order and nothing else, and a
missing or wrong one answers 404 as an unknown order does. ``POST /orders/resend`` answers 202
whatever the address (no hint whether it bought anything); each paid guest order of that address
gets a ``resend`` delivery message (a fresh link, a fresh email). Rate limits per address and per
source IP (``market.services.limits``) are taken before anything is looked up.
"""

from __future__ import annotations

import re

from market.domain.errors import NotFound
from market.domain.order import Order
from market.messages import DeliveryMessage, send
from market.observability import logger
from market.repositories import orders as orders_repo
from market.services import limits

_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
# The most guest orders of one address a resend emails again (newest first).
RESEND_MAX_ORDERS = 50


def guest_order(order_id: str, token: str | None) -> Order:
    """The guest order that ``token`` opens; 404 for a missing or wrong token or an unknown order."""
    order = orders_repo.get_order(order_id) if _ORDER_ID.match(order_id) else None
    if order is None or not order.opened_by_guest_token(token):
        raise NotFound("No order with this id.")
    return order


def resend(email: str, source_ip: str) -> int:
    """Queue a fresh email for every paid guest order of ``email``; how many (never shown to the caller)."""
    limits.check_resend(email, source_ip)
    orders = [order for order in orders_repo.guest_orders(email, RESEND_MAX_ORDERS) if order.gives_access]
    for order in orders:
        send(DeliveryMessage(order_id=order.id, product_id=order.product_id, resend=True))
    logger.info("guest resend requested", orders=len(orders))
    return len(orders)
