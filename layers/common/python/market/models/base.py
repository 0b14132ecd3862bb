"""The single table: a pynamodb base model bound to the settings, and its two GSIs.

Every item type subclasses ``TableModel``; its keys are ``PK``/``SK``, its secondary
access paths ``GSI1PK``/``GSI1SK`` and ``GSI2PK``/``GSI2SK``, and ``expires_at`` is the
table's TTL attribute (epoch seconds). The table itself is defined in ``template.yaml``.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.connection.table import TableConnection
from pynamodb.exceptions import TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from market.settings import get_settings


class Gsi1(GlobalSecondaryIndex[Any]):  # type: ignore[no-untyped-call]  # pynamodb's Index is untyped here
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class Gsi2(GlobalSecondaryIndex[Any]):  # type: ignore[no-untyped-call]  # pynamodb's Index is untyped here
    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class TableModel(Model):
    """Base of every item in the table. Bound to ``TABLE_NAME`` and the endpoint on first use."""

    class Meta:
        table_name = "unbound"
        region = "us-east-1"
        host: str | None = None
        max_retry_attempts = 3

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    # The table's TTL attribute (epoch seconds); DynamoDB deletes the item some time after it passes.
    expires_at = NumberAttribute(null=True)

    gsi1 = Gsi1()
    gsi2 = Gsi2()

    @classmethod
    def _get_connection(cls) -> TableConnection:
        settings = get_settings()
        meta = cls.Meta
        if (
            meta.table_name != settings.table_name
            or meta.host != settings.aws_endpoint_url
            or meta.region != settings.region
        ):
            meta.table_name = settings.table_name
            meta.host = settings.aws_endpoint_url
            meta.region = settings.region
            cls._connection = None
        if cls._connection is None:
            table = super()._get_connection()
            # Every model class would otherwise open its own botocore client (25-90 ms each at cold start).
            shared = connection()
            with contextlib.suppress(ValueError):  # another model class of the table registered it first
                shared.add_meta_table(table.connection.get_meta_table(table.table_name))
            table.connection = shared
            cls._connection = table
        return super()._get_connection()


@lru_cache(maxsize=4)
def _shared_connection(region: str, host: str | None) -> Connection:
    return Connection(region=region, host=host, max_retry_attempts=3)


def connection() -> Connection:
    """The container's one low-level connection, bound to the settings (models and transactions share it)."""
    settings = get_settings()
    return _shared_connection(settings.region, settings.aws_endpoint_url)


def reset_connections() -> None:
    """Forget the shared connection (tests that change the endpoint or start a new mock)."""
    _shared_connection.cache_clear()


class LabelledTransactWrite(TransactWrite):
    """A TransactWrite that remembers a label per item, so a cancellation reason can be traced back.

    pynamodb sends condition checks, then deletes, then puts, then updates, whatever order they were
    added in; DynamoDB's ``CancellationReasons`` follow the order sent. Set ``label`` before adding
    items; ``labels()`` gives the label of each item in the order sent.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.label = ""
        self._labels: dict[str, list[str]] = {"check": [], "delete": [], "put": [], "update": []}

    def condition_check(self, *args: Any, **kwargs: Any) -> None:
        super().condition_check(*args, **kwargs)
        self._labels["check"].append(self.label)

    def delete(self, *args: Any, **kwargs: Any) -> None:
        super().delete(*args, **kwargs)
        self._labels["delete"].append(self.label)

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        self._labels["put"].append(self.label)

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._labels["update"].append(self.label)

    def labels(self) -> list[str]:
        return [*self._labels["check"], *self._labels["delete"], *self._labels["put"], *self._labels["update"]]


def transact_write(client_request_token: str | None = None) -> LabelledTransactWrite:
    """``with transact_write() as tx: tx.save(...); tx.update(...)`` — one DynamoDB transaction."""
    return LabelledTransactWrite(connection=connection(), client_request_token=client_request_token)


def cancellation_codes(tx: LabelledTransactWrite, error: TransactWriteError) -> dict[str, set[str]]:
    """``{label: {reason codes}}`` of a cancelled transaction (codes other than "None")."""
    labels = tx.labels()
    out: dict[str, set[str]] = {}
    for index, reason in enumerate(error.cancellation_reasons):
        if reason is None or reason.code in (None, "None") or index >= len(labels):
            continue
        out.setdefault(labels[index], set()).add(reason.code)
    return out
