"""Fixtures of the checkout tests: the gateway port replaced by an in-memory fake, and the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.aws import AwsResources
from tests.fixtures.checkout import Api
from tests.fixtures.payments import FakeGateway, installed_fake_gateway


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    yield from installed_fake_gateway()


@pytest.fixture
def api(gateway: FakeGateway) -> Api:
    return Api()
