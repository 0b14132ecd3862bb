"""``localdev.moto_patches.fast_sqs``: moto's SQS answers the same after the patch that makes it O(n)
per request (visible, delayed and in-flight messages; the retention period), in-process moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs.models import Queue, sqs_backends

from localdev.moto_patches import apply_patches

REGION = "us-east-1"


@pytest.fixture
def sqs() -> Iterator[Any]:
    apply_patches()
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def counts(sqs: Any, url: str) -> tuple[int, int, int]:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return (int(found[names[0]]), int(found[names[1]]), int(found[names[2]]))


def test_the_patch_is_applied() -> None:
    apply_patches()
    assert Queue.messages.fget.__module__ == "localdev.moto_patches"  # type: ignore[attr-defined]


def test_visible_in_flight_and_delayed_messages_are_counted_and_received_as_sqs_does(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="patched")["QueueUrl"]
    for body in ("one", "two"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    assert counts(sqs, url) == (2, 0, 1)

    [first] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=30)["Messages"]
    assert counts(sqs, url) == (1, 1, 1)
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
    assert [m["Body"] for m in rest] == [{"one": "two", "two": "one"}[first["Body"]]]  # never the in-flight one
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []  # the delayed one waits
    assert counts(sqs, url) == (0, 2, 1)


def test_a_message_past_the_retention_period_is_not_received(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="retained", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    sqs.send_message(QueueUrl=url, MessageBody="new")
    [old, _] = sqs_backends["123456789012"][REGION].queues["retained"]._messages
    old.sent_timestamp -= 120_000  # sent two minutes ago: past its queue's one-minute retention

    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])

    assert "old" not in [m["Body"] for m in received]
