"""Delivery shapes: download links and the buyer's library (DESIGN.md), read from ``domain.grant``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from market.schemas.common import IsoTime


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, from_attributes=True)


class DownloadLinkOut(_Out):
    url: str
    expires_at: IsoTime
    uses_left: int


class LibraryProductOut(_Out):
    id: str
    title: str
    creator_id: str


class LibraryFileOut(_Out):
    name: str
    content_type: str
    size_bytes: int


class LibraryItemOut(_Out):
    order_id: str
    product: LibraryProductOut
    file: LibraryFileOut | None
    download: DownloadLinkOut | None


class LibraryPageOut(_Out):
    items: list[LibraryItemOut]
    next_cursor: str | None
