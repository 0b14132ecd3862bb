"""Payments consumer: each gateway event from the queue, verified with the gateway and applied once.

A record that fails for a transient reason (gateway 5xx or timeout, throttling, a busy wallet)
is reported as a batch item failure: SQS delivers it again, and after maxReceiveCount it is in
the DLQ, which an alarm watches. The other records of the batch are not redelivered.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.errors import TransientError
from market.observability import adopt_correlation_id, get_metrics, logger
from market.services.gateway_events import GatewayEventMessage, handle

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    message = GatewayEventMessage.model_validate_json(record.body)
    logger.append_keys(gateway_event=message.event, reference=message.reference)
    adopt_correlation_id(record)
    try:
        handle(message)
    except TransientError:
        logger.warning("gateway event will be retried")
        raise
    except Exception:
        logger.exception("gateway event failed")
        raise


@logger.inject_lambda_context
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
