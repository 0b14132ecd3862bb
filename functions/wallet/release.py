"""Hourly: sales whose hold period has passed move from ``pending`` to ``available``, each once.

``market.services.wallet`` (pynamodb, botocore) is imported by the first run, not at the cold start.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from market.observability import get_metrics, logger


@logger.inject_lambda_context
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    from market.services.wallet import release_due_holds

    report = release_due_holds()
    return {"due": report.due, "released": report.released, "skipped": report.skipped}
