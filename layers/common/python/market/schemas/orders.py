"""Order requests and responses (the contract's order and checkout shapes), read from ``domain.order``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CreateOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=100)
    # A gateway's name (absent: the default one); which names are gateways is the checkout's to check (422).
    gateway: str | None = Field(default=None, min_length=1, max_length=32)


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    product_id: str
    buyer_id: str
    creator_id: str
    amount: int
    currency: str
    status: str
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
    payment: PaymentOut


class OrderListOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    items: list[OrderOut]
    next_cursor: str | None
