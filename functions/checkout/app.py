"""Checkout API: create orders (gateway initialize), order history, verify on demand.

Each route imports ``market.services.checkout`` (pynamodb, botocore, the gateway client) when it
first runs, not at the cold start (README, "Performance").
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.auth.guard import authenticated, bearer_or_guest_token, caller, caller_or_none, optional_caller
from market.http import Cursor, GuestToken, IdempotencyKey, Limit, json_response, make_resolver, source_ip
from market.observability import get_metrics, logger
from market.schemas.orders import (
    CheckoutOut,
    CreateOrderRequest,
    GuestCheckoutOut,
    OrderListOut,
    OrderOut,
    PaymentOut,
    ResendAcceptedOut,
    ResendRequest,
)

app = make_resolver()


@app.post("/orders", middlewares=[optional_caller])
def create_order(body: CreateOrderRequest, idempotency_key: IdempotencyKey = None) -> Response[str]:
    from market.services import checkout

    result = checkout.create_order(
        caller_or_none(app),
        body.product_id,
        idempotency_key,
        body.gateway,
        source_ip(app),
        amount=body.amount,
        discount_code=body.discount_code,
        email=body.email,
    )
    order = result.order
    payment = None
    if not order.is_free:
        payment = PaymentOut(
            gateway=order.gateway, reference=order.reference, authorization_url=result.authorization_url
        )
    if result.guest_token is not None:
        guest = GuestCheckoutOut(order=OrderOut.model_validate(order), payment=payment, guest_token=result.guest_token)
        return json_response(201, guest, headers={"Cache-Control": "no-store"})
    return json_response(201, CheckoutOut(order=OrderOut.model_validate(order), payment=payment))


@app.get("/orders", middlewares=[authenticated])
def list_orders(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    from market.services import checkout

    page = checkout.list_orders(caller(app), limit, cursor)
    return json_response(200, OrderListOut.model_validate(page))


@app.get("/orders/<order_id>", middlewares=[bearer_or_guest_token])
def get_order(order_id: str, x_guest_token: GuestToken = None) -> Response[str]:
    from market.services import checkout, guests

    who = caller_or_none(app)
    order = checkout.visible_order(who, order_id) if who else guests.guest_order(order_id, x_guest_token)
    return json_response(200, OrderOut.model_validate(order), headers={"Cache-Control": "no-store"})


@app.post("/orders/resend")
def resend_order_emails(body: ResendRequest) -> Response[str]:
    from market.services import guests

    guests.resend(body.email, source_ip(app))
    return json_response(202, ResendAcceptedOut())


@app.post("/orders/<order_id>/verify", middlewares=[authenticated])
def verify_order(order_id: str) -> Response[str]:
    from market.services import checkout

    return json_response(200, OrderOut.model_validate(checkout.verify_order(caller(app), order_id)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
