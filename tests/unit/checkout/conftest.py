"""Fixtures of the checkout tests: the gateway port replaced by an in-memory fake, and the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from market.gateways.registry import reset_gateways
from tests.fixtures.aws import AwsResources
from tests.fixtures.checkout import Api
from tests.fixtures.payments import FakeGateway, install_fake_gateway


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    fake = install_fake_gateway()
    yield fake
    reset_gateways()


@pytest.fixture
def api(gateway: FakeGateway) -> Api:
    return Api()
