"""Payments consumer in process (functions/webhook/payments.py): real messages from the payments queue
(moto SQS), turned into the Lambda event the way the local stack's pump does, with partial batch failures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest

from localdev.pumps import sqs_record
from market.gateways.registry import reset_gateways
from market.repositories import wallets as wallets_repo
from tests.fixtures.aws import AwsResources
from tests.fixtures.events import gateway_event_body, lambda_context, load_function
from tests.fixtures.payments import (
    NET,
    FakeGateway,
    a_pending_order,
    delivery_messages,
    install_fake_gateway,
    sale_entries,
    stored_order,
)

CREATOR = "cr_ada"


class PaymentsQueue:
    """Sends gateway-event messages to the real payments queue and receives them as one Lambda batch."""

    def __init__(self, resources: AwsResources) -> None:
        self.url = resources.queue_urls["PaymentsQueue"]
        self.arn = resources.template.arn("PaymentsQueue")
        self.sqs = boto3.client("sqs", region_name="us-east-1")

    def send(self, body: dict[str, Any] | str) -> str:
        text = body if isinstance(body, str) else json.dumps(body)
        message_id: str = self.sqs.send_message(QueueUrl=self.url, MessageBody=text)["MessageId"]
        return message_id

    def batch(self) -> dict[str, Any]:
        messages = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
        ).get("Messages", [])
        return {"Records": [sqs_record(cast(dict[str, Any], message), self.arn, "us-east-1") for message in messages]}

    def redeliver(self, batch: dict[str, Any], message_ids: list[str]) -> None:
        """What the visibility timeout does to failed records: they become receivable again."""
        for record in batch["Records"]:
            if record["messageId"] in message_ids:
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )


def event_message(reference: str, event: str = "charge.success") -> dict[str, Any]:
    """What the webhook receiver enqueues."""
    return dict(json.loads(gateway_event_body(event, reference)))


def consume(batch: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = load_function("functions/webhook/payments.py").lambda_handler(
        batch, lambda_context("PaymentsFunction")
    )
    return response


def failed_ids(response: dict[str, Any]) -> list[str]:
    return sorted(item["itemIdentifier"] for item in response["batchItemFailures"])


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    fake = install_fake_gateway()
    yield fake
    reset_gateways()


@pytest.fixture
def queue(aws_resources: AwsResources) -> PaymentsQueue:
    return PaymentsQueue(aws_resources)


def test_a_gateway_outage_fails_only_its_own_record(gateway: FakeGateway, queue: PaymentsQueue) -> None:
    paid = a_pending_order(creator_id=CREATOR)
    stuck = a_pending_order(creator_id="cr_bola")
    gateway.pay(paid)
    gateway.pay(stuck)
    gateway.make_unavailable(stuck.reference)
    queue.send(event_message(paid.reference))
    stuck_id = queue.send(event_message(stuck.reference))
    batch = queue.batch()
    assert len(batch["Records"]) == 2

    response = consume(batch)

    assert failed_ids(response) == [stuck_id]
    assert stored_order(paid.id).status == "paid"
    assert stored_order(stuck.id).status == "pending"
    assert wallets_repo.get_balance(CREATOR, "NGN").available == NET
    assert wallets_repo.get_balance("cr_bola", "NGN").available == 0
    assert delivery_messages() == [{"order_id": paid.id, "product_id": paid.product_id}]


def test_a_retried_record_settles_once_the_gateway_recovers(gateway: FakeGateway, queue: PaymentsQueue) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    gateway.make_unavailable(order.reference, times=1)
    message_id = queue.send(event_message(order.reference))
    batch = queue.batch()

    first = consume(batch)
    queue.redeliver(batch, failed_ids(first))
    second = consume(queue.batch())

    assert failed_ids(first) == [message_id]
    assert failed_ids(second) == []
    assert stored_order(order.id).status == "paid"
    assert len(sale_entries(CREATOR, order.id)) == 1


def test_the_same_event_twice_in_one_batch_credits_once(gateway: FakeGateway, queue: PaymentsQueue) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    queue.send(event_message(order.reference))
    queue.send(event_message(order.reference))

    response = consume(queue.batch())

    assert failed_ids(response) == []
    assert wallets_repo.get_balance(CREATOR, "NGN").available == NET
    assert len(sale_entries(CREATOR, order.id)) == 1
    assert delivery_messages() == [{"order_id": order.id, "product_id": order.product_id}] * 2


def test_settled_mismatched_and_unknown_records_are_all_done(gateway: FakeGateway, queue: PaymentsQueue) -> None:
    paid = a_pending_order(creator_id=CREATOR)
    underpaid = a_pending_order(creator_id=CREATOR)
    gateway.pay(paid)
    gateway.pay(underpaid, amount=underpaid.amount - 100)
    queue.send(event_message(paid.reference))
    queue.send(event_message(underpaid.reference))
    queue.send(event_message("mkt-nobody-has-this"))

    response = consume(queue.batch())

    assert failed_ids(response) == []  # nothing here gets better by retrying
    assert stored_order(paid.id).status == "paid"
    assert stored_order(underpaid.id).status == "failed"


def test_an_event_without_a_handler_is_done_without_asking_the_gateway(
    gateway: FakeGateway, queue: PaymentsQueue
) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    # A kind a newer receiver could queue that this consumer has no handler for.
    queue.send({**event_message(order.reference), "event": "dispute.opened", "gateway_event": "charge.dispute.create"})

    response = consume(queue.batch())

    assert failed_ids(response) == []
    assert gateway.verified == []
    assert stored_order(order.id).status == "pending"


def test_a_malformed_message_fails_its_record_only(gateway: FakeGateway, queue: PaymentsQueue) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    queue.send(event_message(order.reference))
    bad_id = queue.send('{"event": "charge.success"}')

    response = consume(queue.batch())

    assert failed_ids(response) == [bad_id]
    assert stored_order(order.id).status == "paid"
