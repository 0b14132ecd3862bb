"""Payouts consumer: each ``PayoutMessage`` on the payouts queue becomes one gateway transfer.

The transfer's reference is the payout id, so a redelivered message never pays twice: the
gateway refuses the second transfer and the first is read back. Failures are retried by SQS and
end in the DLQ, which an alarm watches (``market.consumers``). ``market.services.payouts``
(pynamodb, botocore, the gateway client) is imported with the first message, not at the cold start
(README, "Performance").
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.consumers import consumer
from market.messages import PayoutMessage
from market.observability import get_metrics, logger


def pay_out(message: PayoutMessage) -> None:
    from market.services.payouts import process_payout

    process_payout(message.payout_id)


handle_batch = consumer(PayoutMessage, pay_out, name="payouts")


@logger.inject_lambda_context
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return handle_batch(event, context)
