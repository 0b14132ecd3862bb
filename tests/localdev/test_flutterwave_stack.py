"""The local stack starts the Flutterwave emulator as it starts Paystack's: its port, keys, placeholder, bridge."""

from __future__ import annotations

from typing import Any

import pytest

from localdev.flutterwave import FlutterwaveEmulator
from localdev.paystack import PaystackEmulator
from localdev.stack import SAM_LOCAL, LocalStack, StackConfig, ready_banner


@pytest.fixture(autouse=True)
def default_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "LOCAL_API_PORT",
        "LOCAL_GATEWAY_PORT",
        "LOCAL_AWS_PORT",
        "LOCAL_FLUTTERWAVE_PORT",
        "LOCAL_HELPERS_PORT",
        "LOCAL_LAMBDA_PORT",
        "LOCAL_MODE",
        "LOCAL_PARAMETER_OVERRIDES",
        "LOCAL_FUNCTION_HOST",
        "FLUTTERWAVE_SECRET_KEY",
        "FLUTTERWAVE_SECRET_HASH",
    ):
        monkeypatch.delenv(name, raising=False)


def test_the_defaults_are_the_documented_ones() -> None:
    config = StackConfig.from_env()

    assert config.flutterwave_url == "http://127.0.0.1:3004"
    assert (config.flutterwave_secret_key, config.flutterwave_secret_hash) == ("FLWSECK_TEST-local", "local-hash")


def test_port_and_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_FLUTTERWAVE_PORT", "4004")
    monkeypatch.setenv("FLUTTERWAVE_SECRET_KEY", "FLWSECK_TEST-other")
    monkeypatch.setenv("FLUTTERWAVE_SECRET_HASH", "other-hash")

    config = StackConfig.from_env()

    assert config.flutterwave_url == "http://127.0.0.1:4004"
    assert (config.flutterwave_secret_key, config.flutterwave_secret_hash) == ("FLWSECK_TEST-other", "other-hash")


def test_the_flutterwave_placeholder_is_where_the_functions_reach_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_FLUTTERWAVE_PORT", "4004")
    monkeypatch.setenv("LOCAL_PARAMETER_OVERRIDES", "FlutterwaveBaseUrl={flutterwave}/v3 Both={gateway}|{flutterwave}")
    monkeypatch.setenv("LOCAL_FUNCTION_HOST", "172.17.0.1")

    embedded = StackConfig.from_env()
    sam_local = StackConfig.from_env(mode=SAM_LOCAL)

    assert embedded.parameter_overrides["FlutterwaveBaseUrl"] == "http://127.0.0.1:4004/v3"
    assert embedded.parameter_overrides["Both"] == "http://127.0.0.1:3001|http://127.0.0.1:4004"
    assert sam_local.parameter_overrides["FlutterwaveBaseUrl"] == "http://172.17.0.1:4004/v3"


class Recording(LocalStack):
    """A stack that records what it would serve instead of binding ports."""

    def __init__(self, config: StackConfig) -> None:
        super().__init__(config)
        self.served: list[tuple[str, str, int, Any]] = []

    def _serve(self, app: Any, port: int, name: str, *, host: str = "127.0.0.1", handler: Any = None) -> None:
        self.served.append((name, host, port, app))


@pytest.mark.parametrize("mode", ["embedded", SAM_LOCAL])
def test_both_emulators_are_served_in_both_modes(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("LOCAL_FLUTTERWAVE_PORT", "4004")
    monkeypatch.setenv("LOCAL_FUNCTION_HOST", "172.17.0.1")
    stack = Recording(StackConfig.from_env(mode=mode))
    try:
        stack._start_gateway_emulators()

        served = {(name, host, port): app for name, host, port, app in stack.served}
        flutterwave = served[("flutterwave", "127.0.0.1", 4004)]
        assert isinstance(flutterwave, FlutterwaveEmulator)
        assert isinstance(served[("paystack", "127.0.0.1", 3001)], PaystackEmulator)
        assert flutterwave.webhooks.url == "http://127.0.0.1:3000/webhooks/flutterwave"
        assert flutterwave.public_url == "http://127.0.0.1:4004"
        assert flutterwave.secret_key == "FLWSECK_TEST-local"
        bridged = {name for name, host, _, _ in stack.served if host == "172.17.0.1"}
        assert bridged == ({"flutterwave-bridge", "paystack-bridge"} if mode == SAM_LOCAL else set())
        if mode == SAM_LOCAL:
            assert served[("flutterwave-bridge", "172.17.0.1", 4004)] is flutterwave
    finally:
        stack.stop()


@pytest.mark.parametrize("mode", ["embedded", SAM_LOCAL])
def test_the_banner_prints_the_flutterwave_emulator(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("LOCAL_FLUTTERWAVE_PORT", "4004")

    assert "Flutterwave emulator        http://127.0.0.1:4004" in ready_banner(StackConfig.from_env(mode=mode))
