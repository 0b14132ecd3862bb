"""Event sources, as Lambda runs them: SQS pollers and schedules.

SQS: each event source of the template is polled and delivered with the template's
batch size. A successful invocation deletes the batch, except the records named in a
partial batch response (``batchItemFailures``); a failed invocation deletes nothing.
What is not deleted comes back after the queue's visibility timeout, and the queue's
own redrive policy moves it to the DLQ after ``maxReceiveCount`` receives.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from typing import Any

from localdev.runtime import InvocationError, Invoker
from localdev.template import ACCOUNT_ID

log = logging.getLogger("localdev.pumps")


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    message_attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        entry: dict[str, Any] = {"dataType": value["DataType"], "stringListValues": [], "binaryListValues": []}
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = value["BinaryValue"]
        message_attributes[name] = entry
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": attributes.get("SenderId", ACCOUNT_ID),
            "ApproximateFirstReceiveTimestamp": attributes.get(
                "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
            ),
        },
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody")
        or hashlib.md5(message["Body"].encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class SqsPoller(threading.Thread):
    """Delivers one queue's messages to one function, batch by batch."""

    def __init__(
        self,
        *,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        runtime: Invoker,
        batch_size: int,
        report_batch_item_failures: bool,
        region: str,
        stop: threading.Event,
    ) -> None:
        super().__init__(daemon=True, name=f"sqs-{runtime.spec.logical_id}")
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.runtime = runtime
        self.batch_size = max(1, min(batch_size, 10))
        self.report_batch_item_failures = report_batch_item_failures
        self.region = region
        self.stop_event = stop

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except InvocationError as error:
                log.warning("%s failed on a batch: %s", self.runtime.spec.logical_id, error)
            except Exception:  # a poller must survive any one failed poll, as Lambda's does
                if self.stop_event.is_set():
                    return
                log.exception("poller of %s failed; retrying", self.runtime.spec.logical_id)
                self.stop_event.wait(1)

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Receive one batch and deliver it; returns how many messages were received."""
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [sqs_record(m, self.queue_arn, self.region) for m in messages]}
        result = self.runtime.invoke(event)  # raises: nothing deleted, all come back
        failed: set[str] = set()
        if self.report_batch_item_failures and isinstance(result, dict):
            failures = result.get("batchItemFailures") or []
            ids = {m["MessageId"] for m in messages}
            failed = {str(f.get("itemIdentifier")) for f in failures}
            if not failed <= ids:
                # Lambda treats an unknown or empty identifier as a failure of the whole batch.
                return len(messages)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if failed:
            log.info(
                "%s: %d of %d records failed and will return", self.runtime.spec.logical_id, len(failed), len(messages)
            )
        return len(messages)


def scheduled_event(rule_name: str, region: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


class Schedule(threading.Thread):
    """Fires a function on a period (the template's rate, or a shorter local override)."""

    def __init__(self, *, runtime: Invoker, period_seconds: float, region: str, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"schedule-{runtime.spec.logical_id}")
        self.runtime = runtime
        self.period_seconds = period_seconds
        self.region = region
        self.stop_event = stop
        self._lock = threading.Lock()

    def fire(self) -> Any:
        with self._lock:  # one run at a time, like a reserved concurrency of 1
            return self.runtime.invoke(scheduled_event(f"{self.runtime.spec.logical_id}-schedule", self.region))

    def run(self) -> None:
        while not self.stop_event.wait(self.period_seconds):
            try:
                self.fire()
            except InvocationError as error:
                log.warning("scheduled run of %s failed: %s", self.runtime.spec.logical_id, error)
