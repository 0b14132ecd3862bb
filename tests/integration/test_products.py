"""Products over the local stack: who may create and edit, what the public sees, catalog paging."""

from __future__ import annotations

import base64
from typing import Any

import requests

from tests.helpers import wait_until
from tests.integration.factories import a_user

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
TIMEOUT = 10
PROBLEM_JSON = "application/problem+json"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _create(stack: Any, token: str, title: str) -> dict[str, Any]:
    response = requests.post(
        f"{stack.api}/products",
        json={"title": title, "description": "", "price": 500, "currency": "USD"},
        headers=_auth(token),
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _published(stack: Any, token: str, titles: list[str]) -> list[str]:
    """Products with a real uploaded file, then published (all uploads first, then one wait)."""
    ids = []
    for title in titles:
        product = _create(stack, token, title)
        ticket = requests.post(
            f"{stack.api}/products/{product['id']}/upload",
            json={"filename": f"{title}.pdf", "content_type": "application/pdf", "size_bytes": len(PDF)},
            headers=_auth(token),
            timeout=TIMEOUT,
        ).json()
        posted = requests.post(
            ticket["url"],
            data=ticket["fields"],
            files={"file": (f"{title}.pdf", PDF, "application/pdf")},
            timeout=TIMEOUT,
        )
        assert posted.status_code in (200, 201, 204), posted.text
        ids.append(product["id"])

    def all_attached() -> bool:
        for product_id in ids:
            response = requests.get(f"{stack.api}/products/{product_id}", headers=_auth(token), timeout=TIMEOUT)
            if response.json()["file"] is None:
                return False
        return True

    wait_until(all_attached, timeout=60, what="every upload to be attached")
    for product_id in ids:
        response = requests.post(f"{stack.api}/products/{product_id}/publish", headers=_auth(token), timeout=TIMEOUT)
        assert response.status_code == 200, response.text
    return ids


def _walk(
    stack: Any, path: str, *, limit: int, params: dict[str, str] | None = None, token: str | None = None
) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(1000):
        query = {"limit": str(limit), **(params or {})}
        if cursor:
            query["cursor"] = cursor
        response = requests.get(
            f"{stack.api}{path}", params=query, headers=_auth(token) if token else {}, timeout=TIMEOUT
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        ids.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the cursor never ran out")


def test_a_customer_cannot_create_products(stack: Any) -> None:
    _, token = a_user(stack, "customer")

    response = requests.post(
        f"{stack.api}/products",
        json={"title": "Nope", "price": 500, "currency": "USD"},
        headers=_auth(token),
        timeout=TIMEOUT,
    )

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == 403


def test_another_creator_cannot_edit_a_product(stack: Any) -> None:
    _, owner = a_user(stack, "creator")
    _, other = a_user(stack, "creator")
    [product_id] = _published(stack, owner, ["Owned"])

    response = requests.patch(
        f"{stack.api}/products/{product_id}", json={"title": "Stolen"}, headers=_auth(other), timeout=TIMEOUT
    )

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    assert requests.get(f"{stack.api}/products/{product_id}", timeout=TIMEOUT).json()["title"] == "Owned"


def test_drafts_and_archived_products_never_appear_publicly(stack: Any) -> None:
    creator, token = a_user(stack, "creator")
    draft = _create(stack, token, "Draft")
    [archived, live] = _published(stack, token, ["Archived", "Live"])
    archive = requests.delete(f"{stack.api}/products/{archived}", headers=_auth(token), timeout=TIMEOUT)
    assert archive.status_code == 204

    catalog_ids = _walk(stack, "/products", limit=100)
    by_creator = _walk(stack, "/products", limit=100, params={"creator_id": creator["id"]})

    assert live in catalog_ids
    assert by_creator == [live]
    for hidden in (draft["id"], archived):
        assert hidden not in catalog_ids
        response = requests.get(f"{stack.api}/products/{hidden}", timeout=TIMEOUT)
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_JSON
    mine = _walk(stack, "/creator/products", limit=100, token=token)
    assert set(mine) == {draft["id"], archived, live}


def test_paging_returns_each_published_product_exactly_once(stack: Any) -> None:
    creator, token = a_user(stack, "creator")
    published = _published(stack, token, [f"Paged {n}" for n in range(14)])
    _create(stack, token, "Unpublished")

    everything = _walk(stack, "/products", limit=3)
    by_creator = _walk(stack, "/products", limit=3, params={"creator_id": creator["id"]})

    assert len(everything) == len(set(everything))
    assert set(published) <= set(everything)
    assert sorted(by_creator) == sorted(published)
    assert by_creator == list(reversed(published))  # newest publication first


def test_a_tampered_cursor_is_400_problem_json(stack: Any) -> None:
    _, token = a_user(stack, "creator")
    _published(stack, token, ["Cursor 1", "Cursor 2"])
    first = requests.get(f"{stack.api}/products", params={"limit": "1"}, timeout=TIMEOUT).json()
    assert first["next_cursor"]
    raw = bytearray(base64.urlsafe_b64decode(first["next_cursor"] + "=" * (-len(first["next_cursor"]) % 4)))
    raw[-2] ^= 0x01
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")

    response = requests.get(f"{stack.api}/products", params={"limit": "1", "cursor": tampered}, timeout=TIMEOUT)

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == 400
    assert {"type", "title", "status", "detail"} <= set(body)
