"""Download grants and the buyer's library: who may download what, how often and until when.

- a grant is a random URL-safe token (only its SHA-256 is stored) with ``uses_left`` (one by
  default: the link is one-time) and ``expires_at``; a download takes one use while the grant is
  valid AND the order still gives access (``paid`` or ``partially_refunded``);
- an unknown token is unknown (404); an expired, used up or revoked one is gone (410);
- the library lists the buyer's paid orders, newest payment first, each with a fresh link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from market.domain.product import Product, ProductFile

Refusal = Literal["used", "expired", "revoked"]


@dataclass(frozen=True)
class Grant:
    token_hash: str
    order_id: str
    buyer_id: str | None  # None: a guest order's grant
    product_id: str
    uses_left: int
    expires_at: int  # epoch seconds
    created_at: str
    revoked: bool = False

    def refusal(self, now: int) -> Refusal | None:
        """Why the grant no longer opens the file at ``now`` (``None`` while it does)."""
        if self.revoked:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        if self.uses_left <= 0:
            return "used"
        return None


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime
    uses_left: int


@dataclass(frozen=True)
class LibraryEntry:
    order_id: str
    buyer_id: str
    product_id: str
    paid_at: str


@dataclass(frozen=True)
class LibraryItem:
    order_id: str
    product: Product
    file: ProductFile | None
    download: DownloadLink | None


@dataclass(frozen=True)
class LibraryPage:
    items: list[LibraryItem]
    next_cursor: str | None
