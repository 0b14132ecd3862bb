"""The local stack creates what template.yaml declares, and follows it when it changes."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws

from localdev.template import DEFAULT_TEMPLATE, LocalTemplate, load_template


def _copy_with(tmp_path: Path, edit: str, replacement: str) -> Path:
    text = DEFAULT_TEMPLATE.read_text()
    assert edit in text
    copy = tmp_path / "template.yaml"
    copy.write_text(text.replace(edit, replacement, 1))
    return copy


def _create(template_path: Path) -> LocalTemplate:
    local = LocalTemplate(load_template(template_path), stack_name="t")
    local.create_resources(boto3.Session(region_name="us-east-1"))
    return local


@mock_aws
def test_table_matches_the_template() -> None:
    local = _create(DEFAULT_TEMPLATE)
    table = boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName=local.physical_name("Table"))[
        "Table"
    ]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"PK": "HASH", "SK": "RANGE"}
    assert sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]) == ["GSI1", "GSI2"]
    ttl = boto3.client("dynamodb", region_name="us-east-1").describe_time_to_live(
        TableName=local.physical_name("Table")
    )
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


@mock_aws
def test_every_queue_with_a_redrive_policy_points_at_its_dlq() -> None:
    local = _create(DEFAULT_TEMPLATE)
    sqs = boto3.client("sqs", region_name="us-east-1")
    raw = yaml.safe_load(DEFAULT_TEMPLATE.read_text().replace("!", ""))  # only to count queues
    queues = [name for name, spec in raw["Resources"].items() if spec["Type"] == "AWS::SQS::Queue"]
    assert len(local.queue_urls) == len(queues)
    for queue in ("PaymentsQueue", "DeliveryQueue", "PayoutsQueue", "UploadsQueue"):
        attributes = sqs.get_queue_attributes(QueueUrl=local.queue_urls[queue], AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        dlq = queue.replace("Queue", "DLQ")
        assert redrive["deadLetterTargetArn"] == local.arn(dlq)
        assert redrive["maxReceiveCount"] == 5


@mock_aws
def test_changing_max_receive_count_in_the_template_changes_the_queue(tmp_path: Path) -> None:
    changed = _copy_with(
        tmp_path,
        "deadLetterTargetArn: !GetAtt PaymentsDLQ.Arn\n        maxReceiveCount: 5",
        "deadLetterTargetArn: !GetAtt PaymentsDLQ.Arn\n        maxReceiveCount: 2",
    )
    local = _create(changed)
    attributes = boto3.client("sqs", region_name="us-east-1").get_queue_attributes(
        QueueUrl=local.queue_urls["PaymentsQueue"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == 2


@mock_aws
def test_adding_a_gsi_to_the_template_adds_it_to_the_table(tmp_path: Path) -> None:
    changed = _copy_with(
        tmp_path,
        "        - { AttributeName: GSI2SK, AttributeType: S }\n",
        "        - { AttributeName: GSI2SK, AttributeType: S }\n"
        "        - { AttributeName: GSI3PK, AttributeType: S }\n",
    )
    changed.write_text(
        changed.read_text().replace(
            "      TimeToLiveSpecification:",
            "        - IndexName: GSI3\n          KeySchema:\n            - { AttributeName: GSI3PK, KeyType: HASH }\n"
            "          Projection: { ProjectionType: KEYS_ONLY }\n      TimeToLiveSpecification:",
            1,
        )
    )
    local = _create(changed)
    table = boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName=local.physical_name("Table"))[
        "Table"
    ]
    assert sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]) == ["GSI1", "GSI2", "GSI3"]


@mock_aws
def test_bucket_sends_object_created_events_to_the_uploads_queue() -> None:
    local = _create(DEFAULT_TEMPLATE)
    config = boto3.client("s3", region_name="us-east-1").get_bucket_notification_configuration(
        Bucket=local.physical_name("FilesBucket")
    )
    (queue_config,) = config["QueueConfigurations"]
    assert queue_config["QueueArn"] == local.arn("UploadsQueue")
    assert queue_config["Events"] == ["s3:ObjectCreated:*"]


def test_functions_get_their_routes_sources_and_environment_from_the_template() -> None:
    local = LocalTemplate(load_template(), stack_name="t", parameter_overrides={"PlatformFeeBps": "250"})
    functions = {f.logical_id: f for f in local.functions()}
    checkout = functions["CheckoutFunction"]
    assert ("POST", "/orders") in {(r.method, r.path) for r in checkout.http_routes}
    assert checkout.environment["PLATFORM_FEE_BPS"] == "250"
    assert checkout.environment["TABLE_NAME"] == "t-Table"
    assert "PAYMENTS_QUEUE_URL" not in checkout.environment  # only the webhook functions may enqueue payments
    payments = functions["PaymentsFunction"]
    assert [(s.queue_logical_id, s.report_batch_item_failures) for s in payments.sqs_sources] == [
        ("PaymentsQueue", True)
    ]
    assert functions["ReconcilerFunction"].schedules == ["rate(5 minutes)"]
    assert ("ANY", "$default") in {(r.method, r.path) for r in functions["AuthFunction"].http_routes}


def test_both_gateways_are_wired_to_the_functions_that_call_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from localdev.stack import StackConfig

    monkeypatch.setenv("LOCAL_FLUTTERWAVE_PORT", "7404")
    config = StackConfig.from_env()
    local = LocalTemplate(load_template(), stack_name="t", parameter_overrides=config.parameter_overrides)
    functions = {f.logical_id: f for f in local.functions()}

    receiver = functions["WebhookFunction"]
    assert {("POST", "/webhooks/paystack"), ("POST", "/webhooks/flutterwave")} <= {
        (r.method, r.path) for r in receiver.http_routes
    }
    assert receiver.environment["FLUTTERWAVE_SECRET_HASH_PARAMETER"] == "/marketplace/dev/flutterwave-secret-hash"
    assert "FLUTTERWAVE_SECRET_PARAMETER" not in receiver.environment  # the hash only: the receiver calls no API
    callers = (
        "CheckoutFunction",
        "PaymentsFunction",
        "ReconcilerFunction",
        "RefundReconcilerFunction",
        "WalletFunction",
        "PayoutsWorkerFunction",
    )
    for name in callers:
        environment = functions[name].environment
        assert environment["FLUTTERWAVE_BASE_URL"] == "http://127.0.0.1:7404/v3", name
        assert environment["FLUTTERWAVE_SECRET_PARAMETER"] == "/marketplace/dev/flutterwave-secret-key", name
        assert environment["PAYSTACK_SECRET_PARAMETER"], name
    others = set(functions) - set(callers) - {"WebhookFunction"}
    assert not any("FLUTTERWAVE_BASE_URL" in functions[name].environment for name in others)


@pytest.mark.parametrize("expression", ["rate(5 minutes)", "rate(1 hour)", "rate(2 days)"])
def test_schedule_periods(expression: str) -> None:
    from localdev.template import schedule_period_seconds

    assert schedule_period_seconds(expression) in {300, 3600, 172800}
