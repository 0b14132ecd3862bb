"""Delivery API in process (functions/delivery/app.py) against moto: the download redirect and its
one-time, expiring, revocable grants; fresh links; the buyer's library."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from market import clock
from market.auth.tokens import issue_access_token
from market.domain.limits import DEFAULT_RATE_LIMITS
from market.domain.order import ACCESS_STATUSES
from market.repositories import grants as grants_repo
from market.repositories import products as product_repo
from market.services import downloads
from market.settings import get_settings
from tests.fixtures.aws import AwsCalls
from tests.fixtures.delivery import PDF, a_product, an_order, run_worker, set_order_status
from tests.fixtures.events import http_event, json_body, lambda_context, load_function

PUBLIC_API = "https://api.market.test"
PROBLEM_JSON = "application/problem+json"


class Api:
    def __init__(self) -> None:
        self.module = load_function("functions/delivery/app.py")

    def call(
        self,
        method: str,
        path: str,
        *,
        as_user: str | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        headers = {}
        if as_user is not None:
            headers["authorization"] = f"Bearer {issue_access_token(as_user, 'customer')[0]}"
        response = self.module.lambda_handler(http_event(method, path, headers=headers, query=query), lambda_context())
        response_headers = {key.lower(): str(value) for key, value in (response.get("headers") or {}).items()}
        return response["statusCode"], json_body(response), response_headers

    def download(self, link: str, method: str = "GET") -> tuple[int, Any, dict[str, str]]:
        return self.call(method, urlsplit(link).path)

    def fresh_link(self, order_id: str, buyer: str = "buyer-1") -> dict[str, Any]:
        status, body, _ = self.call("POST", f"/orders/{order_id}/download-link", as_user=buyer)
        assert status == 201, body
        return body  # type: ignore[no-any-return]


@pytest.fixture
def api(aws_resources: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("PUBLIC_API_URL", PUBLIC_API)
    get_settings.cache_clear()
    yield Api()
    get_settings.cache_clear()


@pytest.fixture
def bucket(aws_resources: Any) -> str:
    return str(aws_resources.bucket_name)


def _assert_gone(status: int, body: Any, headers: dict[str, str]) -> None:
    assert status == 410
    assert headers["content-type"] == PROBLEM_JSON
    assert body["status"] == 410
    assert "library" in body["detail"]


# ---------------------------------------------------------------- the download redirect


def test_a_link_redirects_once_to_a_short_lived_s3_url_of_the_file(api: Api, bucket: str) -> None:
    order = an_order(a_product(bucket, file_name="Lagos Cookbook.pdf"))
    link = api.fresh_link(order.id)
    assert link["url"].startswith(f"{PUBLIC_API}/downloads/")
    assert link["uses_left"] == 1

    status, _, headers = api.download(link["url"])

    assert status == 302
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    location = headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["response-content-disposition"] == [
        "attachment; filename=\"Lagos Cookbook.pdf\"; filename*=UTF-8''Lagos%20Cookbook.pdf"
    ]
    assert query["response-content-type"] == ["application/pdf"]
    assert query["X-Amz-Expires"] == [str(get_settings().download_url_ttl_seconds)]
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == PDF


def test_a_second_use_of_a_one_time_link_is_410_pointing_to_the_library(api: Api, bucket: str) -> None:
    link = api.fresh_link(an_order(a_product(bucket)).id)
    assert api.download(link["url"])[0] == 302

    status, body, headers = api.download(link["url"])

    _assert_gone(status, body, headers)
    assert "used" in body["detail"]
    assert headers["referrer-policy"] == "no-referrer"


def test_head_checks_a_link_without_using_it(api: Api, bucket: str) -> None:
    link = api.fresh_link(an_order(a_product(bucket)).id)

    assert api.download(link["url"], "HEAD")[0] == 200
    assert api.download(link["url"], "HEAD")[0] == 200
    assert api.download(link["url"])[0] == 302
    assert api.download(link["url"], "HEAD")[0] == 410


def test_an_unknown_or_malformed_token_is_404(api: Api, bucket: str) -> None:
    for path in ("/downloads/" + "A" * 43, "/downloads/short", "/downloads/" + "x" * 300):
        status, body, headers = api.call("GET", path)
        assert status == 404, path
        assert headers["content-type"] == PROBLEM_JSON
        assert "library" in body["detail"]
        assert api.call("HEAD", path)[0] == 404


def test_an_expired_link_is_410_even_before_ttl_deletes_it(api: Api, bucket: str) -> None:
    link = api.fresh_link(an_order(a_product(bucket)).id)

    clock.set_offset(get_settings().grant_ttl_seconds + 1)

    assert api.download(link["url"], "HEAD")[0] == 410
    status, body, headers = api.download(link["url"])
    _assert_gone(status, body, headers)
    assert "expired" in body["detail"]


def test_a_link_works_until_just_before_it_expires(api: Api, bucket: str) -> None:
    link = api.fresh_link(an_order(a_product(bucket)).id)

    clock.set_offset(get_settings().grant_ttl_seconds - 5)

    assert api.download(link["url"])[0] == 302


def test_a_refunded_orders_links_are_410(api: Api, bucket: str) -> None:
    order = an_order(a_product(bucket))
    link = api.fresh_link(order.id)

    set_order_status(order.id, "refunded")

    assert api.download(link["url"], "HEAD")[0] == 410
    status, body, headers = api.download(link["url"])
    _assert_gone(status, body, headers)


def test_a_partially_refunded_order_keeps_access(api: Api, bucket: str) -> None:
    order = an_order(a_product(bucket))
    link = api.fresh_link(order.id)

    set_order_status(order.id, "partially_refunded")

    assert api.download(link["url"])[0] == 302


def test_revoking_an_orders_grants_makes_every_link_410(api: Api, bucket: str) -> None:
    order = an_order(a_product(bucket))
    other = an_order(a_product(bucket))
    links = [api.fresh_link(order.id) for _ in range(3)]
    untouched = api.fresh_link(other.id)

    assert downloads.revoke_order_grants(order.id) == 3

    for link in links:
        status, body, headers = api.download(link["url"])
        _assert_gone(status, body, headers)
        assert "no longer valid" in body["detail"]
    assert api.download(untouched["url"])[0] == 302
    assert downloads.revoke_order_grants(order.id) == 0  # already revoked


def test_uses_and_lifetime_come_from_the_settings(api: Api, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRANT_USES", "2")
    monkeypatch.setenv("GRANT_TTL_SECONDS", "600")
    get_settings.cache_clear()
    before = clock.epoch_seconds()
    link = api.fresh_link(an_order(a_product(bucket)).id)

    assert link["uses_left"] == 2
    assert before + 600 <= clock.parse_iso(link["expires_at"]).timestamp() <= clock.epoch_seconds() + 600
    assert [api.download(link["url"])[0] for _ in range(3)] == [302, 302, 410]


def test_concurrent_uses_of_a_one_time_link_redirect_exactly_once(api: Api, bucket: str) -> None:
    # DynamoDB serialises conditional writes on an item; in-process moto needs the local stack's lock for that.
    from localdev.moto_patches import serialize_dynamodb

    serialize_dynamodb()
    link = api.fresh_link(an_order(a_product(bucket)).id)
    statuses: list[int] = []
    start = threading.Barrier(8)

    def use() -> None:
        start.wait()
        statuses.append(api.download(link["url"])[0])

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [302] + [410] * 7


def test_the_same_grant_cannot_be_used_twice_even_after_both_requests_read_it(api: Api, bucket: str) -> None:
    # The interleaving of a race: both requests read a valid grant, then both try the conditional write.
    order = an_order(a_product(bucket))
    link = api.fresh_link(order.id)
    token_hash = grants_repo.hash_token(urlsplit(link["url"]).path.rsplit("/", 1)[1])
    now = clock.epoch_seconds()

    first = grants_repo.use_grant(token_hash, order.id, now, ACCESS_STATUSES)
    second = grants_repo.use_grant(token_hash, order.id, now, ACCESS_STATUSES)

    assert (first, second) == (grants_repo.UseOutcome.USED, grants_repo.UseOutcome.REFUSED)


def test_only_the_token_hash_is_stored(api: Api, bucket: str, aws_resources: Any) -> None:
    link = api.fresh_link(an_order(a_product(bucket)).id)
    token = urlsplit(link["url"]).path.rsplit("/", 1)[1]

    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=aws_resources.table_name)["Items"]

    assert token not in str(items)
    assert grants_repo.get_grant(grants_repo.hash_token(token)) is not None


def test_a_reuploaded_file_is_what_the_buyer_gets(api: Api, bucket: str) -> None:
    product = a_product(bucket)
    order = an_order(product)
    replacement = a_product(bucket, file_name="Cookbook 2nd edition.pdf", content=PDF + b"% v2\n")
    assert replacement.file is not None
    current = product_repo.get(product.id, consistent=True)
    assert current is not None
    product_repo.save(replace(current, file=replacement.file))

    _, _, headers = api.download(api.fresh_link(order.id)["url"])

    assert requests.get(headers["location"], timeout=10).content == PDF + b"% v2\n"


def test_an_archived_product_stays_downloadable_by_its_buyer(api: Api, bucket: str) -> None:
    product = a_product(bucket)
    order = an_order(product)
    current = product_repo.get(product.id, consistent=True)
    assert current is not None
    product_repo.save(replace(current, status="archived", archived_at=clock.now()))

    assert api.download(api.fresh_link(order.id)["url"])[0] == 302


# ---------------------------------------------------------------- fresh links


def test_a_fresh_link_is_for_the_buyer_only(api: Api, bucket: str) -> None:
    order = an_order(a_product(bucket), buyer_id="buyer-1")

    for who in ("buyer-2", "creator-1"):
        status, _, headers = api.call("POST", f"/orders/{order.id}/download-link", as_user=who)
        assert status == 404
        assert headers["content-type"] == PROBLEM_JSON
    assert api.call("POST", "/orders/ord_missing/download-link", as_user="buyer-1")[0] == 404
    assert api.call("POST", f"/orders/{order.id}/download-link")[0] == 401


@pytest.mark.parametrize("status", ["pending", "failed", "refunded"])
def test_no_fresh_link_for_an_order_that_gives_no_access(api: Api, bucket: str, status: str) -> None:
    order = an_order(a_product(bucket), status=status)

    code, body, headers = api.call("POST", f"/orders/{order.id}/download-link", as_user="buyer-1")

    assert code == 409
    assert headers["content-type"] == PROBLEM_JSON
    assert status in body["detail"]


def test_a_fresh_link_is_three_round_trips(api: Api, bucket: str, aws_calls: AwsCalls) -> None:
    order = an_order(a_product(bucket))
    api.fresh_link(an_order(a_product(bucket)).id)  # warm: the signing key, the clients
    mark = len(aws_calls.made)

    api.fresh_link(order.id)

    # The order, then its product; the grant and the order's link counter in one transaction.
    assert aws_calls.since(mark) == ["dynamodb.GetItem", "dynamodb.GetItem", "dynamodb.TransactWriteItems"]


def test_fresh_links_are_limited_per_order_per_hour(api: Api, bucket: str) -> None:
    order = an_order(a_product(bucket))
    other = an_order(a_product(bucket))
    for _ in range(DEFAULT_RATE_LIMITS["download-link"]):
        api.fresh_link(order.id)

    status, body, headers = api.call("POST", f"/orders/{order.id}/download-link", as_user="buyer-1")

    assert status == 429
    assert body["status"] == 429
    assert 1 <= int(headers["retry-after"]) <= 3600
    api.fresh_link(other.id)  # the limit is per order
    clock.set_offset(int(headers["retry-after"]))
    api.fresh_link(order.id)  # a new window


# ---------------------------------------------------------------- the library


def _deliver(order_id: str) -> None:
    assert run_worker(f'{{"order_id": "{order_id}"}}')["batchItemFailures"] == []


def test_the_library_lists_paid_orders_newest_first_with_a_working_link_each(api: Api, bucket: str) -> None:
    older = an_order(a_product(bucket, title="Older book", file_name="older.pdf"))
    _deliver(older.id)
    clock.set_offset(60)
    newer = an_order(a_product(bucket, title="Newer book", creator_id="creator-2"))
    _deliver(newer.id)
    pending = an_order(a_product(bucket), status="pending")
    _deliver(pending.id)
    someone_elses = an_order(a_product(bucket), buyer_id="buyer-2")
    _deliver(someone_elses.id)

    status, body, headers = api.call("GET", "/library", as_user="buyer-1")

    assert status == 200, body
    assert headers["cache-control"] == "no-store"
    assert [item["order_id"] for item in body["items"]] == [newer.id, older.id]
    first = body["items"][0]
    assert first["product"] == {"id": newer.product_id, "title": "Newer book", "creator_id": "creator-2"}
    assert first["file"] == {"name": "Lagos Cookbook.pdf", "content_type": "application/pdf", "size_bytes": len(PDF)}
    assert set(first["download"]) == {"url", "expires_at", "uses_left"}
    assert first["download"]["uses_left"] == 1
    for item in body["items"]:
        assert api.download(item["download"]["url"])[0] == 302
    again = api.call("GET", "/library", as_user="buyer-1")[1]
    assert all(api.download(item["download"]["url"])[0] == 302 for item in again["items"])  # fresh links each time


def test_the_library_pages_with_a_cursor(api: Api, bucket: str) -> None:
    ids = []
    for minute in range(5):
        clock.set_offset(minute * 60)
        order = an_order(a_product(bucket))
        _deliver(order.id)
        ids.append(order.id)

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, body, _ = api.call("GET", "/library", as_user="buyer-1", query=query)
        assert status == 200, body
        seen += [item["order_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(ids))
    forged = api.call("GET", "/library", as_user="buyer-2", query={"cursor": cursor or "bm90LWEtY3Vyc29y"})
    assert forged[0] == 400


def test_a_refunded_order_leaves_the_library(api: Api, bucket: str) -> None:
    kept = an_order(a_product(bucket))
    refunded = an_order(a_product(bucket))
    _deliver(kept.id)
    _deliver(refunded.id)

    set_order_status(refunded.id, "refunded")

    body = api.call("GET", "/library", as_user="buyer-1")[1]
    assert [item["order_id"] for item in body["items"]] == [kept.id]


def test_the_library_needs_a_signed_in_caller(api: Api) -> None:
    status, problem, headers = api.call("GET", "/library")

    assert status == 401
    assert headers["content-type"] == PROBLEM_JSON
    assert headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert problem["status"] == 401
