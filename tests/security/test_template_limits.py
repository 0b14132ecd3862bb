"""Limits and deploy safety in template.yaml: no public route can starve settlement, and a default
deploy emails working links.

- The webhook receiver, the payments consumer and the delivery consumer have reserved concurrency;
  the auth function (argon2, ~200 ms per register or login) is capped by its reservation; the SQS
  pollers of reserved consumers never run more copies than reserved (throttled deliveries would count
  as receives toward the DLQ). The defaults leave an account of 1,000 at least 100 unreserved (AWS's
  minimum), and 0 turns a reservation off.
- The HTTP API throttles each route (all callers together): generous, since many buyers share one IP
  behind carrier-grade NAT; the per-account limits in the code do the fine work.
- With the default ``PublicApiUrl=""`` the delivery consumer still gets a link base: the API's own URL.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from localdev.template import LocalTemplate
from tests.template import iam

DEFAULT_ACCOUNT_CONCURRENCY = 1000
MINIMUM_UNRESERVED = 100  # AWS refuses a reservation that leaves less than this unreserved
# function -> (condition, parameter) of its reservation
RESERVED = {
    "AuthFunction": ("CapAuthConcurrency", "AuthMaxConcurrency"),
    "WebhookFunction": ("ReserveWebhookConcurrency", "WebhookReservedConcurrency"),
    "PaymentsFunction": ("ReservePaymentsConcurrency", "PaymentsReservedConcurrency"),
    "DeliveryWorkerFunction": ("ReserveDeliveryConcurrency", "DeliveryReservedConcurrency"),
}


def parameters() -> dict[str, Any]:
    return dict(iam.template()["Parameters"])


def default(parameter: str) -> int:
    return int(parameters()[parameter]["Default"])


def props(logical_id: str) -> dict[str, Any]:
    return dict(iam.template()["Resources"][logical_id]["Properties"])


@pytest.mark.parametrize("function", sorted(RESERVED))
def test_settlement_and_the_public_burst_have_reserved_concurrency(function: str) -> None:
    condition, parameter = RESERVED[function]
    assert props(function)["ReservedConcurrentExecutions"] == {
        "Fn::If": [condition, {"Ref": parameter}, {"Ref": "AWS::NoValue"}]
    }
    # 0 means "no reservation" (a new account with a quota of 10 cannot reserve anything), not "disabled".
    assert iam.template()["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]}
    assert default(parameter) >= 5
    assert int(parameters()[parameter]["MinValue"]) == 0


def test_the_default_reservations_deploy_on_a_default_account() -> None:
    reserved = sum(default(parameter) for _, parameter in RESERVED.values())
    assert reserved <= DEFAULT_ACCOUNT_CONCURRENCY - MINIMUM_UNRESERVED
    others = set(iam.functions()) - set(RESERVED)
    for function in others:
        assert "ReservedConcurrentExecutions" not in props(function), function


@pytest.mark.parametrize(
    ("function", "queue", "condition", "parameter"),
    [
        ("PaymentsFunction", "PaymentsQueue", "ReservePaymentsConcurrency", "PaymentsReservedConcurrency"),
        ("DeliveryWorkerFunction", "DeliveryQueue", "ReserveDeliveryConcurrency", "DeliveryReservedConcurrency"),
    ],
)
def test_reserved_consumers_poll_with_no_more_copies_than_reserved(
    function: str, queue: str, condition: str, parameter: str
) -> None:
    (event,) = [e for e in props(function)["Events"].values() if e["Type"] == "SQS"]
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert event["Properties"]["ScalingConfig"] == {
        "Fn::If": [condition, {"MaximumConcurrency": {"Ref": parameter}}, {"Ref": "AWS::NoValue"}]
    }
    assert default(parameter) >= 2  # the smallest MaximumConcurrency SQS event sources take


def test_every_route_is_throttled_generously() -> None:
    settings = props("HttpApi")["DefaultRouteSettings"]
    assert settings == {
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
    }
    # Carrier-grade NAT: hundreds of buyers can share one address; these limits are per route, all callers.
    assert default("ApiThrottlingRateLimit") >= 200
    assert default("ApiThrottlingBurstLimit") >= default("ApiThrottlingRateLimit")


def test_access_logs_name_routes_never_paths() -> None:
    log_format = props("HttpApi")["AccessLogSettings"]["Format"]
    assert "$context.routeKey" in log_format
    # Download tokens are in paths.
    assert "$context.path" not in log_format
    assert "$context.http.path" not in log_format


def test_every_serverless_resource_has_properties_so_checkov_applies_the_globals() -> None:
    for name, spec in iam.template()["Resources"].items():
        if spec["Type"].startswith("AWS::Serverless::"):
            assert spec.get("Properties"), f"{name}: checkov ignores Globals when any serverless resource has none"


def _worker_env(**overrides: str) -> dict[str, str]:
    local = LocalTemplate(iam.template(), stack_name="t", parameter_overrides=overrides)
    (worker,) = [f for f in local.functions() if f.logical_id == "DeliveryWorkerFunction"]
    return worker.environment


def test_a_default_deploy_gives_the_delivery_consumer_the_apis_own_url() -> None:
    assert iam.template()["Parameters"]["PublicApiUrl"]["Default"] == ""
    assert _worker_env()["PUBLIC_API_URL"] == "https://t-HttpApi.execute-api.us-east-1.amazonaws.com"
    assert _worker_env(PublicApiUrl="https://shop.example")["PUBLIC_API_URL"] == "https://shop.example"


def test_a_malformed_public_api_url_is_refused_at_deploy() -> None:
    pattern = iam.template()["Parameters"]["PublicApiUrl"]["AllowedPattern"]
    for good in ("", "https://shop.example", "http://127.0.0.1:3000"):
        assert re.fullmatch(pattern, good), good
    for bad in ("shop.example", "https://", "ftp://shop.example"):
        assert not re.fullmatch(pattern, bad), bad
