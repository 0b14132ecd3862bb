"""Identity over HTTP against the local stack: every auth row of the contract, tokens, limits, rotation."""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import jwt
import pytest
import requests

from tests.integration.factories import DEFAULT_PASSWORD, a_user, bearer, login, unique_email

TIMEOUT = 60
LOGIN_WINDOW = 15 * 60  # LOGIN_WINDOW_SECONDS default
ACCESS_TTL = 15 * 60
USER_FIELDS = {"id", "email", "role", "display_name", "created_at"}
PAIR_FIELDS = {"access_token", "refresh_token", "token_type", "expires_in"}


def post(stack: Any, path: str, body: Any, token: str | None = None) -> requests.Response:
    return requests.post(f"{stack.api}{path}", json=body, headers=bearer(token) if token else {}, timeout=TIMEOUT)


def me(stack: Any, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return requests.get(f"{stack.api}/me", headers=headers, timeout=TIMEOUT)


def register(stack: Any, email: str, role: str = "customer", **extra: Any) -> requests.Response:
    return post(stack, "/auth/register", {"email": email, "password": DEFAULT_PASSWORD, "role": role, **extra})


def assert_problem(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


def assert_invalid_token(response: requests.Response) -> None:
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@contextmanager
def shifted_clock(stack: Any, offset_seconds: float) -> Iterator[None]:
    """Shift market.clock in every function worker; always shift it back."""
    stack.set_clock(offset_seconds)
    try:
        yield
    finally:
        stack.set_clock(0)


@contextmanager
def fresh_login_window(stack: Any) -> Iterator[int]:
    """Move the clock to the start of a login window nobody has used (years ahead, chosen at random).

    Failed logins count per source IP, and every test comes from 127.0.0.1: failures made in
    a window of their own cannot lock out other tests, or later runs against a long-lived stack.
    Yields the offset in force, so a test can move on by whole windows from it.
    """
    target_window = (int(time.time()) // LOGIN_WINDOW) + random.randint(10_000, 1_000_000)
    offset = target_window * LOGIN_WINDOW - time.time() + 1
    with shifted_clock(stack, offset):
        yield int(offset)


def signing_key(stack: Any) -> str:
    """The local stack's access-token key, from the SSM parameter the functions read it from."""
    ssm = stack.client("ssm")
    names = [p["Name"] for p in ssm.describe_parameters()["Parameters"] if p["Name"].endswith("jwt-signing-key")]
    assert names, "the local stack seeds the JWT signing key parameter"
    return str(ssm.get_parameter(Name=names[0], WithDecryption=True)["Parameter"]["Value"])


def claims_for(user_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user_id,
        "role": "customer",
        "iat": now,
        "exp": now + 600,
        "jti": "integration",
        "iss": "marketplace",
        "aud": "marketplace-api",
    }
    claims.update(overrides)
    return claims


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# ---------------------------------------------------------------- register


def test_register_answers_201_with_the_normalised_user_and_no_secret(stack: Any) -> None:
    email = unique_email("Reg")

    response = register(stack, f"  {email.upper()} ", role="creator", display_name="Reg Creator")

    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == USER_FIELDS
    assert (user["email"], user["role"], user["display_name"]) == (email.lower(), "creator", "Reg Creator")
    assert user["created_at"].endswith("Z")
    assert DEFAULT_PASSWORD not in response.text
    assert "argon2" not in response.text


def test_register_as_admin_answers_403(stack: Any) -> None:
    assert_problem(register(stack, unique_email("admin"), role="admin"), 403)


def test_register_an_existing_email_answers_409(stack: Any) -> None:
    email = unique_email("dup")
    assert register(stack, email).status_code == 201

    assert_problem(register(stack, email.upper()), 409)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"email": "x@example.com", "password": "too-short", "role": "customer"}, "password", id="short"),
        pytest.param({"email": "x@example.com", "password": "p" * 129, "role": "customer"}, "password", id="long"),
        pytest.param({"email": "nope", "password": DEFAULT_PASSWORD, "role": "customer"}, "email", id="email"),
        pytest.param({"email": "x@example.com", "password": DEFAULT_PASSWORD, "role": "root"}, "role", id="role"),
        pytest.param(
            {"email": "x@example.com", "password": DEFAULT_PASSWORD, "role": "customer", "admin": True},
            "admin",
            id="extra",
        ),
    ],
)
def test_invalid_registration_answers_422_with_field_errors(stack: Any, body: dict[str, Any], field: str) -> None:
    problem = assert_problem(post(stack, "/auth/register", body), 422)

    assert field in [error["field"] for error in problem["errors"]]


