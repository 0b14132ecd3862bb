"""Delivery consumer: each ``{"order_id": ...}`` from the delivery queue becomes one email, once.

A record that fails (SES refused or throttled, a broken product) is reported as a batch item
failure: SQS delivers it again, and after maxReceiveCount it is in the DLQ, which an alarm
watches. Orders that give no access (pending, failed, refunded) are dropped, not retried.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.observability import adopt_correlation_id, get_metrics, logger
from market.schemas.delivery import DeliveryMessage
from market.services.delivery import deliver_order

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    message = DeliveryMessage.model_validate_json(record.body)
    adopt_correlation_id(record)
    outcome = deliver_order(message.order_id)
    logger.info("delivery handled", order_id=message.order_id, outcome=outcome.value)


@logger.inject_lambda_context
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
