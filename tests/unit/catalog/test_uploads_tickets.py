"""POST /products/{id}/upload: the presigned POST ticket, its policy, and what is refused up front."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from market import clock
from market.repositories import products as product_repo
from market.settings import get_settings
from tests.unit.catalog.test_products_api import PROBLEM_JSON, Api, a_published_product


@pytest.fixture
def api(aws_resources: Any) -> Api:
    return Api()


def _ticket_request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"filename": "cookbook.pdf", "content_type": "application/pdf", "size_bytes": 5_000_000}
    body.update(overrides)
    return body


def _policy(fields: dict[str, str]) -> dict[str, Any]:
    return json.loads(base64.b64decode(fields["policy"]))  # type: ignore[no-any-return]


def test_ticket_is_a_presigned_post_pinning_key_type_and_size(api: Api, aws_resources: Any) -> None:
    product = api.create("creator-1")

    status, ticket, headers = api.call(
        "POST", f"/products/{product['id']}/upload", body=_ticket_request(), as_user="creator-1"
    )

    assert status == 200
    assert headers["cache-control"] == "no-store"
    assert set(ticket) == {"url", "fields", "key", "expires_in"}
    assert ticket["url"].endswith(f"/{aws_resources.bucket_name}")  # path-style, straight to S3
    assert ticket["key"].startswith(f"products/{product['id']}/")
    assert "cookbook" not in ticket["key"]
    assert ticket["expires_in"] == get_settings().upload_url_ttl_seconds == 600
    fields = ticket["fields"]
    assert fields["key"] == ticket["key"]
    assert fields["Content-Type"] == "application/pdf"
    policy = _policy(fields)
    conditions = policy["conditions"]
    assert {"key": ticket["key"]} in conditions
    assert {"bucket": aws_resources.bucket_name} in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", 1, 5_000_000] in conditions
    expiration = clock.parse_iso(policy["expiration"])
    assert abs(expiration - (clock.now() + timedelta(seconds=600))) < timedelta(seconds=5)


def test_ticket_records_what_the_creator_declared(api: Api) -> None:
    product = api.create("creator-1")

    _, ticket, _ = api.call(
        "POST",
        f"/products/{product['id']}/upload",
        body=_ticket_request(filename="C:\\Users\\ada\\..\\My Cookbook.pdf", content_type="Application/PDF"),
        as_user="creator-1",
    )

    upload = product_repo.get_upload(ticket["key"])
    assert upload is not None
    assert upload.product_id == product["id"]
    assert upload.creator_id == "creator-1"
    assert upload.filename == "My Cookbook.pdf"  # path parts dropped, kept for Content-Disposition
    assert upload.content_type == "application/pdf"
    assert upload.size_bytes == 5_000_000
    assert upload.status == "pending"
    assert upload.expires_at is not None
    assert upload.expires_at > clock.epoch_seconds() + 600
    assert ticket["fields"]["Content-Type"] == "application/pdf"


def test_each_ticket_gets_a_new_random_key(api: Api) -> None:
    product = api.create("creator-1")

    keys = {
        api.call("POST", f"/products/{product['id']}/upload", body=_ticket_request(), as_user="creator-1")[1]["key"]
        for _ in range(3)
    }

    assert len(keys) == 3


@pytest.mark.parametrize("content_type", ["text/html", "application/x-msdownload", "image/svg+xml", ""])
def test_type_outside_the_allowed_list_is_415(api: Api, content_type: str) -> None:
    product = api.create("creator-1")

    status, problem, headers = api.call(
        "POST",
        f"/products/{product['id']}/upload",
        body=_ticket_request(content_type=content_type or " "),
        as_user="creator-1",
    )

    assert status == 415
    assert headers["content-type"] == PROBLEM_JSON
    assert problem["status"] == 415


def test_an_allowed_type_we_cannot_verify_on_arrival_is_also_415(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_CONTENT_TYPES", "application/pdf,text/plain")
    get_settings.cache_clear()
    product = api.create("creator-1")

    text, _, _ = api.call(
        "POST",
        f"/products/{product['id']}/upload",
        body=_ticket_request(content_type="text/plain"),
        as_user="creator-1",
    )
    pdf, _, _ = api.call("POST", f"/products/{product['id']}/upload", body=_ticket_request(), as_user="creator-1")
    mp3, _, _ = api.call(
        "POST",
        f"/products/{product['id']}/upload",
        body=_ticket_request(content_type="audio/mpeg"),
        as_user="creator-1",
    )

    assert (text, pdf, mp3) == (415, 200, 415)


def test_size_above_the_limit_is_413(api: Api) -> None:
    product = api.create("creator-1")
    limit = get_settings().max_upload_bytes

    over, problem, headers = api.call(
        "POST", f"/products/{product['id']}/upload", body=_ticket_request(size_bytes=limit + 1), as_user="creator-1"
    )
    at_limit, _, _ = api.call(
        "POST", f"/products/{product['id']}/upload", body=_ticket_request(size_bytes=limit), as_user="creator-1"
    )

    assert over == 413
    assert headers["content-type"] == PROBLEM_JSON
    assert problem["status"] == 413
    assert at_limit == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_ticket_request(size_bytes=0), "size_bytes"),
        (_ticket_request(size_bytes="100"), "size_bytes"),
        (_ticket_request(size_bytes=10.0), "size_bytes"),
        (_ticket_request(filename=""), "filename"),
        (_ticket_request(filename="a/b/"), "filename"),
        (_ticket_request(filename="\x00\x01"), "filename"),
        ({"filename": "x.pdf", "content_type": "application/pdf"}, "size_bytes"),
        ({**_ticket_request(), "key": "products/other/evil"}, "key"),
    ],
)
def test_invalid_ticket_requests_are_422(api: Api, body: dict[str, Any], field: str) -> None:
    product = api.create("creator-1")

    status, problem, _ = api.call("POST", f"/products/{product['id']}/upload", body=body, as_user="creator-1")

    assert status == 422
    assert field in [error["field"] for error in problem["errors"]]


def test_only_the_products_creator_gets_a_ticket(api: Api) -> None:
    draft = api.create("creator-1")
    published = a_published_product(api, "creator-1")

    other_on_published, _, _ = api.call(
        "POST", f"/products/{published['id']}/upload", body=_ticket_request(), as_user="creator-2"
    )
    other_on_draft, _, _ = api.call(
        "POST", f"/products/{draft['id']}/upload", body=_ticket_request(), as_user="creator-2"
    )
    customer, _, _ = api.call(
        "POST", f"/products/{draft['id']}/upload", body=_ticket_request(), as_user="buyer", role="customer"
    )
    anonymous, _, _ = api.call("POST", f"/products/{draft['id']}/upload", body=_ticket_request())

    assert (other_on_published, other_on_draft, customer, anonymous) == (403, 404, 403, 401)


def test_archived_product_gets_no_ticket(api: Api) -> None:
    product = a_published_product(api, "creator-1")
    api.call("DELETE", f"/products/{product['id']}", as_user="creator-1")

    status, _, _ = api.call("POST", f"/products/{product['id']}/upload", body=_ticket_request(), as_user="creator-1")

    assert status == 409