def test_twenty_concurrent_registrations_of_one_email_create_exactly_one_user(stack: Any) -> None:
    email = unique_email("race")

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: register(stack, email).status_code, range(20)))

    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == 19, statuses
    table = stack.client("dynamodb")
    users = table.scan(
        TableName=stack.table_name,
        FilterExpression="email = :email AND SK = :sk",
        ExpressionAttributeValues={":email": {"S": email}, ":sk": {"S": "PROFILE"}},
    )["Items"]
    assert len(users) == 1


# ---------------------------------------------------------------- login


def test_login_answers_a_bearer_pair_for_15_minutes(stack: Any) -> None:
    user, _ = a_user(stack, "creator")

    response = post(stack, "/auth/login", {"email": user["email"], "password": DEFAULT_PASSWORD})

    assert response.status_code == 200, response.text
    pair = response.json()
    assert set(pair) == PAIR_FIELDS
    assert (pair["token_type"], pair["expires_in"]) == ("Bearer", ACCESS_TTL)
    assert response.headers["Cache-Control"] == "no-store"
    assert me(stack, f"Bearer {pair['access_token']}").json()["id"] == user["id"]


def test_wrong_password_and_unknown_email_answer_the_same_401(stack: Any) -> None:
    user, _ = a_user(stack)
    with fresh_login_window(stack):
        wrong_password = post(stack, "/auth/login", {"email": user["email"], "password": "wrong-password-123"})
        unknown_email = post(stack, "/auth/login", {"email": unique_email("ghost"), "password": DEFAULT_PASSWORD})

    assert assert_problem(wrong_password, 401) == assert_problem(unknown_email, 401)


def test_lockout_answers_429_with_retry_after_then_login_works_after_the_window(stack: Any) -> None:
    user, _ = a_user(stack)
    credentials = {"email": user["email"], "password": DEFAULT_PASSWORD}
    with fresh_login_window(stack) as offset:
        for _ in range(5):
            assert post(stack, "/auth/login", {**credentials, "password": "wrong-password-123"}).status_code == 401

        locked = post(stack, "/auth/login", credentials)

        assert_problem(locked, 429)
        assert 0 < int(locked.headers["Retry-After"]) <= LOGIN_WINDOW
        stack.set_clock(offset + LOGIN_WINDOW)
        opened = post(stack, "/auth/login", credentials)
        assert opened.status_code == 200, opened.text
        assert me(stack, f"Bearer {opened.json()['access_token']}").status_code == 200


# ---------------------------------------------------------------- me and the access token


def test_me_answers_the_caller(stack: Any) -> None:
    user, token = a_user(stack, "creator", display_name="Me Myself")

    response = me(stack, f"Bearer {token}")

    assert response.status_code == 200
    assert response.json() == user


def test_me_without_a_token_answers_401(stack: Any) -> None:
    assert_invalid_token(me(stack, None))


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer garbage", id="garbage"),
        pytest.param("Bearer a.b.c", id="three garbage parts"),
        pytest.param("Token abc", id="other scheme"),
        pytest.param("Bearer ", id="empty"),
    ],
)
def test_me_with_a_malformed_token_answers_401(stack: Any, authorization: str) -> None:
    assert_invalid_token(me(stack, authorization))


