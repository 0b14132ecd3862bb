"""Delivery consumer: each ``DeliveryMessage`` from the delivery queue becomes one email, once.

A record that fails (SES refused or throttled, a broken product) is retried by SQS and ends in the
DLQ, which an alarm watches (``market.consumers``). Orders that give no access (pending, failed,
refunded) are dropped, not retried. ``market.services.delivery`` (pynamodb, botocore, SES) is
imported with the first message, not at the cold start (README, "Performance").
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.consumers import consumer
from market.messages import DeliveryMessage
from market.observability import get_metrics, logger


def deliver(message: DeliveryMessage) -> None:
    from market.services.delivery import deliver_order, resend_order

    outcome = resend_order(message.order_id) if message.resend else deliver_order(message.order_id, message.product_id)
    logger.info("delivery handled", order_id=message.order_id, outcome=outcome.value)


handle_batch = consumer(DeliveryMessage, deliver, name="delivery")


@logger.inject_lambda_context
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return handle_batch(event, context)
