"""What happens when an uploaded object arrives: the file is posted to the presigned URL exactly as a
browser would, moto sends the S3 notification to the uploads queue, and the real queue messages
are handed to functions/upload/uploaded.py.

moto does not enforce presigned POST policies (content type, content-length-range), so a client
here can post what S3 itself would refuse; these tests use that to show our own check on arrival.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest
import requests

from localdev.pumps import sqs_record
from market.repositories import products as product_repo
from market.services import catalog, uploads
from tests.fixtures.events import lambda_context, load_function
from tests.unit.catalog.test_products_api import Api

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Uploads:
    """A creator's browser (tickets and form posts) and the uploads queue's consumer."""

    def __init__(self, api: Api, resources: Any) -> None:
        self.api = api
        self.bucket = resources.bucket_name
        self.queue_url = resources.queue_urls["UploadsQueue"]
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.s3 = boto3.client("s3", region_name="us-east-1")
        self.consumer = load_function("functions/upload/uploaded.py")

    def ticket(
        self, product_id: str, *, creator: str = "creator-1", filename: str = "book.pdf", **declared: Any
    ) -> dict[str, Any]:
        body = {"filename": filename, "content_type": "application/pdf", "size_bytes": 10_000, **declared}
        status, ticket, _ = self.api.call("POST", f"/products/{product_id}/upload", body=body, as_user=creator)
        assert status == 200, ticket
        return ticket  # type: ignore[no-any-return]

    def post(self, ticket: dict[str, Any], content: bytes, *, fields: dict[str, str] | None = None) -> None:
        """The multipart form a browser posts to S3: the ticket's fields, then the file."""
        form = {**ticket["fields"], **(fields or {})}
        response = requests.post(
            ticket["url"], data=form, files={"file": ("upload.bin", content, form["Content-Type"])}, timeout=10
        )
        assert response.status_code == 204, response.text

    def messages(self) -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return received
            received.extend(batch)

    def deliver(self, messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Hand the queue's messages to the consumer as one SQS event; delete the ones it processed."""
        messages = self.messages() if messages is None else messages
        arn = "arn:aws:sqs:us-east-1:123456789012:unit-UploadsQueue"
        event = {"Records": [sqs_record(message, arn, "us-east-1") for message in messages]}
        response: dict[str, Any] = self.consumer.lambda_handler(event, lambda_context("UploadEventsFunction"))
        failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return response

    def exists(self, key: str) -> bool:
        return "Contents" in self.s3.list_objects_v2(Bucket=self.bucket, Prefix=key)

    def upload(self, product_id: str, content: bytes, **declared: Any) -> dict[str, Any]:
        ticket = self.ticket(product_id, **declared)
        self.post(ticket, content)
        assert self.deliver()["batchItemFailures"] == []
        return ticket


@pytest.fixture
def api(aws_resources: Any) -> Api:
    return Api()


@pytest.fixture
def browser(api: Api, aws_resources: Any) -> Uploads:
    return Uploads(api, aws_resources)


def _owner_view(api: Api, product_id: str, creator: str = "creator-1") -> dict[str, Any]:
    status, product, _ = api.call("GET", f"/products/{product_id}", as_user=creator)
    assert status == 200
    return product  # type: ignore[no-any-return]


# ---------------------------------------------------------------- the happy path


def test_uploaded_file_is_verified_attached_and_publishable(api: Api, browser: Uploads) -> None:
    product = api.create("creator-1")
    ticket = browser.ticket(product["id"], filename="Lagos Cookbook.pdf", size_bytes=len(PDF))
    browser.post(ticket, PDF)

    result = browser.deliver()  # the s3:TestEvent and the ObjectCreated:Post event

    assert result["batchItemFailures"] == []
    owner = _owner_view(api, product["id"])
    assert owner["file"] == {"name": "Lagos Cookbook.pdf", "content_type": "application/pdf", "size_bytes": len(PDF)}
    assert owner["file_error"] is None
    stored = catalog.get_product(product["id"])
    assert stored is not None
    assert stored.file is not None
    assert stored.file.key == ticket["key"]
    assert stored.file.sha256 == hashlib.sha256(PDF).hexdigest()
    status, published, _ = api.call("POST", f"/products/{product['id']}/publish", as_user="creator-1")
    assert status == 200
    assert published["status"] == "published"
    _, page, _ = api.call("GET", "/products")
    assert [item["id"] for item in page["items"]] == [product["id"]]


def test_the_s3_test_event_is_skipped(browser: Uploads) -> None:
    messages = browser.messages()
    assert [json.loads(message["Body"]).get("Event") for message in messages] == ["s3:TestEvent"]

    result = browser.deliver(messages)

    assert result["batchItemFailures"] == []


def test_large_objects_are_checked_by_their_first_bytes_without_a_hash(
    api: Api, browser: Uploads, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uploads, "SHA256_MAX_BYTES", 16)
    product = api.create("creator-1")

    browser.upload(product["id"], PDF)

    stored = catalog.get_product(product["id"])
    assert stored is not None
    assert stored.file is not None
    assert stored.file.size_bytes == len(PDF)
    assert stored.file.sha256 is None


# ---------------------------------------------------------------- refused on arrival


def test_bytes_that_do_not_match_the_declared_type_are_rejected_and_deleted(api: Api, browser: Uploads) -> None:
    product = api.create("creator-1")
    ticket = browser.ticket(product["id"], filename="not-really.pdf")
    browser.post(ticket, PNG)  # declared and stored as application/pdf, but the bytes are a PNG

    assert browser.deliver()["batchItemFailures"] == []

    assert not browser.exists(ticket["key"])
    owner = _owner_view(api, product["id"])
    assert owner["file"] is None
    assert owner["file_error"]["code"] == "content_mismatch"
    assert owner["file_error"]["filename"] == "not-really.pdf"
    assert owner["file_error"]["message"]
    status, _, _ = api.call("POST", f"/products/{product['id']}/publish", as_user="creator-1")
    assert status == 409
    upload = product_repo.get_upload(ticket["key"])
    assert upload is not None
    assert (upload.status, upload.reason) == ("rejected", "content_mismatch")


def test_object_larger_than_declared_is_rejected(api: Api, browser: Uploads) -> None:
    # Real S3 refuses this post (content-length-range); moto does not, so our own check must.
    product = api.create("creator-1")
    ticket = browser.ticket(product["id"], size_bytes=20)
    browser.post(ticket, PDF)

    browser.deliver()

    assert not browser.exists(ticket["key"])
    assert _owner_view(api, product["id"])["file_error"]["code"] == "too_large"


def test_object_stored_with_another_type_than_declared_is_rejected(api: Api, browser: Uploads) -> None:
    # Real S3 refuses a Content-Type that differs from the policy's; moto does not.
    product = api.create("creator-1")
    ticket = browser.ticket(product["id"])
    browser.post(ticket, PNG, fields={"Content-Type": "image/png"})

    browser.deliver()

    assert not browser.exists(ticket["key"])
    assert _owner_view(api, product["id"])["file_error"]["code"] == "type_mismatch"


def test_object_stored_with_a_type_not_allowed_is_rejected(api: Api, browser: Uploads) -> None:
    product = api.create("creator-1")
    ticket = browser.ticket(product["id"])
    browser.post(ticket, b"<html><script>alert(1)</script></html>", fields={"Content-Type": "text/html"})

    browser.deliver()

    assert not browser.exists(ticket["key"])
    assert _owner_view(api, product["id"])["file_error"]["code"] == "type_not_allowed"


def test_file_error_is_shown_to_the_creator_only(api: Api, browser: Uploads) -> None:
    product = api.create("creator-1")
    browser.upload(product["id"], PDF)
    api.call("POST", f"/products/{product['id']}/publish", as_user="creator-1")
    browser.upload(product["id"], PNG)  # a failed re-upload

    _, public, _ = api.call("GET", f"/products/{product['id']}")
    owner = _owner_view(api, product["id"])

    assert "file_error" not in public
    assert owner["file_error"]["code"] == "content_mismatch"


def test_upload_for_a_product_archived_meanwhile_is_deleted(api: Api, browser: Uploads) -> None:
    product = api.create("creator-1")
    ticket = browser.ticket(product["id"])
    api.call("DELETE", f"/products/{product['id']}", as_user="creator-1")
    browser.post(ticket, PDF)

    browser.deliver()

    assert not browser.exists(ticket["key"])
    stored = catalog.get_product(product["id"])
    assert stored is not None
    assert stored.file is None


# ---------------------------------------------------------------- replacing a file


def test_reupload_replaces_the_file_and_then_deletes_the_old_object(api: Api, browser: Uploads) -> None:
    product = api.create("creator-1")
    first = browser.upload(product["id"], PDF, filename="v1.pdf")
    api.call("POST", f"/products/{product['id']}/publish", as_user="creator-1")

    second = browser.upload(product["id"], PDF + b"% second edition\n", filename="v2.pdf")

    stored = catalog.get_product(product["id"])  # what delivery serves buyers
    assert stored is not None
    assert stored.file is not None
    assert (stored.file.key, stored.file.name) == (second["key"], "v2.pdf")
    assert stored.status == "published"
    assert browser.exists(second["key"])
    assert not browser.exists(first["key"])


def test_a_failed_reupload_keeps_the_current_file(api: Api, browser: Uploads) -> None:
    product = api.create("creator-1")
    first = browser.upload(product["id"], PDF)
    api.call("POST", f"/products/{product['id']}/publish", as_user="creator-1")

    browser.upload(product["id"], PNG)

    stored = catalog.get_product(product["id"])
    assert stored is not None
    assert stored.file is not None
    assert stored.file.key == first["key"]
    assert stored.status == "published"
    assert browser.exists(first["key"])


def test_an_older_upload_arriving_after_a_newer_one_is_discarded(api: Api, browser: Uploads) -> None:
    product = api.create("creator-1")
    older = browser.ticket(product["id"], filename="older.pdf")
    newer = browser.ticket(product["id"], filename="newer.pdf")
    browser.post(newer, PDF)
    browser.deliver()

    browser.post(older, PDF)
    browser.deliver()

    stored = catalog.get_product(product["id"])
    assert stored is not None
    assert stored.file is not None
    assert stored.file.name == "newer.pdf"
    assert not browser.exists(older["key"])
    assert browser.exists(newer["key"])


def test_reusing_a_ticket_to_overwrite_the_attached_file_with_bad_bytes_detaches_it(api: Api, browser: Uploads) -> None:
    product = api.create("creator-1")
    ticket = browser.upload(product["id"], PDF)
    api.call("POST", f"/products/{product['id']}/publish", as_user="creator-1")

    browser.post(ticket, PNG)  # the same presigned POST, still valid, now with something else
    browser.deliver()

    owner = _owner_view(api, product["id"])
    assert owner["file"] is None
    assert owner["status"] == "draft"  # a published product always has a verified file
    assert owner["file_error"]["code"] == "content_mismatch"
    assert not browser.exists(ticket["key"])
    _, page, _ = api.call("GET", "/products")
    assert page["items"] == []


# ---------------------------------------------------------------- at-least-once delivery


def test_a_redelivered_event_changes_nothing(api: Api, browser: Uploads) -> None:
    product = api.create("creator-1")
    browser.deliver()  # the test event
    ticket = browser.ticket(product["id"])
    browser.post(ticket, PDF)
    messages = browser.messages()
    browser.deliver(messages)
    attached = catalog.get_product(product["id"])
    assert attached is not None

    browser.sqs.send_message(QueueUrl=browser.queue_url, MessageBody=messages[0]["Body"])
    result = browser.deliver()

    assert result["batchItemFailures"] == []
    again = catalog.get_product(product["id"])
    assert again == attached
    assert browser.exists(ticket["key"])


def test_an_object_without_a_ticket_is_deleted(browser: Uploads) -> None:
    key = "products/someone/sneaky file+1.pdf"  # the event carries it URL-encoded
    browser.s3.put_object(Bucket=browser.bucket, Key=key, Body=PDF, ContentType="application/pdf")

    result = browser.deliver()

    assert result["batchItemFailures"] == []
    assert not browser.exists(key)


def test_a_failing_message_is_reported_alone(api: Api, browser: Uploads) -> None:
    product = api.create("creator-1")
    ticket = browser.ticket(product["id"])
    browser.post(ticket, PDF)
    browser.sqs.send_message(QueueUrl=browser.queue_url, MessageBody="not json")
    messages = browser.messages()
    poison = next(message for message in messages if message["Body"] == "not json")

    result = browser.deliver(messages)

    assert result["batchItemFailures"] == [{"itemIdentifier": poison["MessageId"]}]
    stored = catalog.get_product(product["id"])
    assert stored is not None
    assert stored.file is not None


def test_objects_outside_the_upload_prefix_are_left_alone(browser: Uploads) -> None:
    browser.s3.put_object(Bucket=browser.bucket, Key="exports/report.csv", Body=b"a,b")

    outcome = uploads.check_uploaded_object(browser.bucket, "exports/report.csv")

    assert outcome is uploads.Outcome.IGNORED
    assert browser.exists("exports/report.csv")
