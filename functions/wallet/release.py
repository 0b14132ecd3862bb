"""Hourly: sales whose hold period has passed move from ``pending`` to ``available``, each once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from market.observability import get_metrics, logger
from market.services.wallet import release_due_holds


@logger.inject_lambda_context
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = release_due_holds()
    return {"due": report.due, "released": report.released, "skipped": report.skipped}
