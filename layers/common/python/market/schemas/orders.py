"""Order requests and responses (the contract's order and checkout shapes), read from ``domain.order``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from market.schemas.auth import Email

# The largest amount an order may name (minor units): far above any price, far below DynamoDB's 38 digits.
MAX_AMOUNT = 10**15


class CreateOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=100)
    # A gateway's name (absent: the default one); which names are gateways is the checkout's to check (422).
    gateway: str | None = Field(default=None, min_length=1, max_length=32)
    # Pay what you want: the buyer's amount in minor units (at least the product's price); absent: the price.
    amount: StrictInt | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    # Matched without regard to case; whether it applies is the checkout's to check (422 on discount_code).
    discount_code: str | None = Field(default=None, min_length=1, max_length=64)
    # Guest checkout (no Authorization header): where the order is emailed. Signed in: not allowed.
    email: Email | None = None


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: str
    product_id: str
    buyer_id: str | None  # null: a guest order
    creator_id: str
    # The product's price when ordered, or the buyer's own amount (pay what you want); amount = list_price - discount.
    list_price: int = Field(validation_alias="listed_price")
    discount_code: str | None
    discount_amount: int
    amount: int
    currency: str
    gateway: str
    reference: str
    created_at: str
    paid_at: str | None
    product_title: str
    failure_reason: str | None = None


class PaymentOut(BaseModel):
    gateway: str
    reference: str
    authorization_url: str | None


class CheckoutOut(BaseModel):
    order: OrderOut
    payment: PaymentOut | None  # null: nothing to pay (a free order, paid at once)


class GuestCheckoutOut(CheckoutOut):
    """A guest's order: ``guest_token`` (shown once) reads it and mints its links through ``X-Guest-Token``."""

    guest_token: str


class ResendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email


class ResendAcceptedOut(BaseModel):
    """Whatever the address: no hint whether it bought anything."""

    status: Literal["accepted"] = "accepted"


class OrderListOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    items: list[OrderOut]
    next_cursor: str | None
