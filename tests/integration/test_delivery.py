"""Delivery over the local stack: a payment on a gateway's emulator becomes an email in the local
outbox whose one-time link redirects to the file in S3; links expire, run out and are revoked with
a refund; the library hands out fresh links; a redelivered queue message sends no second email.
The core loop runs once per gateway (``driver``, tests/integration/gateways.py); the rest pays through
Paystack.

The refund flow is built elsewhere: the refunded-order test sets the order's status in DynamoDB
directly, as that flow's transaction would.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.helpers import wait_until
from tests.integration.factories import a_user, bearer
from tests.integration.gateways import Driver, paystack

TIMEOUT = 30
DELIVERY_DEADLINE = 30
PRICE = 150000  # NGN 1,500.00
CONTENT = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256)) * 4 + b"trailer\n%%EOF\n"
FILE_NAME = "Àkàrà Recipes.pdf"
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Shop:
    creator: dict[str, Any]
    token: str
    product: dict[str, Any]


@dataclass(frozen=True)
class Purchase:
    buyer: dict[str, Any]
    token: str
    order: dict[str, Any]
    email: dict[str, Any]
    link: str


@pytest.fixture(scope="module")
def shop(stack: Any) -> Shop:
    """A creator with one published product whose file went through the real upload path."""
    creator, token = a_user(stack, "creator")
    created = requests.post(
        f"{stack.api}/products",
        json={"title": "Àkàrà & Friends", "description": "Bean fritters", "price": PRICE, "currency": "NGN"},
        headers=bearer(token),
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    product = created.json()
    ticket = requests.post(
        f"{stack.api}/products/{product['id']}/upload",
        json={"filename": FILE_NAME, "content_type": "application/pdf", "size_bytes": len(CONTENT)},
        headers=bearer(token),
        timeout=TIMEOUT,
    )
    assert ticket.status_code == 200, ticket.text
    fields = ticket.json()["fields"]
    posted = requests.post(
        ticket.json()["url"],
        data=fields,
        files={"file": (FILE_NAME, CONTENT, fields["Content-Type"])},
        timeout=TIMEOUT,
    )
    assert posted.status_code in (200, 201, 204), posted.text

    def attached() -> Any:
        view = requests.get(f"{stack.api}/products/{product['id']}", headers=bearer(token), timeout=TIMEOUT)
        return view.json()["file"]

    wait_until(attached, timeout=30, what="the uploaded file to be attached")
    published = requests.post(f"{stack.api}/products/{product['id']}/publish", headers=bearer(token), timeout=TIMEOUT)
    assert published.status_code == 200, published.text
    return Shop(creator, token, published.json())


def _order_status(stack: Any, token: str, order_id: str) -> str:
    response = requests.get(f"{stack.api}/orders/{order_id}", headers=bearer(token), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def _download_links(stack: Any, text: str) -> list[str]:
    return re.findall(re.escape(stack.api) + r"/downloads/[A-Za-z0-9_-]+", text)


def buy(stack: Any, shop: Shop, driver: Driver | None = None) -> Purchase:
    """A new buyer orders the product, pays on the emulator (Paystack's by default), and receives the email."""
    driver = driver or paystack(stack)
    buyer, token = a_user(stack, "customer")
    checkout = requests.post(
        f"{stack.api}/orders",
        json={"product_id": shop.product["id"], "gateway": driver.name},
        headers=bearer(token),
        timeout=TIMEOUT,
    )
    assert checkout.status_code == 201, checkout.text
    order = checkout.json()["order"]
    assert order["gateway"] == driver.name
    driver.pay(checkout.json()["payment"]["reference"])
    wait_until(
        lambda: _order_status(stack, token, order["id"]) == "paid", timeout=DELIVERY_DEADLINE, what="the order paid"
    )
    [mail] = wait_until(lambda: stack.outbox(buyer["email"]), timeout=DELIVERY_DEADLINE, what="the delivery email")
    # Payments enqueues the order again for a repeated webhook; every copy must be handled, none may send again.
    wait_until(lambda: stack.queue_depth("DeliveryQueue") == 0, timeout=DELIVERY_DEADLINE, what="the queue drained")
    assert len(stack.outbox(buyer["email"])) == 1
    [link] = _download_links(stack, mail["text"])
    return Purchase(buyer, token, order, mail, link)


def get(url: str, method: str = "GET") -> requests.Response:
    return requests.request(method, url, allow_redirects=False, timeout=TIMEOUT)


def assert_gone(response: requests.Response) -> None:
    assert response.status_code == 410, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == 410
    assert "library" in body["detail"]


def fresh_link(stack: Any, purchase: Purchase) -> dict[str, Any]:
    response = requests.post(
        f"{stack.api}/orders/{purchase.order['id']}/download-link", headers=bearer(purchase.token), timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


def test_payment_to_email_to_file_and_the_link_works_once(stack: Any, shop: Shop, driver: Driver) -> None:
    purchase = buy(stack, shop, driver)

    mail = purchase.email
    assert mail["to"] == [purchase.buyer["email"]]
    assert shop.product["title"] in mail["subject"]
    assert shop.product["title"] in mail["text"]
    assert "Àkàrà &amp; Friends" in mail["html"]  # the HTML part escapes the title
    for part in (mail["text"], mail["html"]):
        assert "NGN 1,500.00" in part
        assert f"{stack.api}/library" in part
        assert purchase.order["id"] in part
    assert _download_links(stack, mail["html"]) == [purchase.link]

    redirect = get(purchase.link)

    assert redirect.status_code == 302, redirect.text
    assert redirect.headers["cache-control"] == "no-store"
    assert redirect.headers["referrer-policy"] == "no-referrer"
    location = redirect.headers["location"]
    assert location.startswith(f"{stack.aws_endpoint}/{stack.bucket_name}/")
    file = requests.get(location, timeout=TIMEOUT)
    assert file.status_code == 200
    assert file.content == CONTENT
    assert file.headers["content-type"] == "application/pdf"
    assert file.headers["content-disposition"] == (
        "attachment; filename=\"Akara Recipes.pdf\"; filename*=UTF-8''%C3%80k%C3%A0r%C3%A0%20Recipes.pdf"
    )

    assert_gone(get(purchase.link))


def test_head_does_not_use_the_link(stack: Any, shop: Shop) -> None:
    purchase = buy(stack, shop)

    head = get(purchase.link, "HEAD")

    assert head.status_code == 200
    assert get(purchase.link).status_code == 302
    assert get(purchase.link, "HEAD").status_code == 410


def test_an_expired_link_is_410(stack: Any, shop: Shop) -> None:
    purchase = buy(stack, shop)
    link = fresh_link(stack, purchase)
    try:
        stack.set_clock(25 * 3600)
        assert get(link["url"], "HEAD").status_code == 410
        assert_gone(get(purchase.link))
        assert_gone(get(link["url"]))
    finally:
        stack.set_clock(0)


def test_two_concurrent_uses_of_a_one_time_link_redirect_once(stack: Any, shop: Shop) -> None:
    purchase = buy(stack, shop)

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(lambda _: get(purchase.link).status_code, range(4)))

    assert statuses == [302, 410, 410, 410]


def test_the_library_lists_the_purchase_with_a_working_link(stack: Any, shop: Shop) -> None:
    purchase = buy(stack, shop)

    library = requests.get(f"{stack.api}/library", headers=bearer(purchase.token), timeout=TIMEOUT)

    assert library.status_code == 200, library.text
    [item] = library.json()["items"]
    assert item["order_id"] == purchase.order["id"]
    assert item["product"] == {
        "id": shop.product["id"],
        "title": shop.product["title"],
        "creator_id": shop.creator["id"],
    }
    assert item["file"] == {"name": FILE_NAME, "content_type": "application/pdf", "size_bytes": len(CONTENT)}
    assert item["download"]["uses_left"] == 1
    redirect = get(item["download"]["url"])
    assert redirect.status_code == 302
    assert requests.get(redirect.headers["location"], timeout=TIMEOUT).content == CONTENT
    assert get(purchase.link).status_code == 302  # the emailed link is a separate grant


def test_a_fresh_link_is_for_the_buyer_only(stack: Any, shop: Shop) -> None:
    purchase = buy(stack, shop)
    _, stranger = a_user(stack, "customer")

    response = requests.post(
        f"{stack.api}/orders/{purchase.order['id']}/download-link", headers=bearer(stranger), timeout=TIMEOUT
    )

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    link = fresh_link(stack, purchase)
    assert get(link["url"]).status_code == 302


def test_a_redelivered_delivery_message_sends_no_second_email(stack: Any, shop: Shop) -> None:
    purchase = buy(stack, shop)
    sqs = stack.client("sqs")

    for _ in range(2):
        sqs.send_message(
            QueueUrl=stack.queue_urls["DeliveryQueue"], MessageBody=json.dumps({"order_id": purchase.order["id"]})
        )
    wait_until(lambda: stack.queue_depth("DeliveryQueue") == 0, timeout=DELIVERY_DEADLINE, what="the queue drained")

    assert len(stack.outbox(purchase.buyer["email"])) == 1
    assert stack.queue_depth("DeliveryDLQ") == 0


def test_a_refunded_orders_links_are_410(stack: Any, shop: Shop) -> None:
    purchase = buy(stack, shop)
    library_link = requests.get(f"{stack.api}/library", headers=bearer(purchase.token), timeout=TIMEOUT).json()
    [item] = library_link["items"]

    stack.client("dynamodb").update_item(  # what the refund flow's transaction does to the order
        TableName=stack.table_name,
        Key={"PK": {"S": f"ORDER#{purchase.order['id']}"}, "SK": {"S": "ORDER"}},
        UpdateExpression="SET #status = :refunded",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":refunded": {"S": "refunded"}},
    )

    assert get(purchase.link, "HEAD").status_code == 410
    assert_gone(get(purchase.link))
    assert_gone(get(item["download"]["url"]))
    again = requests.get(f"{stack.api}/library", headers=bearer(purchase.token), timeout=TIMEOUT)
    assert again.json()["items"] == []
    refused = requests.post(
        f"{stack.api}/orders/{purchase.order['id']}/download-link", headers=bearer(purchase.token), timeout=TIMEOUT
    )
    assert refused.status_code == 409


def test_an_unknown_token_is_404(stack: Any) -> None:
    response = get(f"{stack.api}/downloads/{'A' * 43}")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "library" in response.json()["detail"]
    assert get(f"{stack.api}/downloads/{'A' * 43}", "HEAD").status_code == 404
