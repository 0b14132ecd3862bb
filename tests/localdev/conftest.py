"""Fixtures of the local-stack component tests: the Flutterwave emulator in-process and a webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localdev.flutterwave_support import Emulator, WebhookReceiver


@pytest.fixture(scope="session")
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture
def flw(receiver: WebhookReceiver) -> Iterator[Emulator]:
    emulator = Emulator(receiver.url)
    yield emulator
    emulator.close()
