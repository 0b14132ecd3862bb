"""The auth function's routes in-process (payload-2.0 events against moto): status codes and bodies."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from market import clock
from market.settings import get_settings
from tests.fixtures.events import header, http_event, json_body, lambda_context, load_function

PASSWORD = "correct horse battery staple"
USER_FIELDS = {"id", "email", "role", "display_name", "created_at"}
PAIR_FIELDS = {"access_token", "refresh_token", "token_type", "expires_in"}


pytestmark = pytest.mark.usefixtures("fast_argon2")


def call(
    method: str, path: str, body: Any = None, token: str | None = None, source_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    event = http_event(method, path, body=body, headers=headers, source_ip=source_ip)
    response: dict[str, Any] = load_function("functions/auth/app.py").lambda_handler(
        event, lambda_context("AuthFunction")
    )
    return response


def unique_email() -> str:
    return f"api-{uuid.uuid4().hex[:12]}@example.com"


def register(email: str | None = None, role: str = "customer", **extra: Any) -> dict[str, Any]:
    return call(
        "POST", "/auth/register", {"email": email or unique_email(), "password": PASSWORD, "role": role, **extra}
    )


def login(email: str, password: str = PASSWORD, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    return call("POST", "/auth/login", {"email": email, "password": password}, source_ip=source_ip)


def assert_problem(response: dict[str, Any], status: int) -> dict[str, Any]:
    assert response["statusCode"] == status, response
    assert header(response, "content-type") == "application/problem+json"
    body: dict[str, Any] = json_body(response)
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


def test_health_answers_ok() -> None:
    response = call("GET", "/health")

    assert (response["statusCode"], json_body(response)) == (200, {"status": "ok"})


def test_unknown_route_answers_404_problem() -> None:
    assert_problem(call("GET", "/no/such/route"), 404)


@pytest.mark.usefixtures("aws_resources")
def test_register_answers_201_with_the_user_and_no_secret() -> None:
    response = register(email="  New.User@Example.com", role="creator", display_name="  New User ")

    assert response["statusCode"] == 201
    user = json_body(response)
    assert set(user) == USER_FIELDS
    assert user["email"] == "new.user@example.com"
    assert (user["role"], user["display_name"]) == ("creator", "New User")
    assert user["created_at"].endswith("Z")
    assert PASSWORD not in response["body"]
    assert "argon2" not in response["body"]


@pytest.mark.usefixtures("aws_resources")
def test_register_an_existing_email_answers_409_problem() -> None:
    email = unique_email()
    assert register(email)["statusCode"] == 201

    body = assert_problem(register(email.upper()), 409)

    assert body["type"].endswith("/email-taken")


@pytest.mark.usefixtures("aws_resources")
def test_register_as_admin_answers_403_problem() -> None:
    assert_problem(register(role="admin"), 403)


@pytest.mark.usefixtures("aws_resources")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"email": "a@example.com", "password": "short", "role": "customer"}, "password", id="short"),
        pytest.param({"email": "a@example.com", "password": "x" * 129, "role": "customer"}, "password", id="long"),
        pytest.param({"email": "not-an-email", "password": PASSWORD, "role": "customer"}, "email", id="email"),
        pytest.param({"email": "a@example.com", "password": PASSWORD, "role": "wizard"}, "role", id="role"),
        pytest.param({"email": "a@example.com", "password": PASSWORD}, "role", id="missing role"),
        pytest.param(
            {"email": "a@example.com", "password": PASSWORD, "role": "customer", "is_admin": True},
            "is_admin",
            id="extra",
        ),
        pytest.param(
            {"email": "a@example.com", "password": PASSWORD, "role": "customer", "display_name": "x" * 81},
            "display_name",
            id="name",
        ),
    ],
)
def test_invalid_registration_answers_422_with_the_bad_field(body: dict[str, Any], field: str) -> None:
    problem = assert_problem(call("POST", "/auth/register", body), 422)

    assert field in [error["field"] for error in problem["errors"]]
    assert all(set(error) == {"field", "message"} for error in problem["errors"])
    assert "x" * 129 not in str(problem)


@pytest.mark.usefixtures("aws_resources")
def test_password_of_exactly_12_and_128_characters_is_accepted() -> None:
    for password in ("a" * 12, "b" * 128):
        body = {"email": unique_email(), "password": password, "role": "customer"}
        assert call("POST", "/auth/register", body)["statusCode"] == 201


def test_body_that_is_not_json_answers_422_problem() -> None:
    assert_problem(call("POST", "/auth/register", "{not json"), 422)


@pytest.mark.usefixtures("aws_resources")
def test_login_answers_a_bearer_pair_without_caching() -> None:
    email = unique_email()
    register(email)

    response = login(email)

    assert response["statusCode"] == 200
    pair = json_body(response)
    assert set(pair) == PAIR_FIELDS
    assert (pair["token_type"], pair["expires_in"]) == ("Bearer", 900)
    assert header(response, "cache-control") == "no-store"


@pytest.mark.usefixtures("aws_resources")
def test_wrong_password_and_unknown_email_answer_the_same_401() -> None:
    email = unique_email()
    register(email)

    wrong_password = assert_problem(login(email, "wrong password!!"), 401)
    unknown_email = assert_problem(login(unique_email()), 401)

    assert wrong_password == unknown_email


@pytest.mark.usefixtures("aws_resources")
def test_lockout_answers_429_with_retry_after_then_opens_after_the_window() -> None:
    window = get_settings().login_window_seconds
    clock.set_offset(-(clock.epoch_seconds() % window))
    email = unique_email()
    register(email)
    for _ in range(5):
        assert login(email, "wrong password!!")["statusCode"] == 401

    locked = login(email)

    assert_problem(locked, 429)
    assert 0 < int(header(locked, "retry-after") or "0") <= window
    clock.set_offset(-(clock.epoch_seconds() % window) + window)
    assert login(email)["statusCode"] == 200


@pytest.mark.usefixtures("aws_resources")
def test_me_answers_the_caller() -> None:
    email = unique_email()
    created = json_body(register(email, role="creator"))
    token = json_body(login(email))["access_token"]

    response = call("GET", "/me", token=token)

    assert response["statusCode"] == 200
    assert json_body(response) == created


def test_me_without_a_token_answers_401_with_a_bearer_challenge() -> None:
    response = call("GET", "/me")

    assert_problem(response, 401)
    assert header(response, "www-authenticate") == 'Bearer error="invalid_token"'


@pytest.mark.usefixtures("aws_resources")
def test_refresh_answers_a_new_pair_and_reuse_answers_401_for_both_tokens() -> None:
    email = unique_email()
    register(email)
    first = json_body(login(email))

    rotated = call("POST", "/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert rotated["statusCode"] == 200
    second = json_body(rotated)
    assert set(second) == PAIR_FIELDS
    assert second["refresh_token"] != first["refresh_token"]

    assert_problem(call("POST", "/auth/refresh", {"refresh_token": first["refresh_token"]}), 401)
    assert_problem(call("POST", "/auth/refresh", {"refresh_token": second["refresh_token"]}), 401)


@pytest.mark.usefixtures("aws_resources")
def test_logout_answers_204_and_the_refresh_token_stops_working() -> None:
    email = unique_email()
    register(email)
    pair = json_body(login(email))

    response = call("POST", "/auth/logout", {"refresh_token": pair["refresh_token"]}, token=pair["access_token"])

    assert (response["statusCode"], response["body"]) == (204, "")
    assert_problem(call("POST", "/auth/refresh", {"refresh_token": pair["refresh_token"]}), 401)


@pytest.mark.usefixtures("aws_resources")
def test_logout_needs_the_access_token() -> None:
    email = unique_email()
    register(email)
    pair = json_body(login(email))

    response = call("POST", "/auth/logout", {"refresh_token": pair["refresh_token"]})

    assert_problem(response, 401)
    assert call("POST", "/auth/refresh", {"refresh_token": pair["refresh_token"]})["statusCode"] == 200
