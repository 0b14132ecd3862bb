"""Products and their files: what a creator sells, and the rules of its life.

- a product is a ``draft`` until it is ``published`` (only with a verified file), and ``archived``
  for good (hidden from the catalog and from everyone but its creator; buyers keep their access);
- an archived product can no longer be changed, published or given a new file;
- only its creator changes a product: another creator gets 403 when the product is public (its
  existence is no secret) and 404 when it is a draft or archived (it must not leak);
- a price is in a supported currency and at least the currency's minimum; a pay-what-you-want
  product's price is the least a buyer may pay and may be 0 (then anything from 0, or from the
  currency's minimum, is accepted), and its ``suggested_price``, when set, is at least that;
- a product may name the payment gateways a buyer may pay it with (none named: every gateway).

An ``Upload`` records what the creator declared for one upload ticket, so what arrives can be checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from market.domain.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from market.domain.money import MINIMUM_PRICE, Money

ProductStatus = Literal["draft", "published", "archived"]
UploadStatus = Literal["pending", "attached", "rejected"]


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
    created_at: datetime
    updated_at: datetime
    file: ProductFile | None = None
    file_error: FileError | None = None
    published_at: datetime | None = None
    archived_at: datetime | None = None
    version: int = 0
    gateways: tuple[str, ...] | None = None
    """The gateways a buyer may pay with; ``None``: every gateway."""
    pay_what_you_want: bool = False
    suggested_price: int | None = None

    @property
    def is_public(self) -> bool:
        return self.status == "published"

    @property
    def list_price(self) -> Money:
        return Money(self.price, self.currency)

    def visible_to(self, viewer_id: str | None) -> bool:
        """A published product for anyone; any status for its creator."""
        return self.is_public or (viewer_id is not None and viewer_id == self.creator_id)

    def check_owner(self, creator_id: str) -> None:
        """403 or 404 unless ``creator_id`` owns the product (see the module's rules)."""
        if self.creator_id != creator_id:
            if self.is_public:
                raise Forbidden("Only the product's creator may change it.")
            raise NotFound("No such product.")

    def edited(
        self,
        *,
        title: str | None,
        description: str | None,
        price: int | None,
        currency: str | None,
        supported_currencies: Sequence[str],
        pay_what_you_want: bool | None = None,
        suggested_price: int | None = None,
        clear_suggested_price: bool = False,
    ) -> Product:
        """The product with the given fields changed (``None`` leaves a field as it is)."""
        if self.status == "archived":
            raise Conflict("An archived product cannot be changed.")
        changed = replace(
            self,
            title=self.title if title is None else title,
            description=self.description if description is None else description,
            price=self.price if price is None else price,
            currency=self.currency if currency is None else currency,
            pay_what_you_want=self.pay_what_you_want if pay_what_you_want is None else pay_what_you_want,
            suggested_price=None
            if clear_suggested_price
            else (self.suggested_price if suggested_price is None else suggested_price),
        )
        pricing = (price, currency, pay_what_you_want, suggested_price)
        if any(value is not None for value in pricing) or clear_suggested_price:
            check_price(
                changed.price,
                changed.currency,
                supported_currencies,
                pay_what_you_want=changed.pay_what_you_want,
                suggested_price=changed.suggested_price,
            )
        return changed

    def buyer_price(self, amount: int | None) -> Money:
        """What the buyer's order lists: the price, or the buyer's own amount for pay-what-you-want
        (its minimum when the buyer sends none).

        422 on ``amount`` when it is below the minimum (or, above 0, below the currency's
        minimum charge), or when a fixed-price product is sent another amount than its price.
        """
        if not self.pay_what_you_want:
            if amount is not None and amount != self.price:
                raise ValidationFailed([FieldError("amount", f"this product costs {self.price}; send no amount")])
            return self.list_price
        chosen = self.price if amount is None else amount  # no amount sent: the minimum
        minimum_charge = MINIMUM_PRICE.get(self.currency, 1)
        if chosen < self.price:
            raise ValidationFailed([FieldError("amount", f"must be at least {self.price}")])
        if 0 < chosen < minimum_charge:
            raise ValidationFailed([FieldError("amount", f"must be 0 or at least {minimum_charge}")])
        return Money(chosen, self.currency)

    def accepts_gateway(self, gateway: str) -> bool:
        return self.gateways is None or gateway in self.gateways

    def with_gateways(self, gateways: tuple[str, ...] | None) -> Product:
        """The product accepting only ``gateways`` (``None``: every gateway again)."""
        if self.status == "archived":
            raise Conflict("An archived product cannot be changed.")
        return replace(self, gateways=gateways)

    def published(self, now: datetime) -> Product | None:
        """The published product; ``None`` when it already is."""
        if self.status == "archived":
            raise Conflict("An archived product cannot be published.")
        if self.file is None:
            raise Conflict("Upload a file and wait until it is verified before publishing.")
        if self.status == "published":
            return None
        return replace(self, status="published", published_at=now)

    def archived(self, now: datetime) -> Product | None:
        """The archived product; ``None`` when it already is (archiving twice is harmless)."""
        if self.status == "archived":
            return None
        return replace(self, status="archived", archived_at=now)

    def check_purchasable_by(self, buyer_id: str | None) -> None:
        """409 unless the product is published and the buyer is not its creator (``None``: a guest)."""
        if not self.is_public:
            raise Conflict("This product is not published.")
        if self.creator_id == buyer_id:
            raise Conflict("You cannot buy your own product.")

    def check_takes_file(self) -> None:
        if self.status == "archived":
            raise Conflict("An archived product cannot take a new file.")


def currency_problem(currency: str, supported_currencies: Sequence[str]) -> str | None:
    """Why ``currency`` cannot price a product, or ``None``."""
    if currency not in supported_currencies:
        return f"must be one of {', '.join(supported_currencies)}"
    return None


def price_problem(price: int, currency: str | None, *, pay_what_you_want: bool = False) -> str | None:
    """Why ``price`` is too low, or ``None``: the currency's minimum, and at least 1 whatever the currency;
    for pay-what-you-want (the least a buyer may pay) 0 is also allowed."""
    minimum = MINIMUM_PRICE.get(currency, 1) if currency is not None else 1
    if pay_what_you_want and price == 0:
        return None
    if price < minimum:
        unit = f" ({currency} minor units)" if currency in MINIMUM_PRICE else " (minor units)"
        return f"must be {'0 or ' if pay_what_you_want else ''}at least {minimum}{unit}"
    return None


def suggested_price_problem(suggested_price: int | None, price: int | None, *, pay_what_you_want: bool) -> str | None:
    """Why ``suggested_price`` cannot go with the product, or ``None`` (``price`` ``None``: not known here)."""
    if suggested_price is None:
        return None
    if not pay_what_you_want:
        return "goes with pay_what_you_want only"
    if suggested_price < max(price or 0, 0):
        return "must be at least the price"
    return None


def check_price(
    price: int,
    currency: str,
    supported_currencies: Sequence[str],
    *,
    pay_what_you_want: bool = False,
    suggested_price: int | None = None,
) -> None:
    """422 unless ``currency`` is supported and ``price`` (and ``suggested_price``) fit it (every bad field named)."""
    errors = []
    currency_error = currency_problem(currency, supported_currencies)
    if currency_error:
        errors.append(FieldError("currency", currency_error))
    price_error = price_problem(price, None if currency_error else currency, pay_what_you_want=pay_what_you_want)
    if price_error:
        errors.append(FieldError("price", price_error))
    suggested_error = suggested_price_problem(suggested_price, price, pay_what_you_want=pay_what_you_want)
    if suggested_error:
        errors.append(FieldError("suggested_price", suggested_error))
    if errors:
        raise ValidationFailed(errors)


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
    etag: str | None = None
    reason: str | None = None
    replaced_key: str | None = None
    expires_at: int | None = None
