"""The buyer's library and fresh download links: every paid order, each with a new one-time link.

Both are rate-limited (a page of the library mints a link per item) by ``market.services.limits``:
the ``download-link`` scope counts fresh links per order (its counter rides in the grant's
transaction), ``library`` counts library pages per buyer; 429 with ``Retry-After`` beyond.
"""

from __future__ import annotations

import re

from market.domain.errors import Conflict, NotFound
from market.domain.grant import DownloadLink, Grant, LibraryItem, LibraryPage
from market.domain.order import Order
from market.domain.product import Product
from market.domain.user import Caller
from market.observability import logger
from market.repositories import grants as grants_repo
from market.repositories import orders as orders_repo
from market.services import catalog, guests, limits
from market.services.downloads import file_of, mint_link, new_grant, public_base_url

_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def issue_download_link(caller: Caller, order_id: str, request_host: str | None = None) -> DownloadLink:
    """A fresh link for the caller's own order: 404 for anyone else's, 409 unless paid, 429 past the limit."""
    order = orders_repo.get_order(order_id) if _ORDER_ID.match(order_id) else None
    if order is None or order.buyer_id != caller.user_id:
        raise NotFound("No order with this id.")
    return issue_link_for(order, request_host)


def issue_guest_download_link(order_id: str, token: str | None, request_host: str | None = None) -> DownloadLink:
    """A fresh link for the guest order ``token`` opens (``X-Guest-Token``): 404 for any other order."""
    return issue_link_for(guests.guest_order(order_id, token), request_host)


def issue_link_for(order: Order, request_host: str | None = None) -> DownloadLink:
    """A fresh link for an order its buyer (or its guest token) has opened: 409 unless paid, 429 past the limit."""
    if not order.gives_access:
        raise Conflict(f"This order is {order.status}; only a paid order has a download link.")
    counters = limits.slots(("download-link", order.id))
    with counters.counting() as rate_ops:  # one transaction: the grant and the order's link counter
        file_of(order.product_id)
        return mint_link(order, public_base_url(request_host), also=rate_ops)


def library(caller: Caller, limit: int, cursor: str | None, request_host: str | None = None) -> LibraryPage:
    """The caller's paid orders, newest payment first, each with a fresh one-time link.

    Entries whose order no longer gives access (refunded) are left out, so a page may hold fewer
    than ``limit`` items while ``next_cursor`` still leads on.
    """
    limits.take(("library", caller.user_id))
    base_url = public_base_url(request_host)
    page = grants_repo.list_library(caller.user_id, limit, cursor)
    orders = orders_repo.get_orders([entry.order_id for entry in page.items])
    products: dict[str, Product | None] = {}
    items: list[LibraryItem] = []
    new_grants: list[Grant] = []
    for entry in page.items:
        order = orders.get(entry.order_id)
        if order is None or order.buyer_id != caller.user_id or not order.gives_access:
            continue
        if order.product_id not in products:
            products[order.product_id] = catalog.get_product(order.product_id)
        product = products[order.product_id]
        if product is None:
            logger.error("purchased product is missing", order_id=order.id, product_id=order.product_id)
            continue
        link = None
        if product.file is not None:
            grant, link = new_grant(order, base_url)
            new_grants.append(grant)
        items.append(LibraryItem(order_id=order.id, product=product, file=product.file, download=link))
    grants_repo.put_grants(new_grants)
    return LibraryPage(items=items, next_cursor=page.next_cursor)
