"""Products: create, edit, publish, archive; who may see which; the public catalog.

Rules:
- only creators create products; a new product is a draft;
- only its creator changes a product: another creator gets 403 when the product is public
  (its existence is no secret) and 404 when it is a draft or archived (it must not leak);
- a product is published only with a verified file attached (409 otherwise);
- archiving hides a product from the catalog and from everyone but its creator; buyers keep
  their access through their orders (``get_product`` still returns it);
- an archived product can no longer be changed, published or given a new file (409).

Other services read a product with ``get_product(product_id)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from market import clock
from market.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from market.ids import new_id
from market.models.product import Product
from market.money import MINIMUM_PRICE
from market.repositories import products
from market.repositories.products import ProductPage, VersionConflict
from market.settings import get_settings

_PRODUCT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SAVE_ATTEMPTS = 3


def get_product(product_id: str) -> Product | None:
    """The product (any status) with its file's S3 key and original file name, or ``None``."""
    if not _PRODUCT_ID.match(product_id):
        return None
    return products.get_product(product_id)


def check_price(price: int, currency: str) -> None:
    """422 unless ``currency`` is supported and ``price`` reaches its minimum."""
    settings = get_settings()
    if currency not in settings.supported_currencies:
        supported = ", ".join(settings.supported_currencies)
        raise ValidationFailed([FieldError("currency", f"must be one of {supported}")])
    minimum = MINIMUM_PRICE.get(currency, 1)
    if price < minimum:
        raise ValidationFailed([FieldError("price", f"must be at least {minimum} ({currency} minor units)")])


def create_product(creator_id: str, *, title: str, description: str, price: int, currency: str) -> Product:
    check_price(price, currency)
    now = clock.now()
    product = Product(
        id=new_id(),
        creator_id=creator_id,
        title=title,
        description=description,
        price=price,
        currency=currency,
        status="draft",
        file=None,
        file_error=None,
        created_at=now,
        updated_at=now,
        published_at=None,
        archived_at=None,
        version=0,
    )
    return products.save(product)


def owned_product(product_id: str, creator_id: str) -> Product:
    """The product if ``creator_id`` owns it; 403 or 404 (see the module's rules) otherwise."""
    product = get_product(product_id)
    if product is None:
        raise NotFound("No such product.")
    if product.creator_id != creator_id:
        if product.is_public:
            raise Forbidden("Only the product's creator may change it.")
        raise NotFound("No such product.")
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
) -> Product:
    """Change the given fields (``None`` leaves a field as it is)."""

    def change(product: Product) -> Product:
        if product.status == "archived":
            raise Conflict("An archived product cannot be changed.")
        new_price = product.price if price is None else price
        new_currency = product.currency if currency is None else currency
        if price is not None or currency is not None:
            check_price(new_price, new_currency)
        return replace(
            product,
            title=product.title if title is None else title,
            description=product.description if description is None else description,
            price=new_price,
            currency=new_currency,
        )

    return _change(product_id, creator_id, change)


def publish_product(creator_id: str, product_id: str) -> Product:
    def change(product: Product) -> Product | None:
        if product.status == "archived":
            raise Conflict("An archived product cannot be published.")
        if product.file is None:
            raise Conflict("Upload a file and wait until it is verified before publishing.")
        if product.status == "published":
            return None
        return replace(product, status="published", published_at=clock.now())

    return _change(product_id, creator_id, change)


def archive_product(creator_id: str, product_id: str) -> Product:
    """Hide the product from the catalog for good; archiving twice is harmless."""

    def change(product: Product) -> Product | None:
        if product.status == "archived":
            return None
        return replace(product, status="archived", archived_at=clock.now())

    return _change(product_id, creator_id, change)


def visible_product(product_id: str, viewer_id: str | None) -> tuple[Product, bool]:
    """A published product for anyone, any status for its creator; and whether the viewer is its creator."""
    product = get_product(product_id)
    if product is None:
        raise NotFound("No such product.")
    is_creator = viewer_id is not None and viewer_id == product.creator_id
    if not product.is_public and not is_creator:
        raise NotFound("No such product.")
    return product, is_creator


def list_catalog(limit: int, cursor: str | None, *, creator_id: str | None = None) -> ProductPage:
    """Published products, newest first; only one creator's when ``creator_id`` is given."""
    if creator_id is not None:
        return products.list_by_creator(creator_id, limit, cursor, published_only=True)
    return products.list_catalog(limit, cursor)


def list_creator_products(creator_id: str, limit: int, cursor: str | None) -> ProductPage:
    """The creator's own products in every status, newest first."""
    return products.list_by_creator(creator_id, limit, cursor, published_only=False)
