"""Forget everything the ``market`` package caches per container.

A Lambda container reads its settings, opens its clients, loads its signing key and SSM values
once; a test that starts a new AWS mock, a benchmark that plays a cold container or points the
package at another emulator, and an operator's check against the local stack must forget all of
them at once. This is the one list.
"""

from __future__ import annotations

from typing import Any


def reset_caches() -> None:
    from aws_lambda_powertools.utilities import parameters

    from market import aws, consumers, keys
    from market.gateways.registry import reset_gateways
    from market.models.base import TableModel, reset_connections
    from market.services.limits import reset_refusals
    from market.settings import get_settings

    get_settings.cache_clear()
    consumers.reset_faults()
    reset_connections()
    aws.reset_clients()
    keys.reset()
    reset_gateways()
    reset_refusals()
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
    pending: list[type[Any]] = [TableModel]
    while pending:
        model = pending.pop()
        model._connection = None
        pending.extend(model.__subclasses__())
