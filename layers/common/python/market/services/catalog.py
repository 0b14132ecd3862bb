"""Products: create, edit, publish, archive; who may see which; the public catalog.

The rules are the product's own (``market.domain.product``); this module reads, applies and saves
them, retrying when another write came first. Other services read a product with
``get_product(product_id)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from types import EllipsisType

from market import clock
from market.domain.errors import Conflict, NotFound
from market.domain.product import Product, check_price
from market.gateways.choice import check_restriction
from market.ids import new_id
from market.repositories import products
from market.repositories.products import ProductPage, VersionConflict
from market.settings import get_settings

_PRODUCT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SAVE_ATTEMPTS = 3


def is_product_id(product_id: str) -> bool:
    """Whether ``product_id`` can name a product at all (anything else is answered 404 without a read)."""
    return bool(_PRODUCT_ID.match(product_id))


def get_product(product_id: str) -> Product | None:
    """The product (any status) with its file's S3 key and original file name, or ``None``."""
    if not is_product_id(product_id):
        return None
    return products.get_product(product_id)


def create_product(
    creator_id: str,
    *,
    title: str,
    description: str,
    price: int,
    currency: str,
    gateways: Sequence[str] | None = None,
    pay_what_you_want: bool = False,
    suggested_price: int | None = None,
) -> Product:
    """A draft; ``gateways`` restricts the payment gateways buyers may use (``None``: every gateway)."""
    check_price(
        price,
        currency,
        get_settings().supported_currencies,
        pay_what_you_want=pay_what_you_want,
        suggested_price=suggested_price,
    )
    accepted = check_restriction(gateways, currency)
    now = clock.now()
    product = Product(
        id=new_id(),
        creator_id=creator_id,
        title=title,
        description=description,
        price=price,
        currency=currency,
        status="draft",
        created_at=now,
        updated_at=now,
        gateways=accepted,
        pay_what_you_want=pay_what_you_want,
        suggested_price=suggested_price,
    )
    return products.save(product)


def owned_product(product_id: str, creator_id: str) -> Product:
    """The product if ``creator_id`` owns it; 403 or 404 (see the module's rules) otherwise."""
    product = get_product(product_id)
    if product is None:
        raise NotFound("No such product.")
    product.check_owner(creator_id)
    return product


def _change(product_id: str, creator_id: str, change: Callable[[Product], Product | None]) -> Product:
    """Read, change and save with the version check; retried when another write came first."""
    for _ in range(_SAVE_ATTEMPTS):
        product = owned_product(product_id, creator_id)
        changed = change(product)
        if changed is None:
            return product
        try:
            return products.save(replace(changed, updated_at=clock.now()))
        except VersionConflict:
            continue
    raise Conflict("The product was changed by another request; try again.")


def update_product(
    creator_id: str,
    product_id: str,
    *,
    title: str | None = None,
    description: str | None = None,
    price: int | None = None,
    currency: str | None = None,
    gateways: Sequence[str] | EllipsisType | None = ...,
    pay_what_you_want: bool | None = None,
    suggested_price: int | None = None,
    clear_suggested_price: bool = False,
) -> Product:
    """Change the given fields (``None`` leaves a field as it is; for ``gateways``, ``...`` does, and
    ``None`` accepts every gateway again)."""
    supported = get_settings().supported_currencies

    def change(product: Product) -> Product:
        edited = product.edited(
            title=title,
            description=description,
            price=price,
            currency=currency,
            supported_currencies=supported,
            pay_what_you_want=pay_what_you_want,
            suggested_price=suggested_price,
            clear_suggested_price=clear_suggested_price,
        )
        if not isinstance(gateways, EllipsisType):
            return edited.with_gateways(check_restriction(gateways, edited.currency))
        if edited.currency != product.currency:
            check_restriction(edited.gateways, edited.currency)  # the accepted gateways must take the new currency
        return edited

    return _change(product_id, creator_id, change)


def publish_product(creator_id: str, product_id: str) -> Product:
    return _change(product_id, creator_id, lambda product: product.published(clock.now()))


def archive_product(creator_id: str, product_id: str) -> Product:
    """Hide the product from the catalog for good; archiving twice is harmless."""
    return _change(product_id, creator_id, lambda product: product.archived(clock.now()))


def visible_product(product_id: str, viewer_id: str | None) -> tuple[Product, bool]:
    """A published product for anyone, any status for its creator; and whether the viewer is its creator."""
    product = get_product(product_id)
    if product is None or not product.visible_to(viewer_id):
        raise NotFound("No such product.")
    return product, viewer_id is not None and viewer_id == product.creator_id


def list_catalog(limit: int, cursor: str | None, *, creator_id: str | None = None) -> ProductPage:
    """Published products, newest first; only one creator's when ``creator_id`` is given."""
    if creator_id is not None:
        return products.list_by_creator(creator_id, limit, cursor, published_only=True)
    return products.list_catalog(limit, cursor)


def list_creator_products(creator_id: str, limit: int, cursor: str | None) -> ProductPage:
    """The creator's own products in every status, newest first."""
    return products.list_by_creator(creator_id, limit, cursor, published_only=False)
