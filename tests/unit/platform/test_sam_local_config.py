"""What `make sam-local` hands SAM CLI: the endpoint only through a parameter empty on AWS, the env-vars, the split."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from localdev.sam_local import split_template
from localdev.stack import SAM_LOCAL, StackConfig
from localdev.template import DEFAULT_TEMPLATE, LocalTemplate, load_template


@pytest.fixture(autouse=True)
def default_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LOCAL_API_PORT", "LOCAL_GATEWAY_PORT", "LOCAL_AWS_PORT", "LOCAL_HELPERS_PORT", "LOCAL_LAMBDA_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("LOCAL_MODE", raising=False)
    monkeypatch.delenv("LOCAL_PARAMETER_OVERRIDES", raising=False)


def test_on_aws_no_function_gets_an_aws_endpoint_url() -> None:
    local = LocalTemplate(load_template(DEFAULT_TEMPLATE))  # the template's defaults, as a deploy has them

    functions = local.functions()

    assert functions
    assert all("AWS_ENDPOINT_URL" not in spec.environment for spec in functions)


def test_the_local_endpoint_parameter_reaches_every_function() -> None:
    endpoint = "http://172.17.0.1:5000"
    local = LocalTemplate(load_template(DEFAULT_TEMPLATE), parameter_overrides={"LocalAwsEndpointUrl": endpoint})

    assert {spec.environment["AWS_ENDPOINT_URL"] for spec in local.functions()} == {endpoint}


def test_sam_local_config_points_the_functions_at_the_bridge_and_people_at_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCAL_FUNCTION_HOST", "172.17.0.1")

    config = StackConfig.from_env(mode=SAM_LOCAL)

    assert config.parameter_overrides["LocalAwsEndpointUrl"] == "http://172.17.0.1:5000"
    assert config.parameter_overrides["PaystackBaseUrl"] == "http://172.17.0.1:3001"
    assert config.parameter_overrides["PublicApiUrl"] == "http://127.0.0.1:3000"  # emailed links, for people
    assert config.helpers_url == "http://127.0.0.1:3003"
    assert config.lambda_url == "http://127.0.0.1:3002"


def test_embedded_config_ignores_the_function_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_FUNCTION_HOST", "172.17.0.1")

    config = StackConfig.from_env()

    assert "LocalAwsEndpointUrl" not in config.parameter_overrides
    assert config.parameter_overrides["PaystackBaseUrl"] == "http://127.0.0.1:3001"
    assert config.helpers_url == config.api_url


def test_start_api_gets_the_http_functions_and_start_lambda_the_others(tmp_path: Path) -> None:
    shutil.copy(DEFAULT_TEMPLATE, tmp_path / "template.yaml")

    api, events = split_template(tmp_path)

    def functions(path: Path) -> set[str]:
        resources = json.loads(path.read_text())["Resources"]
        return {name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}

    assert api.parent == events.parent == tmp_path  # beside the built template: relative code paths stay valid
    assert {"AuthFunction", "UploadFunction", "WebhookFunction"} <= functions(api)
    assert {"PaymentsFunction", "ReconcilerFunction", "UploadEventsFunction"} <= functions(events)
    assert functions(api).isdisjoint(functions(events))
    everything = LocalTemplate(load_template(DEFAULT_TEMPLATE)).of_type("AWS::Serverless::Function")
    assert functions(api) | functions(events) == set(everything)
    # Everything else (the layer, the API, the table...) is in both.
    assert "CommonLayer" in json.loads(api.read_text())["Resources"]
    assert "CommonLayer" in json.loads(events.read_text())["Resources"]
