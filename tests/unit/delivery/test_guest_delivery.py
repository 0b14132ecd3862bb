"""Guest orders in the delivery function and its consumer, against moto with the template's IAM enforced:
the email goes to the guest's address and points at POST /orders/resend (no library), a resend message
sends a fresh link each time, and POST /orders/{id}/download-link takes X-Guest-Token instead of a bearer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from market.auth.tokens import issue_access_token
from market.models.grant import LibraryEntryItem
from market.repositories import orders as orders_repo
from tests.fixtures.delivery import (
    LINK,
    PUBLIC_API,
    a_guest_order,
    a_product,
    an_order,
    files_bucket_with_public_api,
    run_worker,
    sent_emails,
)
from tests.fixtures.events import header, http_event, json_body, lambda_context, load_function


@pytest.fixture
def bucket(aws_resources: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from files_bucket_with_public_api(aws_resources, monkeypatch)


def delivery_api(method: str, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    app = load_function("functions/delivery/app.py")
    return app.lambda_handler(http_event(method, path, headers=headers), lambda_context())  # type: ignore[no-any-return]


def link_with_token(order_id: str, token: str) -> dict[str, Any]:
    return delivery_api("POST", f"/orders/{order_id}/download-link", {"X-Guest-Token": token})


def library_entries() -> list[Any]:
    return [item for item in LibraryEntryItem.scan() if item.PK.startswith("LIBRARY#")]


def test_a_paid_guest_order_is_emailed_to_the_guest_with_a_working_link_and_no_library(bucket: str) -> None:
    product = a_product(bucket)
    order, _ = a_guest_order(product, email="guest-ada@example.com")

    response = run_worker(json.dumps({"order_id": order.id}))

    assert response["batchItemFailures"] == []
    [mail] = sent_emails("guest-ada@example.com")
    assert f"{PUBLIC_API}/orders/resend" in mail["text"]
    assert "/library" not in mail["text"]
    [link] = LINK.findall(mail["text"])
    assert delivery_api("GET", urlsplit(link).path)["statusCode"] == 302
    assert library_entries() == []
    stored = orders_repo.get_order(order.id)
    assert stored is not None
    assert stored.delivery_email_sent_at is not None


def test_a_resend_message_sends_a_fresh_link_although_the_order_was_delivered(bucket: str) -> None:
    product = a_product(bucket)
    order, _ = a_guest_order(product, email="guest-bola@example.com")
    run_worker(json.dumps({"order_id": order.id}))

    again = run_worker(json.dumps({"order_id": order.id}))  # a plain copy: delivered once already
    resent = run_worker(json.dumps({"order_id": order.id, "resend": True}))

    assert again["batchItemFailures"] == resent["batchItemFailures"] == []
    first, second = sent_emails("guest-bola@example.com")
    [first_link], [second_link] = LINK.findall(first["text"]), LINK.findall(second["text"])
    assert first_link != second_link
    assert delivery_api("GET", urlsplit(second_link).path)["statusCode"] == 302


def test_a_resend_message_sends_nothing_for_an_unpaid_or_a_signed_in_buyers_order(bucket: str) -> None:
    product = a_product(bucket)
    pending, _ = a_guest_order(product, email="guest-chi@example.com", status="pending")
    buyers = an_order(product, buyer_email="guest-chi@example.com")

    response = run_worker(
        json.dumps({"order_id": pending.id, "resend": True}), json.dumps({"order_id": buyers.id, "resend": True})
    )

    assert response["batchItemFailures"] == []
    assert sent_emails("guest-chi@example.com") == []


def test_the_guest_token_mints_a_fresh_link_for_its_own_order_only(bucket: str) -> None:
    product = a_product(bucket)
    order, token = a_guest_order(product)
    other, other_token = a_guest_order(product)
    pending, pending_token = a_guest_order(product, status="pending")
    stranger = {"authorization": f"Bearer {issue_access_token('usr_stranger', 'customer')[0]}"}

    created = link_with_token(order.id, token)

    assert created["statusCode"] == 201, created["body"]
    assert header(created, "cache-control") == "no-store"
    assert delivery_api("GET", urlsplit(json_body(created)["url"]).path)["statusCode"] == 302
    assert link_with_token(order.id, other_token)["statusCode"] == 404
    assert link_with_token(other.id, "y" * 43)["statusCode"] == 404
    assert (
        delivery_api("POST", f"/orders/{order.id}/download-link", {"X-Guest-Token": token, **stranger})["statusCode"]
        == 404
    )
    assert delivery_api("POST", f"/orders/{order.id}/download-link")["statusCode"] == 401
    assert link_with_token(pending.id, pending_token)["statusCode"] == 409
