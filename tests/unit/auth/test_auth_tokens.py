"""Access tokens and the route guards: pinned algorithm, issuer, audience, expiry on market.clock, roles."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from aws_lambda_powertools.event_handler import Response

from market import clock
from market.auth.guard import authenticated, caller, require_role
from market.auth.tokens import issue_access_token, verify_access_token
from market.domain.errors import InvalidToken
from market.http import json_response, make_resolver
from market.settings import get_settings
from tests.fixtures.events import header, http_event, json_body, lambda_context

KEY = "unit-test-signing-key-0123456789abcdef"  # tests/conftest.py sets it as JWT_SIGNING_KEY


def claims(**overrides: Any) -> dict[str, Any]:
    now = clock.epoch_seconds()
    base: dict[str, Any] = {
        "sub": "usr_1",
        "role": "customer",
        "iat": now,
        "exp": now + 900,
        "jti": "j1",
        "iss": "marketplace",
        "aud": "marketplace-api",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_issued_token_verifies_to_its_caller_and_lives_fifteen_minutes() -> None:
    token, lifetime = issue_access_token("usr_42", "creator")

    who = verify_access_token(token)

    assert (who.user_id, who.role, lifetime) == ("usr_42", "creator", 900)
    decoded = jwt.decode(token, KEY, algorithms=["HS256"], audience="marketplace-api")
    assert set(decoded) == {"sub", "role", "iat", "exp", "jti", "iss", "aud"}
    assert decoded["exp"] - decoded["iat"] == 900


def test_each_token_has_its_own_jti() -> None:
    first, _ = issue_access_token("usr_1", "customer")
    second, _ = issue_access_token("usr_1", "customer")

    assert (
        jwt.decode(first, options={"verify_signature": False})["jti"]
        != jwt.decode(second, options={"verify_signature": False})["jti"]
    )


def test_unsigned_alg_none_token_is_refused() -> None:
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}."

    with pytest.raises(InvalidToken):
        verify_access_token(token)


def test_token_signed_with_another_key_is_refused() -> None:
    token = jwt.encode(claims(), "another-key-that-is-long-enough-0123456789", algorithm="HS256")

    with pytest.raises(InvalidToken):
        verify_access_token(token)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_token_with_another_algorithm_is_refused_even_with_the_right_key() -> None:
    token = jwt.encode(claims(), KEY, algorithm="HS512")

    with pytest.raises(InvalidToken):
        verify_access_token(token)


def test_token_expires_after_fifteen_minutes_on_the_shifted_clock() -> None:
    token, _ = issue_access_token("usr_1", "customer")
    leeway = get_settings().jwt_leeway_seconds

    clock.set_offset(900 + leeway - 5)
    assert verify_access_token(token).user_id == "usr_1"

    clock.set_offset(900 + leeway + 5)
    with pytest.raises(InvalidToken, match="expired"):
        verify_access_token(token)


def test_token_issued_on_a_shifted_clock_verifies_on_it() -> None:
    clock.set_offset(3600)  # the local stack's functions all share one shifted clock
    token, _ = issue_access_token("usr_1", "customer")

    assert verify_access_token(token).user_id == "usr_1"


def test_token_issued_in_the_future_is_refused() -> None:
    token = jwt.encode(claims(iat=clock.epoch_seconds() + 3600, exp=clock.epoch_seconds() + 4500), KEY, "HS256")

    with pytest.raises(InvalidToken):
        verify_access_token(token)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"aud": "another-api"}, id="wrong audience"),
        pytest.param({"iss": "someone-else"}, id="wrong issuer"),
        pytest.param({"jti": None}, id="missing jti"),
        pytest.param({"sub": None}, id="missing subject"),
        pytest.param({"role": "superuser"}, id="unknown role"),
        pytest.param({"exp": "tomorrow"}, id="non-numeric expiry"),
    ],
)
def test_token_with_bad_claims_is_refused(overrides: dict[str, Any]) -> None:
    token = jwt.encode(claims(**overrides), KEY, algorithm="HS256")

    with pytest.raises(InvalidToken):
        verify_access_token(token)


@pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "e30.e30.e30", "Bearer x", "ü.ü.ü"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verify_access_token(garbage)


# ---------------------------------------------------------------- guards on a resolver

guarded = make_resolver()


@guarded.get("/whoami", middlewares=[authenticated])
def whoami() -> Response[str]:
    who = caller(guarded)
    return json_response(200, {"user_id": who.user_id, "role": who.role})


@guarded.get("/studio", middlewares=[authenticated, require_role("creator", "admin")])
def studio() -> Response[str]:
    return json_response(200, {"ok": True})


def call(path: str, authorization: str | None = None) -> dict[str, Any]:
    headers = {"authorization": authorization} if authorization is not None else {}
    return guarded.resolve(http_event("GET", path, headers=headers), lambda_context())


def test_guard_gives_the_route_the_verified_caller() -> None:
    token, _ = issue_access_token("usr_7", "creator")

    response = call("/whoami", f"Bearer {token}")

    assert response["statusCode"] == 200
    assert json_body(response) == {"user_id": "usr_7", "role": "creator"}


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("Basic dXNlcjpwYXNz", id="other scheme"),
        pytest.param("Bearer", id="no token"),
        pytest.param("Bearer not-a-jwt", id="malformed"),
    ],
)
def test_guard_answers_401_problem_with_a_bearer_challenge(authorization: str | None) -> None:
    response = call("/whoami", authorization)

    assert response["statusCode"] == 401
    assert header(response, "content-type") == "application/problem+json"
    assert header(response, "www-authenticate") == 'Bearer error="invalid_token"'
    body = json_body(response)
    assert body["status"] == 401
    assert body["type"].endswith("/invalid-token")


def test_guard_refuses_an_expired_token() -> None:
    token, _ = issue_access_token("usr_7", "creator")
    clock.set_offset(3600)

    response = call("/whoami", f"Bearer {token}")

    assert response["statusCode"] == 401
    assert header(response, "www-authenticate") == 'Bearer error="invalid_token"'


def test_role_guard_answers_403_problem_for_another_role() -> None:
    token, _ = issue_access_token("usr_8", "customer")

    response = call("/studio", f"Bearer {token}")

    assert response["statusCode"] == 403
    assert header(response, "content-type") == "application/problem+json"
    assert json_body(response)["status"] == 403


@pytest.mark.parametrize("role", ["creator", "admin"])
def test_role_guard_lets_the_named_roles_through(role: str) -> None:
    token, _ = issue_access_token("usr_9", role)

    assert call("/studio", f"Bearer {token}")["statusCode"] == 200


def test_role_guard_needs_a_token_first() -> None:
    response = call("/studio")

    assert response["statusCode"] == 401


def test_caller_does_not_leak_into_the_next_request() -> None:
    token, _ = issue_access_token("usr_10", "creator")
    assert call("/whoami", f"Bearer {token}")["statusCode"] == 200

    assert call("/whoami")["statusCode"] == 401
