"""Discount code requests and responses (DESIGN.md part 2, "Discount codes")."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from market.schemas.common import IsoTime

ProductId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CreateDiscountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The code's rules (3 to 32 of A-Z a-z 0-9 _ -, one of percent_off / amount_off...) are the
    # domain's, so that one 422 names every bad field together.
    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    percent_off: StrictInt | None = None
    amount_off: StrictInt | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    product_ids: Annotated[list[ProductId], Field(max_length=500)] | None = None
    max_redemptions: StrictInt | None = None
    expires_at: AwareDatetime | None = None


class DiscountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    percent_off: int | None
    amount_off: int | None
    currency: str | None
    product_ids: list[str]
    max_redemptions: int | None
    redemptions: int
    expires_at: IsoTime | None
    active: bool
    created_at: IsoTime


class DiscountListOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    items: list[DiscountOut]
    next_cursor: str | None
