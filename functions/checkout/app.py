"""Checkout API: create orders (gateway initialize), order history, verify on demand."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.auth.guard import authenticated, caller
from market.http import json_response, make_resolver
from market.observability import get_metrics, logger
from market.schemas.orders import CheckoutOut, CreateOrderRequest, OrderListOut, OrderOut, PaymentOut
from market.services import checkout

app = make_resolver()

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048)]
IdempotencyKey = Annotated[str | None, Header(alias="idempotency-key", min_length=1, max_length=200)]


@app.post("/orders", middlewares=[authenticated])
def create_order(body: CreateOrderRequest, idempotency_key: IdempotencyKey = None) -> Response[str]:
    result = checkout.create_order(caller(app), body.product_id, idempotency_key)
    order = result.order
    payload = CheckoutOut(
        order=OrderOut.of(order),
        payment=PaymentOut(
            gateway=order.gateway, reference=order.reference, authorization_url=result.authorization_url
        ),
    )
    return json_response(201, payload)


@app.get("/orders", middlewares=[authenticated])
def list_orders(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    page = checkout.list_orders(caller(app), limit, cursor)
    return json_response(200, OrderListOut(items=[OrderOut.of(o) for o in page.items], next_cursor=page.next_cursor))


@app.get("/orders/<order_id>", middlewares=[authenticated])
def get_order(order_id: str) -> Response[str]:
    return json_response(200, OrderOut.of(checkout.visible_order(caller(app), order_id)))


@app.post("/orders/<order_id>/verify", middlewares=[authenticated])
def verify_order(order_id: str) -> Response[str]:
    return json_response(200, OrderOut.of(checkout.verify_order(caller(app), order_id)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
