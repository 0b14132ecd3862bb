"""Make the AWS emulator as atomic as the real services where the application depends on it.

moto's DynamoDB ``TransactWriteItems`` snapshots the tables and restores them when a condition
fails, without a lock: two concurrent requests can then lose each other's writes, which real
DynamoDB never does. The local stack serves requests on many threads, so every DynamoDB request
is run under one lock (DynamoDB serialises conflicting writes itself; throughput is not the point here).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_dynamodb_lock = threading.RLock()
_applied = False


def serialize_dynamodb() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        with _dynamodb_lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _applied = True
