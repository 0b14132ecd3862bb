"""Payments test support: an in-memory fake of the gateway port, seeding through the real
repositories, and readers for what settlement leaves behind (items, ledger, queue messages).

The fake stands in for our own port (``market.gateways.base.PaymentGateway``) only; DynamoDB
and SQS are in-process moto built from ``template.yaml``.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pynamodb.exceptions import DoesNotExist

from localdev.template import LocalTemplate, load_template
from market import aws, clock, ids
from market.domain.money import Money
from market.domain.order import Order
from market.domain.product import Product, ProductFile
from market.domain.user import User
from market.domain.wallet import LedgerEntry
from market.gateways.base import (
    Bank,
    GatewayNotFound,
    GatewayUnavailable,
    InitializedPayment,
    PaymentStatus,
    RefundResult,
    ResolvedAccount,
    TransferRecipient,
    TransferResult,
    VerifiedPayment,
)
from market.gateways.registry import override_gateway, reset_gateways
from market.models.order import TXN_SK, OrderItem, PendingOrderMarker, TransactionItem, transaction_pk
from market.models.wallet import HoldItem, SalesCounterItem, holds_pk, stats_pk
from market.repositories import orders as orders_repo
from market.repositories import products as product_repo
from market.repositories import users as users_repo
from market.repositories import wallets as wallets_repo
from market.settings import get_settings

GATEWAY = "paystack"
PRICE = 250_000  # NGN 2,500.00 in kobo
FEE = 12_500  # 5 % of PRICE (PLATFORM_FEE_BPS default 500)
NET = PRICE - FEE


# ---------------------------------------------------------------- the fake gateway


@dataclass
class FakeGateway:
    """What a gateway would answer, set per reference by the test; thread-safe; records every call.

    A reference nobody set is unknown (``GatewayNotFound``), as at Paystack. ``unavailable``
    makes verify raise ``GatewayUnavailable`` (a 5xx after the client's retries) for N calls,
    or for every call when N is ``None``.
    """

    name: str = GATEWAY
    mode: str | None = "test"
    payments: dict[str, VerifiedPayment] = field(default_factory=dict)
    unavailable: dict[str, int | None] = field(default_factory=dict)
    initialized: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(5_000_001))

    # --- what the test sets up
    def report(
        self,
        reference: str,
        amount: int,
        currency: str = "NGN",
        *,
        status: PaymentStatus = "success",
        gateway_status: str | None = None,
        mode: str | None = "test",
        fees: int | None = 3_850,
    ) -> VerifiedPayment:
        """From now on, verify of ``reference`` answers this."""
        payment = VerifiedPayment(
            gateway=self.name,
            gateway_id=str(next(self._ids)),
            reference=reference,
            status=status,
            gateway_status=gateway_status or status,
            amount=amount,
            requested_amount=amount,
            currency=currency,
            paid_at=datetime(2026, 1, 5, 10, 30, tzinfo=UTC) if status == "success" else None,
            fees=fees if status == "success" else None,
            mode=mode,
            gateway_response="Approved" if status == "success" else "Declined",
            customer_email="buyer@example.com",
        )
        with self._lock:
            self.payments[reference] = payment
        return payment

    def pay(self, order: Order, **overrides: Any) -> VerifiedPayment:
        """The buyer paid ``order`` in full (override amount, currency, mode... to pay otherwise)."""
        amount = overrides.pop("amount", order.amount)
        currency = overrides.pop("currency", order.currency)
        return self.report(order.reference, amount, currency, **overrides)

    def make_unavailable(self, reference: str, times: int | None = None) -> None:
        with self._lock:
            self.unavailable[reference] = times

    def verify_count(self, reference: str) -> int:
        with self._lock:
            return self.verified.count(reference)

    # --- the port
    def initialize(
        self,
        *,
        reference: str,
        amount: int,
        currency: str,
        email: str,
        callback_url: str | None = None,
        metadata: dict[str, object] | None = None,
    ) -> InitializedPayment:
        with self._lock:
            self.initialized.append(reference)
        return InitializedPayment(
            gateway=self.name,
            reference=reference,
            authorization_url=f"https://checkout.fake-gateway.test/{reference}",
            access_code=f"ac_{reference}",
        )

    def verify(self, reference: str) -> VerifiedPayment:
        with self._lock:
            self.verified.append(reference)
            if reference in self.unavailable:
                left = self.unavailable[reference]
                if left is None or left > 0:
                    if left is not None:
                        self.unavailable[reference] = left - 1
                    raise GatewayUnavailable("HTTP 502", gateway=self.name, http_status=502)
            payment = self.payments.get(reference)
        if payment is None:
            raise GatewayNotFound("Transaction reference not found", gateway=self.name, http_status=400)
        return payment

    def refund(
        self, *, reference: str, amount: int | None = None, currency: str | None = None, note: str | None = None
    ) -> RefundResult:
        raise NotImplementedError("refunds are not part of these tests")

    def get_refund(self, refund_id: str) -> RefundResult:
        raise NotImplementedError("refunds are not part of these tests")

    def list_banks(self, currency: str) -> list[Bank]:
        raise NotImplementedError("banks are not part of these tests")

    def resolve_account(self, *, account_number: str, bank_code: str) -> ResolvedAccount:
        raise NotImplementedError("payouts are not part of these tests")

    def create_transfer_recipient(
        self, *, name: str, account_number: str, bank_code: str, currency: str
    ) -> TransferRecipient:
        raise NotImplementedError("payouts are not part of these tests")

    def initiate_transfer(
        self, *, reference: str, amount: int, currency: str, recipient_code: str, reason: str | None = None
    ) -> TransferResult:
        raise NotImplementedError("payouts are not part of these tests")

    def verify_transfer(self, reference: str) -> TransferResult:
        raise NotImplementedError("payouts are not part of these tests")


def install_fake_gateway() -> FakeGateway:
    fake = FakeGateway()
    override_gateway(GATEWAY, fake)
    return fake


# ---------------------------------------------------------------- a fresh moto (property tests)


@cache
def _template() -> dict[str, Any]:
    return load_template()


@contextmanager
def fresh_aws(env: dict[str, str] | None = None, stack_name: str = "prop") -> Iterator[LocalTemplate]:
    """In-process moto with the template's resources and the env pointing at them (as the unit fixture does),
    plus ``env``; everything is undone on exit.

    For tests that need a fresh emulator several times in one test function (hypothesis examples).
    """
    with mock_aws(), pytest.MonkeyPatch.context() as patch:
        local = LocalTemplate(_template(), stack_name=stack_name)
        local.create_resources(boto3.Session())
        patch.setenv("TABLE_NAME", local.physical_name("Table"))
        patch.setenv("BUCKET_NAME", local.physical_name("FilesBucket"))
        patch.setenv("PAYMENTS_QUEUE_URL", local.queue_urls["PaymentsQueue"])
        patch.setenv("DELIVERY_QUEUE_URL", local.queue_urls["DeliveryQueue"])
        patch.setenv("PAYOUTS_QUEUE_URL", local.queue_urls["PayoutsQueue"])
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        aws.reset_clients()
        try:
            yield local
        finally:
            reset_gateways()
            clock.set_offset(0)
            get_settings.cache_clear()
            aws.reset_clients()


# ---------------------------------------------------------------- seeding


def a_user(role: str = "customer", *, email: str | None = None) -> str:
    """A registered user (written through the users repository); returns the id."""
    user_id = ids.new_id("usr_")
    users_repo.create_user(
        User(
            id=user_id,
            email=email or f"{user_id}@example.com",
            password_hash="$argon2id$not-used-here",
            role=role,
            display_name=None,
            created_at=clock.iso(clock.now()),
        )
    )
    return user_id


def a_product(
    creator_id: str,
    *,
    price: int = PRICE,
    currency: str = "NGN",
    status: str = "published",
    title: str = "The Lagos Cookbook",
) -> Product:
    """A product with a verified file record (no bytes in S3: checkout and settlement never read them)."""
    product_id = ids.new_id("prd_")
    now = clock.now()
    product = Product(
        id=product_id,
        creator_id=creator_id,
        title=title,
        description="Recipes",
        price=price,
        currency=currency,
        status="published" if status == "published" else ("archived" if status == "archived" else "draft"),
        file=ProductFile(
            key=f"products/{product_id}/f0",
            name="cookbook.pdf",
            content_type="application/pdf",
            size_bytes=1234,
            sha256=None,
            etag="etag",
            issued_at_ms=int(now.timestamp() * 1000),
            attached_at=now,
        ),
        file_error=None,
        created_at=now,
        updated_at=now,
        published_at=now if status == "published" else None,
        archived_at=None,
        version=0,
    )
    return product_repo.save(product)


def a_pending_order(
    *,
    creator_id: str = "cr_ada",
    amount: int = PRICE,
    currency: str = "NGN",
    buyer_id: str = "usr_buyer",
    product_id: str = "prd_cookbook",
    product_title: str = "The Lagos Cookbook",
) -> Order:
    """A pending order with its reference and pending marker, written by the orders repository."""
    order_id = ids.new_id("ord_")
    now = clock.iso(clock.now())
    return orders_repo.create_order(
        Order.new_pending(
            order_id=order_id,
            buyer_id=buyer_id,
            buyer_email="buyer@example.com",
            product_id=product_id,
            product_title=product_title,
            creator_id=creator_id,
            price=Money(amount, currency),
            gateway=GATEWAY,
            reference=f"mkt-{order_id.replace('_', '-')}",
            created_at=now,
        )
    )


# ---------------------------------------------------------------- reading back


def stored_order(order_id: str) -> Order:
    order = orders_repo.get_order(order_id)
    assert order is not None, f"order {order_id} is gone"
    return order


def transaction_item(order: Order) -> TransactionItem | None:
    try:
        return TransactionItem.get(transaction_pk(order.gateway, order.reference), TXN_SK, consistent_read=True)
    except DoesNotExist:
        return None


def pending_marker_exists(order: Order) -> bool:
    marker = orders_repo.pending_marker_key(order)
    try:
        PendingOrderMarker.get(marker.PK, marker.SK, consistent_read=True)
    except DoesNotExist:
        return False
    return True


def ledger(creator_id: str) -> list[LedgerEntry]:
    """Every ledger entry of the creator, oldest first."""
    entries: list[LedgerEntry] = []
    cursor: str | None = None
    while True:
        page = wallets_repo.list_ledger(creator_id, 100, cursor)
        entries.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return list(reversed(entries))


def sale_entries(creator_id: str, order_id: str) -> list[LedgerEntry]:
    return [e for e in ledger(creator_id) if e.type == "sale" and e.order_id == order_id]


def counters(creator_id: str) -> dict[str, SalesCounterItem]:
    """The creator's sales counters by sort key (``DAY#...`` and ``DAYPRODUCT#...``)."""
    return {item.SK: item for item in SalesCounterItem.query(stats_pk(creator_id), consistent_read=True)}


def holds_for(order_id: str, day: str) -> list[HoldItem]:
    return [item for item in HoldItem.query(holds_pk(day), consistent_read=True) if item.order_id == order_id]


def order_items_of_buyer(buyer_id: str) -> list[OrderItem]:
    return list(OrderItem.gsi1.query(f"BUYER#{buyer_id}"))


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Receive (and delete) every message now on the queue: ``[{"body": ..., "attributes": ...}]``."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    out: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
        ).get("Messages", [])
        if not batch:
            return out
        for message in batch:
            out.append({"body": json.loads(message["Body"]), "attributes": message.get("MessageAttributes", {})})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def delivery_messages() -> list[dict[str, Any]]:
    """The bodies now on the delivery queue (drained)."""
    url = get_settings().delivery_queue_url
    assert url, "DELIVERY_QUEUE_URL is not set"
    return [message["body"] for message in drain(url)]
