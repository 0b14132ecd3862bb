"""Logger and metrics, built once per container.

Log lines are fixed messages with values as keys; never log a token, password,
signature, presigned URL or whole event.
"""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

logger = Logger()


@lru_cache(maxsize=1)
def get_metrics() -> Metrics:
    return Metrics()


def adopt_correlation_id(record: SQSRecord) -> None:
    """Continue the correlation id that the sender put on an SQS message, if any."""
    attributes = record.message_attributes
    # Indexing wraps the value in a typed attribute; ``.get`` would return the raw dict.
    correlation = attributes["correlation_id"] if "correlation_id" in attributes else None  # noqa: SIM401
    if correlation is not None and correlation.string_value:
        logger.set_correlation_id(correlation.string_value)
