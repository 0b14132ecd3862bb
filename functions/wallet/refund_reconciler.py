"""Refund reconciler (every 5 minutes): ask the gateway about every refund still open.

A refund whose gateway answer was lost is matched in the gateway's listing of the transaction's
refunds; a refund whose webhook never came is read back by its id; either is then settled or closed
exactly once. Each run sweeps the open-refund markers within its time budget from a persisted
cursor (``market.services.refunds.reconcile_refunds``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from market.observability import get_metrics, logger
from market.services.refunds import reconcile_refunds


@logger.inject_lambda_context
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return asdict(reconcile_refunds(context.get_remaining_time_in_millis() / 1000))
