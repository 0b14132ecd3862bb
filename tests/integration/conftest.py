"""Integration fixtures: the local stack, started once per run, ready when /health answers.

With LOCAL_STACK_EXTERNAL=1 the tests use a stack that is already running on the
default ports (``make run`` or ``make sam-local``) instead of starting one. For a sam-local
stack (``make test-sam-local`` sets these) LOCAL_HELPERS_URL is where its ``/_local`` helpers
answer, LOCAL_AWS_ENDPOINT the AWS emulator's address that the Lambda containers use too, and
LOCAL_STACK_MODE=sam-local the mode the stack must report (no silent fallback to workers).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.gateways import DRIVERS, Driver


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest, stack: Any) -> Driver:
    """The gateway a test pays through: a test that takes it runs once per gateway (tests/integration/gateways.py)."""
    return DRIVERS[request.param](stack)
