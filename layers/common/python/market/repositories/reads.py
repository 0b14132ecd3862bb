"""Several items of the table in one round trip, whatever their item types.

``get_many`` is one strongly consistent ``BatchGetItem`` (100 keys a request; the keys DynamoDB
leaves unprocessed under throttling are asked again with backoff), where a loop of ``GetItem``
would cost a round trip per item: the login reads the email guard and both rate counters at
once, and the payments consumer a batch's references, orders and guards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from market.domain.errors import TransientError
from market.models.base import TableModel, connection
from market.repositories.transactions import backoff

BATCH_GET_LIMIT = 100
_UNPROCESSED_ATTEMPTS = 6

ItemKey = tuple[type[TableModel], str, str]  # (item type, PK, SK)


def get_many(keys: Sequence[ItemKey]) -> list[Any]:
    """The item of each key (an instance of its type), or ``None`` where there is none; in the order given.

    Typed ``Any`` because the item types differ key by key: callers narrow each with ``isinstance``.
    """
    if not keys:
        return []
    wanted: dict[tuple[str, str], type[TableModel]] = {}
    for model, pk, sk in keys:
        wanted.setdefault((pk, sk), model)
    table_name = ""
    for model in {model for model, _, _ in keys}:
        table_name = model._get_connection().table_name  # binds the table and registers its key schema
    found: dict[tuple[str, str], TableModel] = {}
    pending = list(wanted)
    for attempt in range(_UNPROCESSED_ATTEMPTS):
        unprocessed: list[tuple[str, str]] = []
        for start in range(0, len(pending), BATCH_GET_LIMIT):
            chunk = pending[start : start + BATCH_GET_LIMIT]
            response = connection().batch_get_item(
                table_name,
                [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in chunk],  # type: ignore[misc]  # typed str, takes maps
                consistent_read=True,
            )
            for raw in response.get("Responses", {}).get(table_name, []):
                key = (raw["PK"]["S"], raw["SK"]["S"])
                found[key] = wanted[key].from_raw_data(raw)
            left = response.get("UnprocessedKeys", {}).get(table_name, {}).get("Keys", [])
            unprocessed += [(item["PK"]["S"], item["SK"]["S"]) for item in left]
        if not unprocessed:
            return [found.get((pk, sk)) for _, pk, sk in keys]
        pending = unprocessed
        backoff(attempt)
    raise TransientError("The table is busy; try again.")
