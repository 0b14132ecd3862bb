"""``make redrive``: move the messages of the local stack's dead-letter queues back to their source queues.

Every queue of the stack with a redrive policy names its DLQ; each message in a DLQ goes back to the
queue whose policy names it, with its body and message attributes (the correlation id), and is then
deleted from the DLQ. The consumers are idempotent (settlement, deliveries, payouts, refunds are each
guarded by a conditional write), so a message that was half done before it failed is finished once.
A message that fails again goes back to the DLQ after ``maxReceiveCount`` receives.

    python -m localdev.redrive                  # every DLQ of the stack on LOCAL_AWS_PORT (default 5000)
    python -m localdev.redrive --queue PaymentsDLQ

On AWS, SQS does the same move itself (back to the queue the messages came from):

    aws sqs start-message-move-task --source-arn <arn of the DLQ>
    aws sqs list-message-move-tasks --source-arn <arn of the DLQ>    # its progress

The DLQ ARNs are in the stack's resources (``PaymentsDLQ``, ``DeliveryDLQ``, ``PayoutsDLQ``,
``UploadsDLQ``); ``PaymentsDLQUrl`` is also a stack output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

STACK_NAME = "market-local"


@dataclass(frozen=True)
class Redrive:
    dlq_url: str
    source_url: str
    name: str  # the DLQ's name without the stack prefix


def sqs_client(endpoint: str, region: str) -> Any:
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )


def redrives(sqs: Any, stack_name: str = STACK_NAME) -> list[Redrive]:
    """Each DLQ of the stack with the source queue whose redrive policy names it."""
    urls = sqs.list_queues(QueueNamePrefix=f"{stack_name}-").get("QueueUrls", [])
    by_arn: dict[str, str] = {}
    sources: dict[str, str] = {}
    for url in urls:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"])["Attributes"]
        by_arn[attributes["QueueArn"]] = url
        policy = attributes.get("RedrivePolicy")
        if policy:
            sources[json.loads(policy)["deadLetterTargetArn"]] = url
    return sorted(
        (
            Redrive(
                dlq_url=by_arn[arn],
                source_url=source,
                name=by_arn[arn].rsplit("/", 1)[-1].removeprefix(f"{stack_name}-"),
            )
            for arn, source in sources.items()
            if arn in by_arn
        ),
        key=lambda redrive: redrive.name,
    )


def move(sqs: Any, redrive: Redrive, *, limit: int = 100_000) -> int:
    """Move every message of ``redrive.dlq_url`` back to its source queue; returns how many moved."""
    moved = 0
    while moved < limit:
        received = sqs.receive_message(
            QueueUrl=redrive.dlq_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not received:
            return moved
        entries = []
        for index, message in enumerate(received):
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=redrive.source_url, Entries=entries)
        done = {entry["Id"] for entry in sent.get("Successful", [])}
        deletions = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(received)
            if str(index) in done
        ]
        if deletions:
            sqs.delete_message_batch(QueueUrl=redrive.dlq_url, Entries=deletions)
        moved += len(deletions)
        if len(deletions) < len(received):
            raise RuntimeError(f"{redrive.name}: {len(received) - len(deletions)} message(s) could not be sent back")
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.redrive", description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue", action="append", help="a DLQ's logical id (PaymentsDLQ...); default: every DLQ")
    parser.add_argument("--endpoint", default=f"http://127.0.0.1:{os.environ.get('LOCAL_AWS_PORT', '5000')}")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--stack-name", default=STACK_NAME)
    args = parser.parse_args(argv)
    sqs = sqs_client(args.endpoint, args.region)
    try:
        found = redrives(sqs, args.stack_name)
    except Exception as error:  # noqa: BLE001 - any failure to reach the emulator is reported the same way
        sys.stderr.write(f"cannot reach the AWS emulator at {args.endpoint}: {type(error).__name__}: {error}\n")
        return 2
    chosen = [r for r in found if not args.queue or r.name in args.queue]
    if args.queue and len(chosen) != len(set(args.queue)):
        sys.stderr.write(f"unknown DLQ among {args.queue}; the stack has {[r.name for r in found]}\n")
        return 2
    for redrive in chosen:
        count = move(sqs, redrive)
        sys.stdout.write(f"{redrive.name}: {count} message(s) moved back to {redrive.source_url.rsplit('/', 1)[-1]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
