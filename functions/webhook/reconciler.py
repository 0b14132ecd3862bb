"""Reconciler (every 5 minutes): re-verify orders left pending, expire the ones unpaid for too long.

Each run sweeps the pending markers within its time budget from a persisted cursor
(``market.services.payments.reconcile_pending``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from market.observability import get_metrics, logger
from market.services.payments import reconcile_pending


@logger.inject_lambda_context
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return asdict(reconcile_pending(context.get_remaining_time_in_millis() / 1000))
