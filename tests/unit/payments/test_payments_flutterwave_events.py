"""Flutterwave events through the payments consumer (functions/webhook/payments.py), in process: the message
the receiver writes for ``charge.completed`` reaches the same settlement as Paystack's, with the transaction
id the webhook named handed to the gateway port's ``verify``; a failed charge fails the order after verifying.

The gateway is an in-memory fake of our own port registered as ``flutterwave``; the table and queues are moto.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from market.gateways import flutterwave_webhook
from market.gateways.registry import override_gateway, reset_gateways
from market.messages import GatewayEventMessage, encode
from market.repositories import wallets as wallets_repo
from tests.fixtures.aws import AwsCalls, AwsResources
from tests.fixtures.events import lambda_context, load_function, sqs_event
from tests.fixtures.payments import (
    NET,
    FakeGateway,
    a_pending_order,
    delivery_messages,
    sale_entries,
    stored_order,
)

CREATOR = "cr_ada"


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    fake = FakeGateway(name="flutterwave", mode=None)
    override_gateway("flutterwave", fake)
    yield fake
    reset_gateways()


def charge_message(tx_ref: str, status: str = "successful", transaction_id: int = 7001) -> str:
    """What the receiver queues for a verified charge.completed (parsed by the real profile's parser)."""
    webhook = flutterwave_webhook.parse(
        {"event": "charge.completed", "data": {"id": transaction_id, "tx_ref": tx_ref, "status": status}}
    )
    assert webhook is not None
    return encode(
        GatewayEventMessage(
            gateway="flutterwave",
            event=webhook.kind,
            reference=webhook.reference,
            received_at="2026-01-05T10:30:01Z",
            gateway_event=webhook.gateway_event,
            transaction_id=webhook.transaction_id,
        )
    )


def consume(*bodies: str) -> dict[str, Any]:
    response: dict[str, Any] = load_function("functions/webhook/payments.py").lambda_handler(
        sqs_event(*bodies, queue="PaymentsQueue"), lambda_context("PaymentsFunction")
    )
    return response


def test_a_successful_charge_settles_once_verifying_by_the_named_transaction(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR, gateway="flutterwave")
    gateway.pay(order)

    response = consume(charge_message(order.reference, transaction_id=7001), charge_message(order.reference))

    assert response["batchItemFailures"] == []
    assert stored_order(order.id).status == "paid"
    assert len(sale_entries(CREATOR, order.id)) == 1
    assert wallets_repo.get_balance(CREATOR, "NGN").available == NET
    assert gateway.transaction_ids[0] == "7001"
    assert delivery_messages() == [{"order_id": order.id, "product_id": order.product_id}] * 2


def test_a_failed_charge_is_verified_and_fails_the_order_without_credit(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR, gateway="flutterwave")
    gateway.pay(order, status="failed", gateway_status="failed")

    response = consume(charge_message(order.reference, status="failed", transaction_id=7002))

    assert response["batchItemFailures"] == []
    assert gateway.transaction_ids == ["7002"]  # the API was asked: a webhook body never decides
    failed = stored_order(order.id)
    assert failed.status == "failed"
    assert "failed" in (failed.failure_reason or "")
    assert sale_entries(CREATOR, order.id) == []
    assert delivery_messages() == []


def test_a_failed_charge_that_the_gateway_reports_paid_pays_the_order(gateway: FakeGateway) -> None:
    # A declined attempt's webhook arriving after the buyer paid on a second attempt.
    order = a_pending_order(creator_id=CREATOR, gateway="flutterwave")
    gateway.pay(order)

    consume(charge_message(order.reference, status="failed"))

    assert stored_order(order.id).status == "paid"
    assert len(sale_entries(CREATOR, order.id)) == 1


def test_a_flutterwave_event_never_settles_a_paystack_order_with_the_same_reference(gateway: FakeGateway) -> None:
    paystack_order = a_pending_order(creator_id=CREATOR)  # REF#paystack#<reference>
    gateway.pay(paystack_order)

    response = consume(charge_message(paystack_order.reference))

    assert response["batchItemFailures"] == []
    assert gateway.verified == []  # no flutterwave order has this reference: nothing to ask
    assert stored_order(paystack_order.id).status == "pending"
    assert json.loads(charge_message("x"))["gateway"] == "flutterwave"


def test_a_batch_of_charges_settles_together_each_verified_by_its_own_transaction(
    gateway: FakeGateway, aws_calls: AwsCalls
) -> None:
    # The batch path (one transaction per creator's wallet) asks the gateway as the single path does:
    # by the transaction id each webhook named, and a failed charge fails its order there too.
    paid = [a_pending_order(creator_id=CREATOR, gateway="flutterwave", buyer_id=f"usr_b{n}") for n in range(3)]
    declined = a_pending_order(creator_id=CREATOR, gateway="flutterwave", buyer_id="usr_declined")
    for order in paid:
        gateway.pay(order)
    gateway.pay(declined, status="failed", gateway_status="failed")
    bodies = [charge_message(order.reference, transaction_id=8000 + n) for n, order in enumerate(paid)]
    mark = len(aws_calls.made)

    response = consume(*bodies, charge_message(declined.reference, status="failed", transaction_id=8009))

    assert response["batchItemFailures"] == []
    # One closes the declined order (pending -> failed), one settles the three sales together.
    assert aws_calls.since(mark).count("dynamodb.TransactWriteItems") == 2
    assert sorted(gateway.transaction_ids) == ["8000", "8001", "8002", "8009"]
    assert [stored_order(order.id).status for order in paid] == ["paid"] * 3
    assert stored_order(declined.id).status == "failed"
    assert sale_entries(CREATOR, declined.id) == []
    assert wallets_repo.get_balance(CREATOR, "NGN").available == 3 * NET
    assert sorted(m["order_id"] for m in delivery_messages()) == sorted(order.id for order in paid)
