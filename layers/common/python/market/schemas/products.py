"""Request and response shapes of the products API (DESIGN.md, product rows).

Shapes only: lengths, strict integers, no unknown fields. The rules that need the settings or
the stored product (supported currency, minimum price, allowed content type, size limit) are
the catalog and upload services' to check.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from market.domain.product import currency_problem, price_problem, suggested_price_problem
from market.schemas.common import IsoTime
from market.settings import get_settings

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3)]
Price = StrictInt
# Which names are gateways is the catalog service's to check (422 on ``gateways``).
GatewayNames = Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=32)]], Field(max_length=10)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_currency(value: str | None) -> str | None:
    problem = currency_problem(value, get_settings().supported_currencies) if value is not None else None
    if problem:
        raise ValueError(problem)
    return value


def _check_price(value: int | None, info: ValidationInfo) -> int | None:
    # currency and pay_what_you_want are declared before price, so valid ones are in info.data; a bad
    # currency is reported on its own. An update that does not say pay_what_you_want lets 0 through:
    # the stored product decides (the service checks it).
    if value is None:
        return value
    pay_what_you_want = info.data.get("pay_what_you_want")
    if pay_what_you_want is None and value == 0:
        return value
    problem = price_problem(value, info.data.get("currency"), pay_what_you_want=bool(pay_what_you_want))
    if problem:
        raise ValueError(problem)
    return value


def _check_suggested_price(value: int | None, info: ValidationInfo) -> int | None:
    # Checked here only when the request says pay_what_you_want and price; else the service checks it.
    pay_what_you_want = info.data.get("pay_what_you_want")
    price = info.data.get("price")
    if value is None or pay_what_you_want is None or (pay_what_you_want and price is None):
        return value
    problem = suggested_price_problem(value, price, pay_what_you_want=pay_what_you_want)
    if problem:
        raise ValueError(problem)
    return value


class CreateProductRequest(_Request):
    """Every rule of a new product's fields is checked here, so one 422 names every bad field."""

    title: Title
    description: Description = ""
    currency: Currency
    pay_what_you_want: StrictBool = False
    price: Price  # with pay_what_you_want: the least a buyer may pay (0 allowed)
    suggested_price: Price | None = None
    gateways: GatewayNames | None = None  # the gateways buyers may pay with; absent or null: every gateway

    _currency = field_validator("currency")(_check_currency)
    _price = field_validator("price")(_check_price)
    _suggested_price = field_validator("suggested_price")(_check_suggested_price)


class UpdateProductRequest(_Request):
    """Every field optional, but none may be ``null`` (but ``gateways``: every gateway) and at least one given."""

    title: Title | None = None
    description: Description | None = None
    currency: Currency | None = None
    pay_what_you_want: StrictBool | None = None
    price: Price | None = None
    # ``null`` removes the suggested price.
    suggested_price: Price | None = None
    gateways: GatewayNames | None = None

    # Without a currency (or pay_what_you_want) in the request, the stored one sets the price's minimum
    # (the service checks it).
    _currency = field_validator("currency")(_check_currency)
    _price = field_validator("price")(_check_price)
    _suggested_price = field_validator("suggested_price")(_check_suggested_price)

    @field_validator("title", "description", "price", "currency", "pay_what_you_want", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateProductRequest:
        if not self.model_fields_set:
            raise ValueError(
                "give at least one of title, description, price, currency, pay_what_you_want, suggested_price, gateways"
            )
        return self


class UploadTicketRequest(_Request):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    size_bytes: Annotated[StrictInt, Field(gt=0)]


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, from_attributes=True)


class ProductFileOut(_Response):
    name: str
    content_type: str
    size_bytes: int


class FileErrorOut(_Response):
    code: str
    message: str
    filename: str
    at: IsoTime


class ProductOut(_Response):
    """A product as anyone sees it (``ProductOut.model_validate(product)``)."""

    id: str
    creator_id: str
    status: str
    title: str
    description: str
    price: int
    currency: str
    pay_what_you_want: bool
    suggested_price: int | None
    file: ProductFileOut | None
    gateways: list[str] | None  # the gateways a buyer may pay with; null: every gateway
    created_at: IsoTime
    updated_at: IsoTime


class CreatorProductOut(ProductOut):
    """What the product's creator sees: the public fields and why the last upload was refused, if it was."""

    file_error: FileErrorOut | None


class ProductPageOut(_Response):
    items: list[ProductOut]
    next_cursor: str | None


class CreatorProductPageOut(_Response):
    items: list[CreatorProductOut]
    next_cursor: str | None


class UploadTicketOut(_Response):
    url: str
    fields: dict[str, str]
    key: str
    expires_in: int
