"""The single table: a pynamodb base model bound to the settings, and its two GSIs.

Every item type subclasses ``TableModel``; its keys are ``PK``/``SK``, its secondary
access paths ``GSI1PK``/``GSI1SK`` and ``GSI2PK``/``GSI2SK``, and ``expires_at`` is the
table's TTL attribute (epoch seconds). The table itself is defined in ``template.yaml``.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.connection.table import TableConnection
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
        return super()._get_connection()


def connection() -> Connection:
    """A low-level connection bound to the settings (for transactions)."""
    settings = get_settings()
    return Connection(region=settings.region, host=settings.aws_endpoint_url, max_retry_attempts=3)


def transact_write(client_request_token: str | None = None) -> TransactWrite:
    """``with transact_write() as tx: tx.save(...); tx.update(...)`` — one DynamoDB transaction."""
    return TransactWrite(connection=connection(), client_request_token=client_request_token)
