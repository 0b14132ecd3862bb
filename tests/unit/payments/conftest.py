"""Fixtures of the payments tests: the gateway port replaced by an in-memory fake, the real queue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.aws import AwsResources
from tests.fixtures.payments import FakeGateway, installed_fake_gateway
from tests.fixtures.payments_queue import PaymentsQueue


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    yield from installed_fake_gateway()


@pytest.fixture
def queue(aws_resources: AwsResources) -> PaymentsQueue:
    return PaymentsQueue(aws_resources)
