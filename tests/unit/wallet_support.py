"""Wallet test support: an in-memory fake of the payment gateway port and a real settled sale.

The fake stands in for our own port (``market.gateways.base.PaymentGateway``), never for boto3:
balances, ledgers, payouts and refunds are written to in-process moto by the real code.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from market import clock, ids
from market.auth.tokens import issue_access_token
from market.domain.money import Money
from market.domain.order import Order
from market.gateways.base import (
    Bank,
    GatewayApiError,
    GatewayNotFound,
    InitializedPayment,
    RefundResult,
    ResolvedAccount,
    TransferRecipient,
    TransferResult,
    VerifiedPayment,
)
from market.gateways.registry import override_gateway
from market.repositories import orders as orders_repo
from market.services import payments
from tests.unit import events
from tests.unit.events import http_event, json_body, lambda_context, load_function

UNRESOLVABLE = "0000000000"


@dataclass
class FakeGateway:
    """Records every call; payments succeed when marked paid, transfers follow ``transfer_outcome``."""

    name: str = "paystack"
    mode: str | None = "test"
    paid: dict[str, tuple[int, str]] = field(default_factory=dict)
    refunds: dict[str, RefundResult] = field(default_factory=dict)
    transfers: dict[str, TransferResult] = field(default_factory=dict)
    transfer_outcome: str = "pending"  # what a new transfer's status is
    refuse_transfers: bool = False
    refund_outcome: str = "pending"
    calls: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    # --- payments
    def initialize(self, *, reference: str, amount: int, currency: str, email: str, **_: object) -> InitializedPayment:
        self.calls.append("initialize")
        return InitializedPayment(gateway=self.name, reference=reference, authorization_url=f"https://pay/{reference}")

    def verify(self, reference: str) -> VerifiedPayment:
        self.calls.append("verify")
        if reference not in self.paid:
            raise GatewayNotFound("Transaction reference not found", gateway=self.name, http_status=404)
        amount, currency = self.paid[reference]
        return VerifiedPayment(
            gateway=self.name,
            gateway_id=str(next(self._ids)),
            reference=reference,
            status="success",
            gateway_status="success",
            amount=amount,
            currency=currency,
            paid_at=datetime.now(UTC),
        )

    # --- refunds
    def refund(
        self, *, reference: str, amount: int | None = None, currency: str | None = None, note: str | None = None
    ) -> RefundResult:
        self.calls.append("refund")
        paid_amount, paid_currency = self.paid[reference]
        result = RefundResult(
            gateway=self.name,
            id=str(next(self._ids)),
            transaction_reference=reference,
            amount=paid_amount if amount is None else amount,
            currency=currency or paid_currency,
            status=self.refund_outcome,  # type: ignore[arg-type]
            gateway_status=self.refund_outcome,
        )
        self.refunds[result.id] = result
        return result

    def get_refund(self, refund_id: str) -> RefundResult:
        self.calls.append("get_refund")
        if refund_id not in self.refunds:
            raise GatewayNotFound("Refund not found", gateway=self.name, http_status=404)
        return self.refunds[refund_id]

    def settle_refund(self, refund_id: str, status: str = "processed") -> None:
        self.refunds[refund_id] = self.refunds[refund_id].model_copy(
            update={"status": status, "gateway_status": status}
        )

    # --- banks and transfers
    def list_banks(self, currency: str) -> list[Bank]:
        return [Bank(name="Guaranty Trust Bank", code="058", currency=currency)]

    def resolve_account(self, *, account_number: str, bank_code: str) -> ResolvedAccount:
        self.calls.append("resolve_account")
        if account_number == UNRESOLVABLE:
            raise GatewayApiError("Could not resolve account name", gateway=self.name, http_status=422)
        return ResolvedAccount(account_number=account_number, account_name="ADA OKAFOR", bank_code=bank_code)

    def create_transfer_recipient(
        self, *, name: str, account_number: str, bank_code: str, currency: str
    ) -> TransferRecipient:
        self.calls.append("create_transfer_recipient")
        return TransferRecipient(
            gateway=self.name,
            recipient_code=f"RCP_{bank_code}{account_number}",
            name=name,
            account_number=account_number,
            bank_code=bank_code,
            bank_name="Guaranty Trust Bank",
            currency=currency,
        )

    def initiate_transfer(
        self, *, reference: str, amount: int, currency: str, recipient_code: str, reason: str | None = None
    ) -> TransferResult:
        self.calls.append("initiate_transfer")
        if reference in self.transfers:
            raise GatewayApiError("Reference already exists on a transfer", gateway=self.name, http_status=400)
        if self.refuse_transfers:
            raise GatewayApiError("Your balance is not enough", gateway=self.name, http_status=400)
        result = TransferResult(
            gateway=self.name,
            reference=reference,
            transfer_code=f"TRF_{next(self._ids)}",
            status=self.transfer_outcome,  # type: ignore[arg-type]
            gateway_status=self.transfer_outcome,
            amount=amount,
            currency=currency,
        )
        self.transfers[reference] = result
        return result

    def verify_transfer(self, reference: str) -> TransferResult:
        self.calls.append("verify_transfer")
        if reference not in self.transfers:
            raise GatewayNotFound("Transfer not found", gateway=self.name, http_status=404)
        return self.transfers[reference]

    def set_transfer(self, reference: str, status: str) -> None:
        self.transfers[reference] = self.transfers[reference].model_copy(
            update={"status": status, "gateway_status": status}
        )


def install_fake_gateway() -> FakeGateway:
    fake = FakeGateway()
    override_gateway("paystack", fake)  # type: ignore[arg-type]
    return fake


def a_sale(
    gateway: FakeGateway,
    creator_id: str,
    amount: int,
    currency: str = "NGN",
    *,
    product_id: str = "prod_1",
    product_title: str = "The Lagos Cookbook",
    buyer_id: str = "buyer_1",
) -> Order:
    """A real order, paid at the (fake) gateway and settled by the real settlement code."""
    order_id = ids.new_id("ord_")
    now = clock.iso(clock.now())
    order = Order.new_pending(
        order_id=order_id,
        buyer_id=buyer_id,
        buyer_email="buyer@example.com",
        product_id=product_id,
        product_title=product_title,
        creator_id=creator_id,
        price=Money(amount, currency),
        gateway="paystack",
        reference=f"mkt-{order_id}",
        created_at=now,
    )
    orders_repo.create_order(order)
    gateway.paid[order.reference] = (amount, currency)
    result = payments.settle_order(order)
    assert result.outcome == payments.Outcome.SETTLED, result
    settled = orders_repo.get_order(order_id)
    assert settled is not None
    return settled


class WalletApi:
    """Calls the wallet function's API handler with payload-2.0 events, as a given user."""

    def __init__(self) -> None:
        self.module = load_function("functions/wallet/app.py")

    def call(
        self,
        method: str,
        path: str,
        *,
        as_user: str,
        role: str = "creator",
        body: object = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        all_headers = {"authorization": f"Bearer {issue_access_token(as_user, role)[0]}", **(headers or {})}
        response = self.module.lambda_handler(
            http_event(method, path, body=body, headers=all_headers, query=query), lambda_context()
        )
        return response["statusCode"], json_body(response)


def drain_payouts_queue(queue_url: str) -> list[str]:
    """The payout ids waiting on the payouts queue (received and deleted)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    found: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"])["payout_id"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def sqs_event(*bodies: str, queue: str = "PayoutsQueue") -> dict[str, Any]:
    return events.sqs_event(*bodies, queue=queue, message_ids=[f"m-{index}" for index in range(len(bodies))])


def run_payouts_worker(*payout_ids: str) -> dict[str, Any]:
    """Hand ``{payout_id}`` messages to functions/wallet/payouts.py as one batch; its partial-failure answer."""
    worker = load_function("functions/wallet/payouts.py")
    bodies = [json.dumps({"payout_id": payout_id}) for payout_id in payout_ids]
    response: dict[str, Any] = worker.lambda_handler(sqs_event(*bodies), lambda_context("PayoutsWorkerFunction"))
    return response


def deliver_gateway_event(event: str, reference: str, refund_id: str | None = None) -> dict[str, Any]:
    """A payments-queue message, as the webhook receiver writes it, through functions/webhook/payments.py."""
    body = events.gateway_event_body(event, reference, refund_id=refund_id, received_at=clock.iso(clock.now()))
    consumer = load_function("functions/webhook/payments.py")
    response: dict[str, Any] = consumer.lambda_handler(
        sqs_event(body, queue="PaymentsQueue"), lambda_context("PaymentsFunction")
    )
    return response
