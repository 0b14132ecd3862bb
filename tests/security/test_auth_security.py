"""No password, password hash or token ever leaves the auth function in a response or a log line.

The auth function runs in-process (payload-2.0 events against in-process moto); its
Powertools Logger writes JSON lines, which are captured and parsed, and every field of
every line is searched for the secrets of the requests made.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from localdev.template import LocalTemplate, load_template
from market.observability import logger
from market.settings import get_settings

# The in-process moto fixtures live with the unit tests; these tests use them as they are.
from tests.fixtures.aws import _reset_clock, aws_resources  # noqa: F401 - pytest fixtures
from tests.fixtures.events import http_event, json_body, lambda_context, load_function

PASSWORD = "S3cret-Password-Never-Logged!"
OTHER_PASSWORD = "Wrong-Password-Never-Logged?"


pytestmark = pytest.mark.usefixtures("fast_argon2")


class CurrentStdout:
    """Writes to whatever ``sys.stdout`` is now (capsys swaps it), not the one of import time."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def log_lines(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """The auth function's log lines, parsed; DEBUG and up, so nothing hides below the level."""
    handler = logger.registered_handler
    monkeypatch.setattr(handler, "stream", CurrentStdout())  # the handler kept the stdout of import time
    level = logger.log_level
    logger.setLevel("DEBUG")
    lines: list[dict[str, Any]] = []
    yield lines
    logger.setLevel(level)


def read_lines(capsys: pytest.CaptureFixture[str], lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for raw in capsys.readouterr().out.splitlines():
        if raw.strip():
            lines.append(json.loads(raw))  # every line the function writes is a JSON log record
    return lines


def strings_in(value: Any) -> Iterator[str]:
    """Every key and string value of a parsed JSON document, however nested."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif value is not None:
        yield str(value)


def call(method: str, path: str, body: Any = None, token: str | None = None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    event = http_event(method, path, body=body, headers=headers, source_ip="198.51.100.20")
    response: dict[str, Any] = load_function("functions/auth/app.py").lambda_handler(
        event, lambda_context("AuthFunction")
    )
    return response


def stored_hashes() -> list[str]:
    table = get_settings().table_name
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=table)["Items"]
    return [item["password_hash"]["S"] for item in items if "password_hash" in item]


def assert_nothing_secret(documents: list[Any], secrets: list[str]) -> None:
    for document in documents:
        for text in strings_in(document):
            for secret in secrets:
                assert secret not in text, f"a secret reached the output in {text[:80]!r}"
            assert "$argon2" not in text


@pytest.mark.usefixtures("aws_resources")
def test_no_password_hash_or_token_in_any_response_or_log_line(
    capsys: pytest.CaptureFixture[str], log_lines: list[dict[str, Any]]
) -> None:
    email = f"sec-{uuid.uuid4().hex[:10]}@example.com"
    responses = [
        call("POST", "/auth/register", {"email": email, "password": PASSWORD, "role": "creator"}),
        call("POST", "/auth/register", {"email": email, "password": PASSWORD, "role": "creator"}),  # 409
        call("POST", "/auth/register", {"email": "x@example.com", "password": PASSWORD[:8], "role": "creator"}),  # 422
        call("POST", "/auth/register", {"email": "x@example.com", "password": PASSWORD * 5, "role": "customer"}),
        call("POST", "/auth/login", {"email": email, "password": OTHER_PASSWORD}),
        call("POST", "/auth/login", {"email": "nobody-" + email, "password": PASSWORD}),
        call("POST", "/auth/login", {"email": email, "password": PASSWORD, "extra": PASSWORD}),  # 422
    ]
    login = call("POST", "/auth/login", {"email": email, "password": PASSWORD})
    pair = json_body(login)
    rotated = call("POST", "/auth/refresh", {"refresh_token": pair["refresh_token"]})
    new_pair = json_body(rotated)
    responses += [
        login,
        rotated,
        call("POST", "/auth/refresh", {"refresh_token": pair["refresh_token"]}),  # reuse: family revoked
        call("GET", "/me", token=new_pair["access_token"]),
        call("POST", "/auth/logout", {"refresh_token": new_pair["refresh_token"]}, token=new_pair["access_token"]),
        call("POST", "/auth/refresh", {"refresh_token": "x" * 300}),  # 422, too long
    ]
    lines = read_lines(capsys, log_lines)

    assert [response["statusCode"] for response in responses] == [
        201, 409, 422, 422, 401, 401, 422, 200, 200, 401, 200, 204, 422,
    ]  # fmt: skip
    # One user, one hash (stored on the user and on its email guard's login copy).
    secrets = [PASSWORD, OTHER_PASSWORD, *dict.fromkeys(stored_hashes())]
    assert len(secrets) == 3
    assert_nothing_secret([{"headers": r.get("headers"), "body": r.get("body")} for r in responses], secrets)
    # Tokens go to their owner in the login/refresh bodies, and nowhere else.
    tokens = [pair["access_token"], pair["refresh_token"], new_pair["access_token"], new_pair["refresh_token"]]
    assert len(lines) >= 7
    assert any("user_id" in line for line in lines)
    assert all({"level", "message", "timestamp"} <= set(line) for line in lines)
    assert_nothing_secret(lines, secrets + tokens)


@pytest.mark.usefixtures("aws_resources")
def test_an_unexpected_failure_logs_no_password(
    capsys: pytest.CaptureFixture[str], log_lines: list[dict[str, Any]]
) -> None:
    boto3.client("dynamodb", region_name="us-east-1").delete_table(TableName=get_settings().table_name)

    response = call("POST", "/auth/register", {"email": "gone@example.com", "password": PASSWORD, "role": "customer"})
    lines = read_lines(capsys, log_lines)

    assert response["statusCode"] == 500
    assert any(line["level"] == "ERROR" for line in lines)
    assert_nothing_secret([response.get("body"), *lines], [PASSWORD])


def test_the_template_never_turns_on_event_logging_or_resolver_debug() -> None:
    # POWERTOOLS_DEV / POWERTOOLS_EVENT_HANDLER_DEBUG make the resolver print whole events (passwords
    # included) to stdout; POWERTOOLS_LOGGER_LOG_EVENT logs them.
    template = LocalTemplate(load_template())
    auth = next(spec for spec in template.functions() if spec.logical_id == "AuthFunction")

    for variable in ("POWERTOOLS_DEV", "POWERTOOLS_EVENT_HANDLER_DEBUG", "POWERTOOLS_LOGGER_LOG_EVENT"):
        assert auth.environment.get(variable, "false").lower() in {"false", "0", ""}
    assert load_function("functions/auth/app.py").app._debug is False
