"""The one way a queue is consumed, and its failure policy.

Each SQS record is parsed into its message type (``market.messages.record_model``, through
Powertools' ``BatchProcessor``), continues the sender's correlation id, and is handled on its own:

- it succeeds: SQS deletes it;
- it fails for a transient reason (a gateway 5xx or timeout, throttling, a busy wallet:
  ``TransientError``): a warning, and it is reported as a batch item failure, so SQS delivers it
  again after the visibility timeout;
- it fails for any other reason (a body that does not parse, a bug, a broken record): an error
  with its traceback, and the same retry; after the queue's ``maxReceiveCount`` it is in the DLQ,
  which an alarm watches (``make redrive`` moves it back once mended).

The other records of the batch are not redelivered.

Fault injection (tests only): with the ``FAULT_INJECTION`` setting (JSON, e.g.
``{"payments": 0.2, "delivery": 0.2, "seed": 7}``; absent from ``template.yaml``, so never on in a
deployment) each record of the named consumer fails with that chance, as a ``TransientError``:
half the time before its handler runs (nothing done), half the time after (all done, yet the record
comes back): what a crash or a timeout does. The fault-storm test sets it on its own stack.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Callable
from dataclasses import asdict
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.domain.errors import TransientError
from market.messages import CORRELATION_ATTRIBUTE, record_model
from market.observability import logger
from market.settings import get_settings

BatchHandler = Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]
# Message fields that make useful log keys (ids, not bodies).
_LOG_KEYS = ("gateway", "event", "reference", "refund_id", "order_id", "payout_id")


class InjectedFault(TransientError):
    """A failure the ``FAULT_INJECTION`` setting asked for (tests only)."""


class _Faults:
    def __init__(self, rates: dict[str, float], seed: int) -> None:
        self.rates = rates
        # Each worker process draws its own sequence, repeatable per seed.
        self.random = random.Random(f"{seed}-{os.getpid()}")  # noqa: S311 - fault injection, not crypto
        self.lock = threading.Lock()

    def strike(self, name: str, stage: str) -> None:
        rate = self.rates.get(name, 0.0)
        if rate <= 0:
            return
        with self.lock:
            hit = self.random.random() < rate / 2  # half of the rate before the handler, half after
        if hit:
            logger.warning("fault injected", consumer=name, stage=stage)
            raise InjectedFault(f"fault injected {stage} the handler")


@lru_cache(maxsize=1)
def _faults() -> _Faults | None:
    configured = get_settings().fault_injection
    if not configured:
        return None
    values = json.loads(configured)
    seed = int(values.pop("seed", 0))
    return _Faults({str(name): float(rate) for name, rate in values.items()}, seed)


def reset_faults() -> None:
    """Read ``FAULT_INJECTION`` again (tests that change the settings)."""
    _faults.cache_clear()


def consumer[M](message_type: type[M], handle: Callable[[M], object], *, name: str) -> BatchHandler:
    """A Lambda handler body for a queue of ``message_type`` records, each given to ``handle``."""
    processor = BatchProcessor(
        event_type=EventType.SQS, model=record_model(message_type), raise_on_entire_batch_failure=False
    )

    def record_handler(record: Any) -> None:
        attribute = (record.messageAttributes or {}).get(CORRELATION_ATTRIBUTE)
        if attribute is not None and attribute.stringValue:
            logger.set_correlation_id(attribute.stringValue)
        message: M = record.body
        keys = {key: value for key, value in asdict(message).items() if key in _LOG_KEYS and value}  # type: ignore[call-overload]
        logger.append_keys(**keys)
        faults = _faults()
        try:
            if faults is not None:
                faults.strike(name, "before")
            handle(message)
            if faults is not None:
                faults.strike(name, "after")
        except TransientError as error:
            logger.warning("message will be retried", consumer=name, reason=error.detail)
            raise
        except Exception:
            logger.exception("message failed", consumer=name)
            raise
        finally:
            logger.remove_keys(list(keys))

    def handle_batch(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handle_batch
