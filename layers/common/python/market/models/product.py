"""Products and their uploads: the pynamodb items and the domain objects other code sees.

Items (see ``market.repositories.products`` for the keys):

- product: ``PRODUCT#<id>`` / ``PRODUCT``; GSI1 ``CREATOR#<creator>`` / ``PRODUCT#<created_at>#<id>``;
  GSI2 ``CATALOG`` / ``<published_at>#<id>`` while published;
- upload ticket: ``UPLOAD#<s3 key>`` / ``UPLOAD`` (TTL ``expires_at``).

A product's verified file lives in ``file`` (its S3 key, the creator's original file name for
``Content-Disposition``, type, size, sha256 when cheap, the ETag that was verified). An upload
ticket records what the creator declared, so the S3 event consumer can check what arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute

from market.clock import parse_iso
from market.models.base import TableModel

ProductStatus = Literal["draft", "published", "archived"]
UploadStatus = Literal["pending", "attached", "rejected"]

_PRODUCT_STATUSES: dict[str, ProductStatus] = {"draft": "draft", "published": "published", "archived": "archived"}
_UPLOAD_STATUSES: dict[str, UploadStatus] = {"pending": "pending", "attached": "attached", "rejected": "rejected"}


# ---------------------------------------------------------------- domain objects


@dataclass(frozen=True)
class ProductFile:
    """The verified file a buyer downloads. ``name`` is the creator's file name (for Content-Disposition)."""

    key: str
    name: str
    content_type: str
    size_bytes: int
    sha256: str | None
    etag: str
    issued_at_ms: int
    attached_at: datetime


@dataclass(frozen=True)
class FileError:
    """Why the last upload was refused (shown to the product's creator only)."""

    code: str
    message: str
    filename: str
    at: datetime


@dataclass(frozen=True)
class Product:
    id: str
    creator_id: str
    title: str
    description: str
    price: int
    currency: str
    status: ProductStatus
    file: ProductFile | None
    file_error: FileError | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    archived_at: datetime | None
    version: int

    @property
    def is_public(self) -> bool:
        return self.status == "published"


@dataclass(frozen=True)
class Upload:
    """An upload ticket: what the creator declared for one generated key."""

    key: str
    product_id: str
    creator_id: str
    filename: str
    content_type: str
    size_bytes: int
    issued_at_ms: int
    status: UploadStatus
    etag: str | None
    reason: str | None
    replaced_key: str | None
    expires_at: int | None


# ---------------------------------------------------------------- items


class FileAttribute(MapAttribute[str, Any]):
    s3_key = UnicodeAttribute()
    file_name = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size_bytes = NumberAttribute()
    sha256 = UnicodeAttribute(null=True)
    etag = UnicodeAttribute()
    issued_at_ms = NumberAttribute()
    attached_at = UnicodeAttribute()

    def __init__(self, **attributes: Any) -> None:
        super().__init__(**attributes)  # type: ignore[no-untyped-call]  # pynamodb leaves MapAttribute.__init__ unannotated

    def to_domain(self) -> ProductFile:
        return ProductFile(
            key=self.s3_key,
            name=self.file_name,
            content_type=self.content_type,
            size_bytes=int(self.size_bytes),
            sha256=self.sha256,
            etag=self.etag,
            issued_at_ms=int(self.issued_at_ms),
            attached_at=parse_iso(self.attached_at),
        )


class FileErrorAttribute(MapAttribute[str, Any]):
    code = UnicodeAttribute()
    message = UnicodeAttribute()
    filename = UnicodeAttribute()
    at = UnicodeAttribute()

    def __init__(self, **attributes: Any) -> None:
        super().__init__(**attributes)  # type: ignore[no-untyped-call]  # pynamodb leaves MapAttribute.__init__ unannotated

    def to_domain(self) -> FileError:
        return FileError(code=self.code, message=self.message, filename=self.filename, at=parse_iso(self.at))


class ProductItem(TableModel):
    product_id = UnicodeAttribute()
    creator_id = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    price = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    file = FileAttribute(null=True)
    file_error = FileErrorAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    published_at = UnicodeAttribute(null=True)
    archived_at = UnicodeAttribute(null=True)
    version = VersionAttribute()

    def to_domain(self) -> Product:
        return Product(
            id=self.product_id,
            creator_id=self.creator_id,
            title=self.title,
            description=self.description or "",
            price=int(self.price),
            currency=self.currency,
            status=_PRODUCT_STATUSES[self.status],
            file=self.file.to_domain() if self.file is not None else None,
            file_error=self.file_error.to_domain() if self.file_error is not None else None,
            created_at=parse_iso(self.created_at),
            updated_at=parse_iso(self.updated_at),
            published_at=parse_iso(self.published_at) if self.published_at else None,
            archived_at=parse_iso(self.archived_at) if self.archived_at else None,
            version=int(self.version or 0),
        )


class UploadItem(TableModel):
    s3_key = UnicodeAttribute()
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

    def to_domain(self) -> Upload:
        return Upload(
            key=self.s3_key,
            product_id=self.product_id,
            creator_id=self.creator_id,
            filename=self.filename,
            content_type=self.content_type,
            size_bytes=int(self.size_bytes),
            issued_at_ms=int(self.issued_at_ms),
            status=_UPLOAD_STATUSES[self.status],
            etag=self.etag,
            reason=self.reason,
            replaced_key=self.replaced_key,
            expires_at=int(self.expires_at) if self.expires_at is not None else None,
        )