def test_unsigned_alg_none_token_answers_401(stack: Any) -> None:
    user, _ = a_user(stack)
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_for(user['id']))}."

    assert_invalid_token(me(stack, f"Bearer {token}"))


def test_token_signed_with_another_key_answers_401(stack: Any) -> None:
    user, _ = a_user(stack)
    token = jwt.encode(claims_for(user["id"]), "some-other-key-of-sufficient-length-0123456789", algorithm="HS256")

    assert_invalid_token(me(stack, f"Bearer {token}"))


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"aud": "another-api"}, id="wrong audience"),
        pytest.param({"iss": "another-issuer"}, id="wrong issuer"),
        pytest.param({"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, id="expired"),
    ],
)
def test_token_with_the_right_key_but_bad_claims_answers_401(stack: Any, overrides: dict[str, Any]) -> None:
    user, _ = a_user(stack)
    key = signing_key(stack)
    good = jwt.encode(claims_for(user["id"]), key, algorithm="HS256")
    assert me(stack, f"Bearer {good}").status_code == 200  # the key is right: only the claims differ

    bad = jwt.encode(claims_for(user["id"], **overrides), key, algorithm="HS256")

    assert_invalid_token(me(stack, f"Bearer {bad}"))


def test_access_token_expires_after_15_minutes(stack: Any) -> None:
    _, token = a_user(stack)
    assert me(stack, f"Bearer {token}").status_code == 200

    with shifted_clock(stack, ACCESS_TTL + 120):
        assert_invalid_token(me(stack, f"Bearer {token}"))


# ---------------------------------------------------------------- refresh and logout


def test_refresh_rotates_the_pair(stack: Any) -> None:
    user, _ = a_user(stack)
    first = login(stack, user["email"])

    response = post(stack, "/auth/refresh", {"refresh_token": first["refresh_token"]})

    assert response.status_code == 200, response.text
    second = response.json()
    assert set(second) == PAIR_FIELDS
    assert second["refresh_token"] != first["refresh_token"]
    assert me(stack, f"Bearer {second['access_token']}").json()["id"] == user["id"]
    assert post(stack, "/auth/refresh", {"refresh_token": second["refresh_token"]}).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_family(stack: Any) -> None:
    user, _ = a_user(stack)
    first = login(stack, user["email"])
    second = post(stack, "/auth/refresh", {"refresh_token": first["refresh_token"]}).json()

    assert_problem(post(stack, "/auth/refresh", {"refresh_token": first["refresh_token"]}), 401)

    assert_problem(post(stack, "/auth/refresh", {"refresh_token": second["refresh_token"]}), 401)


def test_unknown_refresh_token_answers_401(stack: Any) -> None:
    assert_problem(post(stack, "/auth/refresh", {"refresh_token": "never-issued-token"}), 401)


def test_logout_answers_204_and_ends_the_session(stack: Any) -> None:
    user, _ = a_user(stack)
    pair = login(stack, user["email"])

    response = post(stack, "/auth/logout", {"refresh_token": pair["refresh_token"]}, token=pair["access_token"])

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(post(stack, "/auth/refresh", {"refresh_token": pair["refresh_token"]}), 401)


def test_logout_without_an_access_token_answers_401_and_keeps_the_session(stack: Any) -> None:
    user, _ = a_user(stack)
    pair = login(stack, user["email"])

    assert_invalid_token(post(stack, "/auth/logout", {"refresh_token": pair["refresh_token"]}))

    assert post(stack, "/auth/refresh", {"refresh_token": pair["refresh_token"]}).status_code == 200


def test_admin_factory_gives_a_token_with_the_admin_role(stack: Any) -> None:
    user, token = a_user(stack, "admin")

    assert user["role"] == "admin"
    assert me(stack, f"Bearer {token}").json()["role"] == "admin"


def test_unknown_route_answers_404_problem(stack: Any) -> None:
    assert_problem(requests.get(f"{stack.api}/auth/nothing-here", timeout=TIMEOUT), 404)
