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
    field_validator,
    model_validator,
)

from market.schemas.common import IsoTime

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
Currency = Annotated[str, StringConstraints(min_length=3, max_length=3)]
Price = StrictInt


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateProductRequest(_Request):
    title: Title
    description: Description = ""
    price: Price
    currency: Currency
    pay_what_you_want: StrictBool = False
    suggested_price: Price | None = None


class UpdateProductRequest(_Request):
    """Every field optional, but none may be ``null`` and at least one must be given."""

    title: Title | None = None
    description: Description | None = None
    price: Price | None = None
    currency: Currency | None = None
    pay_what_you_want: StrictBool | None = None
    # ``null`` removes the suggested price.
    suggested_price: Price | None = None

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
                "give at least one of title, description, price, currency, pay_what_you_want, suggested_price"
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
    title: str
    description: str
    price: int
    currency: str
    status: str
    pay_what_you_want: bool
    suggested_price: int | None
    file: ProductFileOut | None
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
