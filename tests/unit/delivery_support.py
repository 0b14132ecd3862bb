"""Seeding and reading helpers for the delivery unit tests (products, orders, S3 objects, SQS events, SES).

Products and orders are written through their repositories, the order paid through the same
transaction step the settlement uses, so the delivery code reads what production would.
"""

from __future__ import annotations

import email
import email.policy
import uuid
from dataclasses import replace
from typing import Any

import boto3
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from market import clock
from market.domain.money import Money
from market.domain.order import Order
from market.domain.product import Product, ProductFile
from market.models.order import OrderItem
from market.repositories import orders as orders_repo
from market.repositories import products as product_repo
from market.repositories.transactions import transact_write
from tests.unit import events
from tests.unit.events import lambda_context, load_function

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"


def a_product(
    bucket: str,
    *,
    creator_id: str = "creator-1",
    title: str = "The Lagos Cookbook",
    file_name: str = "Lagos Cookbook.pdf",
    content: bytes = PDF,
    price: int = 250000,
    currency: str = "NGN",
    status: str = "published",
) -> Product:
    """A product whose verified file is in the bucket."""
    product_id = f"prod_{uuid.uuid4().hex[:12]}"
    key = f"products/{product_id}/{uuid.uuid4().hex}"
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=bucket, Key=key, Body=content, ContentType="application/pdf"
    )
    now = clock.now()
    product = Product(
        id=product_id,
        creator_id=creator_id,
        title=title,
        description="",
        price=price,
        currency=currency,
        status="published",
        file=ProductFile(
            key=key,
            name=file_name,
            content_type="application/pdf",
            size_bytes=len(content),
            sha256=None,
            etag="etag",
            issued_at_ms=int(now.timestamp() * 1000),
            attached_at=now,
        ),
        file_error=None,
        created_at=now,
        updated_at=now,
        published_at=now,
        archived_at=None,
        version=0,
    )
    saved = product_repo.save(product)
    if status != "published":
        saved = product_repo.save(replace(saved, status=status))  # type: ignore[arg-type]  # a ProductStatus literal
    return saved


def an_order(
    product: Product,
    *,
    buyer_id: str = "buyer-1",
    buyer_email: str = "buyer@example.com",
    status: str = "paid",
) -> Order:
    """A pending order for ``product``, then moved to ``status`` the way the settlement moves it."""
    now = clock.iso(clock.now())
    order_id = f"ord_{uuid.uuid4().hex[:16]}"
    order = orders_repo.create_order(
        Order.new_pending(
            order_id=order_id,
            buyer_id=buyer_id,
            buyer_email=buyer_email,
            product_id=product.id,
            product_title=product.title,
            creator_id=product.creator_id,
            price=Money(product.price, product.currency),
            gateway="paystack",
            reference=f"mkt-{order_id}",
            created_at=now,
        )
    )
    if status in ("paid", "refunded", "partially_refunded"):
        with transact_write() as tx:
            orders_repo.add_close_pending(tx, order, "paid", paid_at=clock.now(), platform_fee=0, net_amount=0)
    elif status != "pending":
        assert orders_repo.close_pending(order, status)
    if status in ("refunded", "partially_refunded"):
        set_order_status(order.id, status)
    stored = orders_repo.get_order(order.id)
    assert stored is not None
    return stored


def set_order_status(order_id: str, status: str) -> None:
    """What the refund flow does to the order (built elsewhere); written directly here."""
    OrderItem(f"ORDER#{order_id}", "ORDER").update(actions=[OrderItem.status.set(status)])


def sqs_event(*bodies: str) -> dict[str, Any]:
    return events.sqs_event(*bodies, queue="DeliveryQueue")


def run_worker(*bodies: str) -> dict[str, Any]:
    """Hand messages to functions/delivery/worker.py as one SQS batch; returns its partial-failure response."""
    worker = load_function("functions/delivery/worker.py")
    response: dict[str, Any] = worker.lambda_handler(sqs_event(*bodies), lambda_context("DeliveryWorkerFunction"))
    return response


def sent_emails(to: str | None = None) -> list[dict[str, Any]]:
    """What SES (moto) accepted, parsed back from the raw MIME, oldest first."""
    out = []
    for message in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages:
        parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
        text = parsed.get_body(preferencelist=("plain",))
        html = parsed.get_body(preferencelist=("html",))
        item = {
            "from": str(parsed["From"]),
            "to": str(parsed["To"]),
            "subject": str(parsed["Subject"]),
            "content_type": parsed.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        if to is None or item["to"] == to:
            out.append(item)
    return out
