"""``make redrive`` (localdev/redrive.py) and the consumers' fault switch (``FAULT_INJECTION``), in process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from localdev import redrive
from market.settings import get_settings
from tests.fixtures.aws import AwsResources
from tests.fixtures.events import REPO_ROOT, lambda_context, load_function, sqs_event
from tests.fixtures.payments import FakeGateway, a_pending_order, installed_fake_gateway, stored_order
from tests.fixtures.wallet import deliver_gateway_event


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    yield from installed_fake_gateway()


def test_redrive_moves_each_dlq_back_to_the_queue_whose_policy_names_it(aws_resources: AwsResources) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    urls = aws_resources.queue_urls
    attributes = {"correlation_id": {"DataType": "String", "StringValue": "corr-1"}}
    for index in range(12):
        sqs.send_message(QueueUrl=urls["PaymentsDLQ"], MessageBody=f'{{"n": {index}}}', MessageAttributes=attributes)
    sqs.send_message(QueueUrl=urls["DeliveryDLQ"], MessageBody='{"order_id": "ord_1"}')

    found = {r.name: r for r in redrive.redrives(sqs, stack_name="unit")}
    moved = {name: redrive.move(sqs, r) for name, r in found.items()}

    assert found["PaymentsDLQ"].source_url == urls["PaymentsQueue"]
    assert moved == {"DeliveryDLQ": 1, "PaymentsDLQ": 12, "PayoutsDLQ": 0, "UploadsDLQ": 0}
    back = []
    while batch := sqs.receive_message(
        QueueUrl=urls["PaymentsQueue"], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages", []):
        back += batch
        sqs.delete_message_batch(
            QueueUrl=urls["PaymentsQueue"],
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    assert sorted(json.loads(m["Body"])["n"] for m in back) == list(range(12))
    assert {m["MessageAttributes"]["correlation_id"]["StringValue"] for m in back} == {"corr-1"}
    assert (
        sqs.get_queue_attributes(QueueUrl=urls["PaymentsDLQ"], AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
        == "0"
    )


def test_with_the_fault_switch_on_every_record_of_that_consumer_fails_and_nothing_else_changes(
    gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from market import consumers

    order = a_pending_order(creator_id="cr_ada")
    gateway.pay(order)
    monkeypatch.setenv("FAULT_INJECTION", json.dumps({"payments": 2.0, "seed": 1}))  # 2.0: always, before the work
    get_settings.cache_clear()
    consumers.reset_faults()

    failing = deliver_gateway_event("charge.success", order.reference)

    assert failing == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert stored_order(order.id).status == "pending"
    monkeypatch.delenv("FAULT_INJECTION")
    get_settings.cache_clear()
    consumers.reset_faults()
    assert deliver_gateway_event("charge.success", order.reference) == {"batchItemFailures": []}
    assert stored_order(order.id).status == "paid"


def test_the_delivery_consumer_is_not_struck_by_a_payments_only_switch(
    aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    from market import consumers

    monkeypatch.setenv("FAULT_INJECTION", json.dumps({"payments": 2.0}))
    get_settings.cache_clear()
    consumers.reset_faults()
    worker = load_function("functions/delivery/worker.py")

    response = worker.lambda_handler(
        sqs_event('{"order_id": "ord_unknown"}', queue="DeliveryQueue"), lambda_context("DeliveryWorkerFunction")
    )

    assert response == {"batchItemFailures": []}


def test_the_fault_switch_is_never_deployed() -> None:
    assert "FAULT_INJECTION" not in (REPO_ROOT / "template.yaml").read_text()
    assert "LOCAL_FUNCTION_ENV" not in (REPO_ROOT / "template.yaml").read_text()
