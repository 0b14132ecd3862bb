"""Checkout API: create orders (gateway initialize), order history, verify on demand."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.auth.guard import authenticated, caller
from market.http import Cursor, IdempotencyKey, Limit, json_response, make_resolver, source_ip
from market.observability import get_metrics, logger
from market.schemas.orders import CheckoutOut, CreateOrderRequest, OrderListOut, OrderOut, PaymentOut
from market.services import checkout, limits

app = make_resolver()


@app.post("/orders", middlewares=[authenticated])
def create_order(body: CreateOrderRequest, idempotency_key: IdempotencyKey = None) -> Response[str]:
    limits.check_order(caller(app).user_id, source_ip(app))
    result = checkout.create_order(caller(app), body.product_id, idempotency_key, body.gateway)
    order = result.order
    payload = CheckoutOut(
        order=OrderOut.model_validate(order),
        payment=PaymentOut(
            gateway=order.gateway, reference=order.reference, authorization_url=result.authorization_url
        ),
    )
    return json_response(201, payload)


@app.get("/orders", middlewares=[authenticated])
def list_orders(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    page = checkout.list_orders(caller(app), limit, cursor)
    return json_response(200, OrderListOut.model_validate(page))


@app.get("/orders/<order_id>", middlewares=[authenticated])
def get_order(order_id: str) -> Response[str]:
    return json_response(200, OrderOut.model_validate(checkout.visible_order(caller(app), order_id)))


@app.post("/orders/<order_id>/verify", middlewares=[authenticated])
def verify_order(order_id: str) -> Response[str]:
    return json_response(200, OrderOut.model_validate(checkout.verify_order(caller(app), order_id)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
