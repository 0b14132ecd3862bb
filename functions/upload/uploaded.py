"""S3 ObjectCreated consumer (through the uploads queue): checks each uploaded object and
attaches it to its product, or refuses it.

Each SQS message body is an S3 notification: ``{"Records": [{"eventName", "s3": {"bucket":
{"name"}, "object": {"key" (URL-encoded), "size"}}}]}``; the first message after a
notification is configured is an ``s3:TestEvent`` and is skipped. Failed messages are
reported one by one, so SQS retries only those (and moves them to the DLQ in the end).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.observability import logger
from market.services import uploads

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    notification = json.loads(record.body)
    if notification.get("Event") == "s3:TestEvent":
        return
    for entry in notification.get("Records", []):
        if not str(entry.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        bucket = entry["s3"]["bucket"]["name"]
        key = unquote_plus(entry["s3"]["object"]["key"])
        outcome = uploads.check_uploaded_object(bucket, key)
        logger.info("uploaded object checked", key=key, outcome=outcome.value)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
