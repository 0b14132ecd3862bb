"""Products and upload tickets in the single table: keys, conditions, transactions, cursors.

Access paths (no scans):
- one product: ``PRODUCT#<id>`` / ``PRODUCT``;
- a creator's products, newest first, every status: GSI1 ``CREATOR#<creator>`` with sort key
  ``PRODUCT#<created_at>#<id>`` (``begins_with PRODUCT#`` keeps other item types sharing the
  partition out); the public "by creator" filter reads the same range with a
  ``status = published`` filter;
- the public catalog, newest publication first: GSI2 ``CATALOG`` with sort key
  ``<published_at>#<id>``, present only while the product is published (archiving removes the
  GSI2 keys, so the catalog never sees drafts or archived products). One partition is fine at
  this scale (publishing is rare, reads are cacheable); shard it (``CATALOG#<n>``) or put a CDN
  in front when the catalog's read rate nears a partition's limit.
- one upload ticket: ``UPLOAD#<s3 key>`` / ``UPLOAD`` (TTL ``expires_at``).

Every product write is optimistic: the item's ``version`` must still be the one read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PutError

from market.clock import iso
from market.cursors import decode_cursor, encode_cursor
from market.domain.errors import BadRequest
from market.domain.product import Product, Upload
from market.models.base import TableModel, from_domain, to_domain
from market.models.product import ProductItem, UploadItem
from market.repositories.transactions import OperationRejected, TxOp, condition_failed, write

PRODUCT_SK = "PRODUCT"
UPLOAD_SK = "UPLOAD"
CATALOG_PK = "CATALOG"
CREATOR_PRODUCT_PREFIX = "PRODUCT#"


class VersionConflict(Exception):
    """Someone else changed the product since it was read; read it again and retry."""


@dataclass(frozen=True)
class ProductPage:
    items: list[Product]
    next_cursor: str | None


# ---------------------------------------------------------------- keys


def product_pk(product_id: str) -> str:
    return f"PRODUCT#{product_id}"


def creator_pk(creator_id: str) -> str:
    return f"CREATOR#{creator_id}"


def creator_sk(product: Product) -> str:
    return f"{CREATOR_PRODUCT_PREFIX}{iso(product.created_at)}#{product.id}"


def catalog_sk(product: Product) -> str:
    published_at = product.published_at or product.created_at
    return f"{iso(published_at)}#{product.id}"


def upload_pk(key: str) -> str:
    return f"UPLOAD#{key}"


# ---------------------------------------------------------------- products


def get(product_id: str, *, consistent: bool = False) -> Product | None:
    try:
        item = ProductItem.get(product_pk(product_id), PRODUCT_SK, consistent_read=consistent)
    except ProductItem.DoesNotExist:
        return None
    return to_domain(item, Product)


def get_product(product_id: str) -> Product | None:
    """The product with its file's S3 key and original file name, or ``None`` (checkout and delivery call this)."""
    return get(product_id, consistent=True)


def _to_item(product: Product) -> ProductItem:
    item = from_domain(
        ProductItem(
            product_pk(product.id),
            PRODUCT_SK,
            GSI1PK=creator_pk(product.creator_id),
            GSI1SK=creator_sk(product),
        ),
        product,
    )
    if product.status == "published":
        item.GSI2PK = CATALOG_PK
        item.GSI2SK = catalog_sk(product)
    # ``version`` is the one read: pynamodb conditions the write on it and bumps it.
    return item


def save(product: Product) -> Product:
    """Write ``product`` if its stored version is still ``product.version``; the saved product comes back."""
    item = _to_item(product)
    try:
        item.save()
    except PutError as error:
        if condition_failed(error):
            raise VersionConflict(product.id) from error
        raise
    return to_domain(item, Product)


def save_with_upload(product: Product | None, upload: Upload) -> Product | None:
    """One transaction: the product (version-checked) and the upload ticket's new state."""
    upload_item = _upload_to_item(upload)
    if product is None:
        upload_item.save()
        return None
    product_item = _to_item(product)
    try:
        write([TxOp("product", lambda tx: tx.save(product_item)), TxOp("upload", lambda tx: tx.save(upload_item))])
    except OperationRejected as rejected:
        raise VersionConflict(product.id) from rejected
    return to_domain(product_item, Product)


# ---------------------------------------------------------------- listings


def _page(items: list[ProductItem], limit: int, key_names: tuple[str, str], scope: str) -> ProductPage:
    has_more = len(items) > limit
    kept = items[:limit]
    next_cursor = None
    if has_more and kept:
        last = kept[-1]
        index_pk, index_sk = key_names
        last_key = {
            "PK": {"S": last.PK},
            "SK": {"S": last.SK},
            index_pk: {"S": getattr(last, index_pk)},
            index_sk: {"S": getattr(last, index_sk)},
        }
        next_cursor = encode_cursor(last_key, scope)
    return ProductPage(items=[to_domain(item, Product) for item in kept], next_cursor=next_cursor)


def _start_key(cursor: str | None, scope: str, key_names: tuple[str, str]) -> dict[str, Any] | None:
    start = decode_cursor(cursor, scope)
    if start is None:
        return None
    expected = {"PK", "SK", *key_names}
    if set(start) != expected or not all(
        isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str) for value in start.values()
    ):
        raise BadRequest("The cursor is not valid.")
    return start


def list_catalog(limit: int, cursor: str | None) -> ProductPage:
    """Published products, newest publication first."""
    scope = "catalog"
    keys = ("GSI2PK", "GSI2SK")
    results = ProductItem.query(
        CATALOG_PK,
        index_name="GSI2",
        scan_index_forward=False,
        limit=limit + 1,
        page_size=limit + 1,
        last_evaluated_key=_start_key(cursor, scope, keys),
    )
    return _page(list(results), limit, keys, scope)


def list_by_creator(creator_id: str, limit: int, cursor: str | None, *, published_only: bool) -> ProductPage:
    """A creator's products, newest first: every status for the creator, published only for the public."""
    scope = f"creator-products:{'published' if published_only else 'all'}:{creator_id}"
    keys = ("GSI1PK", "GSI1SK")
    results = ProductItem.query(
        creator_pk(creator_id),
        TableModel.GSI1SK.startswith(CREATOR_PRODUCT_PREFIX),
        filter_condition=(ProductItem.status == "published") if published_only else None,
        index_name="GSI1",
        scan_index_forward=False,
        limit=limit + 1,
        page_size=max(limit + 1, 25),
        last_evaluated_key=_start_key(cursor, scope, keys),
    )
    return _page(list(results), limit, keys, scope)


# ---------------------------------------------------------------- upload tickets


def _upload_to_item(upload: Upload) -> UploadItem:
    return from_domain(UploadItem(upload_pk(upload.key), UPLOAD_SK), upload)


def put_upload(upload: Upload) -> None:
    """Record a new ticket (its key is fresh, so it cannot exist yet)."""
    _upload_to_item(upload).save(UploadItem.PK.does_not_exist())


def get_upload(key: str) -> Upload | None:
    try:
        item = UploadItem.get(upload_pk(key), UPLOAD_SK, consistent_read=True)
    except UploadItem.DoesNotExist:
        return None
    return to_domain(item, Upload)


def save_upload(upload: Upload) -> None:
    _upload_to_item(upload).save()
