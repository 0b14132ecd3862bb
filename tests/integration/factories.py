"""Factories that build state through the real API of the local stack.

creator, token = a_user(stack, "creator")
headers = {"Authorization": f"Bearer {token}"}
"""

from __future__ import annotations

import uuid
from typing import Any

import requests

DEFAULT_PASSWORD = "integration-password-0123"
TIMEOUT = 60


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex}@example.com"


def a_user(stack: Any, role: str = "customer", **overrides: Any) -> tuple[dict[str, Any], str]:
    """Register a user with a unique email, log in, and return ``(user JSON, access token)``.

    ``overrides`` go into the register body (``email``, ``password``, ``display_name``).
    Nobody can register as ``admin``: an admin is registered as a customer and promoted in
    the table, as an operator would do, before logging in (so the token carries the role).
    """
    email = overrides.pop("email", None) or unique_email(role)
    password = overrides.pop("password", DEFAULT_PASSWORD)
    body = {"email": email, "password": password, "role": "customer" if role == "admin" else role, **overrides}
    response = requests.post(f"{stack.api}/auth/register", json=body, timeout=TIMEOUT)
    assert response.status_code == 201, f"register failed: {response.status_code} {response.text}"
    user: dict[str, Any] = response.json()
    if role == "admin":
        stack.client("dynamodb").update_item(
            TableName=stack.table_name,
            Key={"PK": {"S": f"USER#{user['id']}"}, "SK": {"S": "PROFILE"}},
            UpdateExpression="SET #role = :role",
            ExpressionAttributeNames={"#role": "role"},
            ExpressionAttributeValues={":role": {"S": "admin"}},
        )
        user["role"] = "admin"
    return user, login(stack, email, password)["access_token"]


def login(stack: Any, email: str, password: str = DEFAULT_PASSWORD) -> dict[str, Any]:
    """Log in and return the token pair (``access_token``, ``refresh_token``, ``token_type``, ``expires_in``)."""
    response = requests.post(f"{stack.api}/auth/login", json={"email": email, "password": password}, timeout=TIMEOUT)
    assert response.status_code == 200, f"login failed: {response.status_code} {response.text}"
    pair: dict[str, Any] = response.json()
    return pair


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
