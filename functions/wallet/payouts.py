"""Payouts consumer: each ``{payout_id}`` on the payouts queue becomes one gateway transfer.

The transfer's reference is the payout id, so a redelivered message never pays twice: the
gateway refuses the second transfer and the first is read back. A transient failure (gateway
5xx or timeout, a busy wallet) is reported as a batch item failure: SQS delivers it again, and
after maxReceiveCount it is in the DLQ, which an alarm watches.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.errors import TransientError
from market.observability import adopt_correlation_id, get_metrics, logger
from market.services.payouts import process_payout

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    payout_id = str(json.loads(record.body)["payout_id"])
    logger.append_keys(payout_id=payout_id)
    adopt_correlation_id(record)
    try:
        process_payout(payout_id)
    except TransientError:
        logger.warning("payout will be retried")
        raise
    except Exception:
        logger.exception("payout failed")  # still retried, then the DLQ: an operator looks at it
        raise


@logger.inject_lambda_context
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
