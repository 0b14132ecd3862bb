"""Unit fixtures: in-process moto with the table, bucket and queues built from template.yaml."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localdev.moto_patches import serialize_dynamodb
from localdev.template import LocalTemplate, load_template
from market import aws, clock
from market.auth import tokens
from market.models.base import reset_connections
from market.settings import get_settings

# In-process moto, like the server, must not lose writes when tests race threads against it.
serialize_dynamodb()


class _CachedClients:
    """A boto3 session stand-in whose clients are made once per run: moto intercepts them in every
    ``mock_aws`` context, and making clients is most of a fixture's cost."""

    def client(self, service: str, **kwargs: Any) -> Any:
        return _client(service, kwargs.get("region_name") or "us-east-1", kwargs.get("endpoint_url"))


@cache
def _client(service: str, region: str, endpoint_url: str | None) -> Any:
    return boto3.Session().client(service, region_name=region, endpoint_url=endpoint_url)


@cache
def _template() -> dict[str, Any]:
    return load_template()


@dataclass
class AwsResources:
    template: LocalTemplate
    table_name: str
    bucket_name: str
    queue_urls: dict[str, str]


@pytest.fixture
def aws_resources(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsResources]:
    """Fresh moto services per test, created from the template; env and caches point at them."""
    with mock_aws():
        local = LocalTemplate(_template(), stack_name="unit")
        local.create_resources(_CachedClients())
        table = local.physical_name("Table")
        bucket = local.physical_name("FilesBucket")
        monkeypatch.setenv("TABLE_NAME", table)
        monkeypatch.setenv("BUCKET_NAME", bucket)
        monkeypatch.setenv("PAYMENTS_QUEUE_URL", local.queue_urls["PaymentsQueue"])
        monkeypatch.setenv("DELIVERY_QUEUE_URL", local.queue_urls["DeliveryQueue"])
        monkeypatch.setenv("PAYOUTS_QUEUE_URL", local.queue_urls["PayoutsQueue"])
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        _clear_caches()
        _CachedClients().client("ses").verify_email_identity(EmailAddress=get_settings().email_sender)
        yield AwsResources(local, table, bucket, dict(local.queue_urls))
    _clear_caches()


def _clear_caches() -> None:
    get_settings.cache_clear()
    reset_connections()
    aws.reset_clients()
    tokens.signing_key.cache_clear()
    clock.set_offset(0)


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.set_offset(0)
    assert os.environ.get("AWS_ACCESS_KEY_ID") == "testing"
