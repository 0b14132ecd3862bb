"""Make the AWS emulator as atomic as the real services where the application depends on it, and
keep its cost from growing with the data it holds (``apply_patches`` applies them all, once).

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
_sqs_applied = False


def apply_patches() -> None:
    serialize_dynamodb()
    fast_sqs()


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
    fast_transactions()
    _applied = True


def fast_transactions() -> None:
    """moto deep-copies every table touched by ``TransactWriteItems`` (once per item) to roll back a
    cancelled transaction: the cost grows with the table, and a long test run slows to a crawl.

    This version has DynamoDB's semantics without the copies: every condition is evaluated against
    the state before the transaction; if any fails, nothing is written and the cancellation reasons
    are returned per item; otherwise all writes are applied (only the touched items are backed up,
    for an unexpected error while applying). It relies on ``serialize_dynamodb`` for atomicity.
    """
    import copy

    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        seen: set[tuple[str, str]] = set()
        errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
        planned: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
        for item in transact_items:
            if len(item) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            table = self.get_table(table_name)
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            marker = (str(table_name), str(dict(sorted(key.items()))))
            if marker in seen:
                raise MultipleTransactionsException()
            seen.add(marker)
            current = self.get_item(table_name, key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                check = get_filter_expression(
                    condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                if not check.expr(current):
                    old = None
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        old = current.to_json()["Attributes"]
                    errors.append(("ConditionalCheckFailed", ConditionalCheckFailed().message, old))
                    continue
            errors.append((None, None, None))
            planned.append((op_type, op, table_name, key))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        backups = []
        for _, _, table_name, key in planned:
            current = self.get_item(table_name, key)
            backups.append((table_name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
        try:
            for op_type, op, table_name, key in planned:
                names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    self.put_item(
                        table_name, op["Item"], expression_attribute_names=names, expression_attribute_values=values
                    )
                elif op_type == "Delete":
                    self.delete_item(
                        table_name, key, expression_attribute_names=names, expression_attribute_values=values
                    )
                elif op_type == "Update":
                    self.update_item(
                        table_name,
                        key,
                        update_expression=op["UpdateExpression"],
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
        except Exception:
            for table_name, key, attributes in backups:
                if attributes is None:
                    self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, attributes)
            raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def fast_sqs() -> None:
    """moto's SQS reads the clock once per message, several times per request: ``ReceiveMessage``
    checks every message it returns against the retention period through the queue's attributes,
    which count all the queue's messages (O(n²) in the queue's length), and ``SendMessage`` counts
    them too. A backlog of a thousand deliveries then takes the emulator's whole CPU.

    These versions read the clock once per request and the retention period directly: the same
    answers, in O(n).
    """
    global _sqs_applied
    if _sqs_applied:
        return
    from moto.core.utils import unix_time, unix_time_millis
    from moto.sqs.models import Message, Queue, SQSBackend

    def visible_now(queue: Queue) -> list[Message]:
        now = unix_time_millis()
        return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed_count(queue: Queue) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if now < m.delayed_until)

    def not_visible_count(queue: Queue) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if not now > m.visible_at)

    def retained(backend: SQSBackend, queue_name: str, message: Message) -> bool:
        retention_seconds = int(backend.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
        return bool(retention_seconds + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]

    Queue.messages = property(visible_now)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_delayed = property(delayed_count)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_not_visible = property(not_visible_count)  # type: ignore[assignment,method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = retained  # type: ignore[assignment,method-assign]
    _sqs_applied = True
