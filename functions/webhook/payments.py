"""Payments consumer: each gateway event from the queue, verified with the gateway and applied once.

Failure policy (``market.consumers``): a transient failure (gateway 5xx or timeout, throttling, a
busy wallet) is retried by SQS, and after maxReceiveCount the record is in the DLQ, which an
alarm watches. The other records of the batch are not redelivered.

The batch's payments are settled together: one transaction per creator's wallet, so a flash sale
on one creator costs one balance update per batch instead of one per sale (README,
"Performance"); every other event is handled on its own. ``market.services`` (pynamodb, botocore,
the gateway client) is imported with the first batch, not at the cold start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.consumers import consumer
from market.domain.errors import TransientError
from market.messages import GatewayEventMessage
from market.observability import get_metrics, logger


def handle(message: GatewayEventMessage) -> object:
    from market.services import gateway_events

    return gateway_events.handle(message)


def handle_payments(batch: Sequence[GatewayEventMessage]) -> dict[int, TransientError | None]:
    from market.services import gateway_events

    return gateway_events.handle_payments(batch)


handle_batch = consumer(GatewayEventMessage, handle, name="payments", handle_group=handle_payments)


@logger.inject_lambda_context
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return handle_batch(event, context)
