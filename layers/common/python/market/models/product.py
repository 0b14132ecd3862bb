"""Products and their uploads: the pynamodb items (the domain types are in ``market.domain.product``).

Items (see ``market.repositories.products`` for the keys):

- product: ``PRODUCT#<id>`` / ``PRODUCT``; GSI1 ``CREATOR#<creator>`` / ``PRODUCT#<created_at>#<id>``;
  GSI2 ``CATALOG`` / ``<published_at>#<id>`` while published;
- upload ticket: ``UPLOAD#<s3 key>`` / ``UPLOAD`` (TTL ``expires_at``).

A product's verified file lives in ``file`` (its S3 key, the creator's original file name for
``Content-Disposition``, type, size, sha256 when cheap, the ETag that was verified). An upload
ticket records what the creator declared, so the S3 event consumer can check what arrived.
``gateways`` lists the payment gateways the product accepts (absent: every one).
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.constants import LIST, STRING

from market.models.base import IsoTimeAttribute, TableModel


class FileAttribute(MapAttribute[str, Any]):
    key = UnicodeAttribute(attr_name="s3_key")
    name = UnicodeAttribute(attr_name="file_name")
    content_type = UnicodeAttribute()
    size_bytes = NumberAttribute()
    sha256 = UnicodeAttribute(null=True)
    etag = UnicodeAttribute()
    issued_at_ms = NumberAttribute()
    attached_at = IsoTimeAttribute()

    def __init__(self, **attributes: Any) -> None:
        super().__init__(**attributes)  # type: ignore[no-untyped-call]  # pynamodb leaves MapAttribute.__init__ unannotated


class FileErrorAttribute(MapAttribute[str, Any]):
    code = UnicodeAttribute()
    message = UnicodeAttribute()
    filename = UnicodeAttribute()
    at = IsoTimeAttribute()

    def __init__(self, **attributes: Any) -> None:
        super().__init__(**attributes)  # type: ignore[no-untyped-call]  # pynamodb leaves MapAttribute.__init__ unannotated


class NamesAttribute(Attribute[tuple[str, ...]]):
    """A short list of names (the gateways a product accepts), read back as a tuple."""

    attr_type = LIST

    def serialize(self, value: tuple[str, ...]) -> list[dict[str, str]]:
        return [{STRING: name} for name in value]

    def deserialize(self, value: list[dict[str, str]]) -> tuple[str, ...]:
        return tuple(item[STRING] for item in value)


class ProductItem(TableModel):
    id = UnicodeAttribute(attr_name="product_id")
    creator_id = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    price = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    file = FileAttribute(null=True)
    file_error = FileErrorAttribute(null=True)
    created_at = IsoTimeAttribute()
    updated_at = IsoTimeAttribute()
    published_at = IsoTimeAttribute(null=True)
    archived_at = IsoTimeAttribute(null=True)
    version = VersionAttribute()
    gateways = NamesAttribute(null=True)  # absent: every gateway
    pay_what_you_want = BooleanAttribute(default=False)
    suggested_price = NumberAttribute(null=True)


class UploadItem(TableModel):
    key = UnicodeAttribute(attr_name="s3_key")
    product_id = UnicodeAttribute()
    creator_id = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size_bytes = NumberAttribute()
    issued_at_ms = NumberAttribute()
    status = UnicodeAttribute(default="pending")
    etag = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    replaced_key = UnicodeAttribute(null=True)
