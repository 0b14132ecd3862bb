"""S3 ObjectCreated consumer (through the uploads queue): checks each uploaded object and
attaches it to its product, or refuses it.

Each SQS message body is an S3 notification (``market.messages.ObjectCreatedNotification``); the
first message after a notification is configured is an ``s3:TestEvent`` and is skipped. Failed
messages are reported one by one, so SQS retries only those (and moves them to the DLQ in the end).
``market.services.uploads`` (pynamodb, botocore, S3) is imported with the first notification, not
at the cold start (README, "Performance").
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.consumers import consumer
from market.messages import ObjectCreatedNotification
from market.observability import logger


def check_objects(notification: ObjectCreatedNotification) -> None:
    if notification.Event == "s3:TestEvent":
        return
    from market.services import uploads

    for entry in notification.Records:
        if not entry.eventName.startswith("ObjectCreated:"):
            continue
        key = unquote_plus(entry.s3.object.key)
        outcome = uploads.check_uploaded_object(entry.s3.bucket.name, key)
        logger.info("uploaded object checked", key=key, outcome=outcome.value)


handle_batch = consumer(ObjectCreatedNotification, check_objects, name="uploads")


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return handle_batch(event, context)
