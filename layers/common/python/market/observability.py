"""Logger and metrics, built once per container.

Log lines are fixed messages with values as keys; never log a token, password,
signature, presigned URL or whole event.
"""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics

logger = Logger()


@lru_cache(maxsize=1)
def get_metrics() -> Metrics:
    return Metrics()
