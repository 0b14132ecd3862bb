"""Delivery shapes: the delivery queue message, download links and the buyer's library (DESIGN.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from market.clock import iso
from market.services.delivery import DownloadLink, LibraryItem, LibraryPage


class DeliveryMessage(BaseModel):
    """What the payments settlement sends to the delivery queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: str = Field(min_length=1, max_length=100)


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DownloadLinkOut(_Response):
    url: str
    expires_at: str
    uses_left: int

    @classmethod
    def of(cls, link: DownloadLink) -> DownloadLinkOut:
        return cls(url=link.url, expires_at=iso(link.expires_at), uses_left=link.uses_left)


class LibraryProductOut(_Response):
    id: str
    title: str
    creator_id: str


class LibraryFileOut(_Response):
    name: str
    content_type: str
    size_bytes: int


class LibraryItemOut(_Response):
    order_id: str
    product: LibraryProductOut
    file: LibraryFileOut | None
    download: DownloadLinkOut | None

    @classmethod
    def of(cls, item: LibraryItem) -> LibraryItemOut:
        file = item.file
        return cls(
            order_id=item.order_id,
            product=LibraryProductOut(id=item.product.id, title=item.product.title, creator_id=item.product.creator_id),
            file=(
                LibraryFileOut(name=file.name, content_type=file.content_type, size_bytes=file.size_bytes)
                if file is not None
                else None
            ),
            download=DownloadLinkOut.of(item.download) if item.download is not None else None,
        )


class LibraryPageOut(_Response):
    items: list[LibraryItemOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: LibraryPage) -> LibraryPageOut:
        return cls(items=[LibraryItemOut.of(item) for item in page.items], next_cursor=page.next_cursor)
