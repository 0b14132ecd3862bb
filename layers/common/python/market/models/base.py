"""The single table: a pynamodb base model bound to the settings, and its two GSIs.

Every item type subclasses ``TableModel``; its keys are ``PK``/``SK``, its secondary
access paths ``GSI1PK``/``GSI1SK`` and ``GSI2PK``/``GSI2SK``, and ``expires_at`` is the
table's TTL attribute (epoch seconds). The table itself is defined in ``template.yaml``.
"""

from __future__ import annotations

import contextlib
from dataclasses import MISSING, fields, is_dataclass
from datetime import datetime
from functools import lru_cache
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from pynamodb.attributes import (
    Attribute,
    AttributeContainer,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.connection.table import TableConnection
from pynamodb.constants import STRING
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from market.clock import iso, parse_iso
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


# ---------------------------------------------------------------- item <-> domain, by field name


class IsoTimeAttribute(Attribute[datetime]):
    """A UTC time stored as the contract writes it (ISO 8601 with milliseconds and ``Z``)."""

    attr_type = STRING

    def serialize(self, value: datetime) -> str:
        return iso(value)

    def deserialize(self, value: str) -> datetime:
        return parse_iso(value)


_FIELD_TYPES: dict[type[Any], dict[str, Any]] = {}


def _field_types(cls: type[Any]) -> dict[str, Any]:
    known = _FIELD_TYPES.get(cls)
    if known is None:
        known = _FIELD_TYPES[cls] = get_type_hints(cls)
    return known


def _nested_dataclass(annotation: Any) -> type[Any] | None:
    """``ProductFile`` for ``ProductFile | None``: the dataclass a map attribute holds."""
    candidates = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and is_dataclass(candidate):
            return candidate
    return None


def to_domain[T](container: AttributeContainer, cls: type[T], **derived: Any) -> T:
    """The domain dataclass ``cls`` from an item (or map attribute) whose attributes carry its field names.

    A null attribute takes the field's default when it has one; a map attribute becomes the nested
    dataclass of the field's type; ``derived`` gives fields that live in the item's key only.
    Items hold no rules: this is all the mapping there is.
    """
    attributes = type(container).get_attributes()
    types = _field_types(cls)
    values: dict[str, Any] = dict(derived)
    for spec in fields(cls):  # type: ignore[arg-type]  # cls is a dataclass by contract
        if not spec.init or spec.name in derived:
            continue
        value = getattr(container, spec.name) if spec.name in attributes else None
        if value is None:
            if spec.default is not MISSING or spec.default_factory is not MISSING:
                continue
        elif isinstance(value, MapAttribute) and (nested := _nested_dataclass(types[spec.name])) is not None:
            value = to_domain(value, nested)
        values[spec.name] = value
    return cls(**values)


def from_domain[C: AttributeContainer](container: C, value: Any) -> C:
    """Copy the fields of the dataclass ``value`` onto the same-named attributes of ``container``."""
    attributes = type(container).get_attributes()
    for spec in fields(value):
        attribute = attributes.get(spec.name)
        if attribute is None:
            continue
        field_value = getattr(value, spec.name)
        if isinstance(attribute, VersionAttribute) and not field_value:
            continue  # never saved: pynamodb then writes version 1 on the condition that none exists
        if is_dataclass(field_value) and isinstance(attribute, MapAttribute):
            field_value = from_domain(type(attribute)(), field_value)
        setattr(container, spec.name, field_value)
    return container
