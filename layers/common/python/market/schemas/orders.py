"""Order requests and responses (the contract's order and checkout shapes)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from market.repositories.orders import Order


class CreateOrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=100)


class OrderOut(BaseModel):
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

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(
            id=order.id,
            product_id=order.product_id,
            buyer_id=order.buyer_id,
            creator_id=order.creator_id,
            amount=order.amount,
            currency=order.currency,
            status=order.status,
            gateway=order.gateway,
            reference=order.reference,
            created_at=order.created_at,
            paid_at=order.paid_at,
            product_title=order.product_title,
            failure_reason=order.failure_reason,
        )


class PaymentOut(BaseModel):
    gateway: str
    reference: str
    authorization_url: str | None


class CheckoutOut(BaseModel):
    order: OrderOut
    payment: PaymentOut


class OrderListOut(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None
