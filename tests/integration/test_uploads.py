"""Direct uploads over the local stack: the browser posts the multipart form straight to the AWS
emulator with the presigned POST, the S3 event reaches the upload function through the uploads
queue, and the product's file is attached (or refused).

The emulator does not enforce presigned POST policies (content type, content-length-range), so
what the policy would stop on AWS is shown here by our own check on arrival instead.
"""

from __future__ import annotations

from typing import Any

import requests

from tests.helpers import wait_until
from tests.integration.factories import a_user

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TIMEOUT = 10


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _new_product(stack: Any, token: str, title: str = "Ankara Patterns") -> dict[str, Any]:
    response = requests.post(
        f"{stack.api}/products",
        json={"title": title, "description": "Twelve patterns", "price": 150000, "currency": "NGN"},
        headers=_auth(token),
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _ticket(stack: Any, token: str, product_id: str, **declared: Any) -> requests.Response:
    body = {"filename": "patterns.pdf", "content_type": "application/pdf", "size_bytes": 10_000, **declared}
    return requests.post(f"{stack.api}/products/{product_id}/upload", json=body, headers=_auth(token), timeout=TIMEOUT)


def _post_form(ticket: dict[str, Any], content: bytes, filename: str = "patterns.pdf") -> None:
    """Exactly what a browser's form does: the ticket's fields, then the file, to the presigned URL."""
    fields = ticket["fields"]
    response = requests.post(
        ticket["url"], data=fields, files={"file": (filename, content, fields["Content-Type"])}, timeout=TIMEOUT
    )
    assert response.status_code in (200, 201, 204), response.text


def _owner_view(stack: Any, token: str, product_id: str) -> dict[str, Any]:
    response = requests.get(f"{stack.api}/products/{product_id}", headers=_auth(token), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_creator_uploads_a_file_as_a_browser_would_then_publishes_and_the_catalog_shows_it(stack: Any) -> None:
    creator, token = a_user(stack, "creator")
    product = _new_product(stack, token, title="Browser upload")
    ticket_response = _ticket(stack, token, product["id"], filename="Patterns Vol 1.pdf", size_bytes=len(PDF))
    assert ticket_response.status_code == 200, ticket_response.text
    ticket = ticket_response.json()
    assert ticket["url"].startswith(stack.aws_endpoint)  # straight to the AWS emulator, not through the API
    assert ticket["key"].startswith(f"products/{product['id']}/")

    early = requests.post(f"{stack.api}/products/{product['id']}/publish", headers=_auth(token), timeout=TIMEOUT)
    assert early.status_code == 409  # no verified file yet
    _post_form(ticket, PDF, filename="Patterns Vol 1.pdf")

    ready = wait_until(
        lambda: _owner_view(stack, token, product["id"])["file"], timeout=20, what="the uploaded file to be attached"
    )
    assert ready == {"name": "Patterns Vol 1.pdf", "content_type": "application/pdf", "size_bytes": len(PDF)}
    published = requests.post(f"{stack.api}/products/{product['id']}/publish", headers=_auth(token), timeout=TIMEOUT)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    public = requests.get(f"{stack.api}/products/{product['id']}", timeout=TIMEOUT)
    assert public.status_code == 200
    assert public.json()["file"] == ready
    listed = requests.get(f"{stack.api}/products", params={"creator_id": creator["id"]}, timeout=TIMEOUT).json()
    assert [item["id"] for item in listed["items"]] == [product["id"]]
    stored = stack.client("s3").get_object(Bucket=stack.bucket_name, Key=ticket["key"])["Body"].read()
    assert stored == PDF


def test_a_disallowed_type_is_415(stack: Any) -> None:
    _, token = a_user(stack, "creator")
    product = _new_product(stack, token)

    response = _ticket(stack, token, product["id"], filename="page.html", content_type="text/html")

    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 415


def test_a_file_over_the_size_limit_is_413(stack: Any) -> None:
    _, token = a_user(stack, "creator")
    product = _new_product(stack, token)

    response = _ticket(stack, token, product["id"], size_bytes=2 * 1024**3 + 1)

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_a_file_whose_bytes_do_not_match_its_declared_type_is_rejected_on_arrival(stack: Any) -> None:
    _, token = a_user(stack, "creator")
    product = _new_product(stack, token)
    ticket = _ticket(stack, token, product["id"], filename="not-a.pdf").json()

    _post_form(ticket, PNG, filename="not-a.pdf")  # declared application/pdf, the bytes are a PNG

    error = wait_until(
        lambda: _owner_view(stack, token, product["id"])["file_error"], timeout=20, what="the upload to be refused"
    )
    assert error["code"] == "content_mismatch"
    assert error["filename"] == "not-a.pdf"
    assert _owner_view(stack, token, product["id"])["file"] is None
    listed = stack.client("s3").list_objects_v2(Bucket=stack.bucket_name, Prefix=ticket["key"])
    assert listed.get("KeyCount", 0) == 0
    publish = requests.post(f"{stack.api}/products/{product['id']}/publish", headers=_auth(token), timeout=TIMEOUT)
    assert publish.status_code == 409


def test_a_file_larger_than_declared_is_rejected_on_arrival(stack: Any) -> None:
    # On AWS the policy's content-length-range refuses this post; the emulator accepts it, so our check must.
    _, token = a_user(stack, "creator")
    product = _new_product(stack, token)
    ticket = _ticket(stack, token, product["id"], size_bytes=16).json()

    _post_form(ticket, PDF)

    error = wait_until(
        lambda: _owner_view(stack, token, product["id"])["file_error"], timeout=20, what="the upload to be refused"
    )
    assert error["code"] == "too_large"
