"""Products API: create, edit, publish, archive, catalog, presigned uploads, and the creator's discount codes.

Each route imports its service (``catalog``, ``uploads`` or ``discounts``: pynamodb, botocore, S3) when
it first runs, not at the cold start (README, "Performance").
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.auth.guard import caller, caller_or_none, creator_only, optional_caller
from market.http import Cursor, Limit, json_response, make_resolver
from market.observability import logger
from market.schemas.discounts import CreateDiscountRequest, DiscountListOut, DiscountOut
from market.schemas.products import (
    CreateProductRequest,
    CreatorProductOut,
    CreatorProductPageOut,
    ProductOut,
    ProductPageOut,
    UpdateProductRequest,
    UploadTicketOut,
    UploadTicketRequest,
)

app = make_resolver()


@app.post("/products", middlewares=creator_only)
def create_product(body: CreateProductRequest) -> Response[str]:
    from market.services import catalog

    product = catalog.create_product(
        caller(app).user_id,
        title=body.title,
        description=body.description,
        price=body.price,
        currency=body.currency,
        gateways=body.gateways,
        pay_what_you_want=body.pay_what_you_want,
        suggested_price=body.suggested_price,
    )
    return json_response(201, CreatorProductOut.model_validate(product))


@app.patch("/products/<product_id>", middlewares=creator_only)
def update_product(product_id: str, body: UpdateProductRequest) -> Response[str]:
    from market.services import catalog

    product = catalog.update_product(
        caller(app).user_id,
        product_id,
        title=body.title,
        description=body.description,
        price=body.price,
        currency=body.currency,
        gateways=body.gateways if "gateways" in body.model_fields_set else ...,
        pay_what_you_want=body.pay_what_you_want,
        suggested_price=body.suggested_price,
        clear_suggested_price="suggested_price" in body.model_fields_set and body.suggested_price is None,
    )
    return json_response(200, CreatorProductOut.model_validate(product))


@app.delete("/products/<product_id>", middlewares=creator_only)
def archive_product(product_id: str) -> Response[str]:
    from market.services import catalog

    catalog.archive_product(caller(app).user_id, product_id)
    return json_response(204, None)


@app.post("/products/<product_id>/publish", middlewares=creator_only)
def publish_product(product_id: str) -> Response[str]:
    from market.services import catalog

    product = catalog.publish_product(caller(app).user_id, product_id)
    return json_response(200, CreatorProductOut.model_validate(product))


@app.post("/products/<product_id>/upload", middlewares=creator_only)
def upload_ticket(product_id: str, body: UploadTicketRequest) -> Response[str]:
    from market.services import uploads

    ticket = uploads.issue_upload_ticket(
        caller(app).user_id,
        product_id,
        filename=body.filename,
        content_type=body.content_type,
        size_bytes=body.size_bytes,
    )
    out = UploadTicketOut(url=ticket.url, fields=ticket.fields, key=ticket.key, expires_in=ticket.expires_in)
    return json_response(200, out, headers={"Cache-Control": "no-store"})


@app.get("/creator/products", middlewares=creator_only)
def creator_products(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    from market.services import catalog

    page = catalog.list_creator_products(caller(app).user_id, limit, cursor)
    items = [CreatorProductOut.model_validate(product) for product in page.items]
    return json_response(200, CreatorProductPageOut(items=items, next_cursor=page.next_cursor))


@app.get("/products")
def list_products(
    limit: Limit = 20, cursor: Cursor = None, creator_id: Annotated[str | None, Query(max_length=64)] = None
) -> Response[str]:
    from market.services import catalog

    page = catalog.list_catalog(limit, cursor, creator_id=creator_id)
    items = [ProductOut.model_validate(product) for product in page.items]
    return json_response(200, ProductPageOut(items=items, next_cursor=page.next_cursor))


@app.get("/products/<product_id>", middlewares=[optional_caller])
def get_product(product_id: str) -> Response[str]:
    from market.services import catalog

    who = caller_or_none(app)
    product, is_creator = catalog.visible_product(product_id, who.user_id if who else None)
    return json_response(
        200, CreatorProductOut.model_validate(product) if is_creator else ProductOut.model_validate(product)
    )


@app.post("/discounts", middlewares=creator_only)
def create_discount(body: CreateDiscountRequest) -> Response[str]:
    from market.services import discounts

    discount = discounts.create_discount(caller(app).user_id, **body.model_dump())
    return json_response(201, DiscountOut.model_validate(discount))


@app.get("/discounts", middlewares=creator_only)
def list_discounts(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    from market.services import discounts

    page = discounts.list_discounts(caller(app).user_id, limit, cursor)
    return json_response(200, DiscountListOut.model_validate(page), headers={"Cache-Control": "no-store"})


@app.delete("/discounts/<code>", middlewares=creator_only)
def delete_discount(code: str) -> Response[str]:
    from market.services import discounts

    discounts.delete_discount(caller(app).user_id, code)
    return json_response(204, None)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
