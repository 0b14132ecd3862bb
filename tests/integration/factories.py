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


SAMPLE_PDF = b"%PDF-1.7\n" + b"sample ebook content\n" * 200 + b"%%EOF\n"


def a_published_product(
    stack: Any,
    creator_token: str,
    *,
    price: int = 250000,
    currency: str = "NGN",
    title: str = "Jollof Cookbook",
    content: bytes = SAMPLE_PDF,
    filename: str = "cookbook.pdf",
) -> dict[str, Any]:
    """Create a product, upload a real PDF as a browser would, wait for it to be verified, publish it."""
    from tests.helpers import wait_until

    headers = bearer(creator_token)
    response = requests.post(
        f"{stack.api}/products",
        json={"title": title, "description": "A product for tests", "price": price, "currency": currency},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    product_id = response.json()["id"]
    ticket = requests.post(
        f"{stack.api}/products/{product_id}/upload",
        json={"filename": filename, "content_type": "application/pdf", "size_bytes": len(content)},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert ticket.status_code == 200, ticket.text
    fields = ticket.json()["fields"]
    posted = requests.post(
        ticket.json()["url"], data=fields, files={"file": (filename, content, fields["Content-Type"])}, timeout=TIMEOUT
    )
    assert posted.status_code in (200, 201, 204), posted.text

    def file_attached() -> bool:
        view = requests.get(f"{stack.api}/products/{product_id}", headers=headers, timeout=TIMEOUT).json()
        return view.get("file") is not None

    wait_until(file_attached, timeout=30, what="uploaded file verified")
    published = requests.post(f"{stack.api}/products/{product_id}/publish", headers=headers, timeout=TIMEOUT)
    assert published.status_code == 200, published.text
    product: dict[str, Any] = published.json()
    return product


def an_order(
    stack: Any, buyer_token: str, product_id: str, idempotency_key: str | None = None, gateway: str | None = None
) -> dict[str, Any]:
    """``POST /orders`` (through ``gateway``, else the default one): returns the checkout body ``{order, payment}``."""
    headers = bearer(buyer_token)
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    body = {"product_id": product_id, **({"gateway": gateway} if gateway else {})}
    response = requests.post(f"{stack.api}/orders", json=body, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    checkout: dict[str, Any] = response.json()
    return checkout


def pay(stack: Any, reference: str, **mismatch: Any) -> None:
    """What the emulator's Pay button does: the payment succeeds and a signed charge.success goes out."""
    response = requests.post(
        f"{stack.gateway}/_emulator/transactions/{reference}/pay", json=mismatch or None, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text


def order_status(stack: Any, buyer_token: str, order_id: str) -> str:
    response = requests.get(f"{stack.api}/orders/{order_id}", headers=bearer(buyer_token), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def a_paid_order(stack: Any, buyer_token: str, product_id: str) -> dict[str, Any]:
    """Buy ``product_id`` through the real flow (order, emulator pay, webhook, settlement); returns the order."""
    from tests.helpers import wait_until

    checkout = an_order(stack, buyer_token, product_id)
    pay(stack, checkout["payment"]["reference"])
    order_id = checkout["order"]["id"]
    wait_until(lambda: order_status(stack, buyer_token, order_id) == "paid", timeout=30, what="order paid")
    order: dict[str, Any] = requests.get(
        f"{stack.api}/orders/{order_id}", headers=bearer(buyer_token), timeout=TIMEOUT
    ).json()
    return order
