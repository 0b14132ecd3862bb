"""The delivery consumer (functions/delivery/worker.py) against moto: one email per paid order, with a
working one-time link; nothing for orders that give no access; failures retried through SQS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from market import clock
from market.domain.order import ACCESS_STATUSES, Order
from market.domain.user import Caller
from market.emails import format_time
from market.repositories import grants as grants_repo
from market.repositories import orders as orders_repo
from market.services import delivery, downloads, library
from market.settings import get_settings
from tests.fixtures.aws import AwsCalls
from tests.fixtures.delivery import (
    LINK,
    PUBLIC_API,
    a_product,
    an_order,
    files_bucket_with_public_api,
    run_worker,
    sent_emails,
    set_order_status,
)
from tests.fixtures.events import http_event, lambda_context, load_function


@pytest.fixture
def bucket(aws_resources: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from files_bucket_with_public_api(aws_resources, monkeypatch)


def message(order: Order) -> str:
    """The message the payments consumer sends: the order and its product."""
    return json.dumps({"order_id": order.id, "product_id": order.product_id})


def download_status(link: str) -> int:
    app = load_function("functions/delivery/app.py")
    response = app.lambda_handler(http_event("GET", urlsplit(link).path), lambda_context())
    return int(response["statusCode"])


def test_a_paid_order_gets_one_email_with_a_working_one_time_link(bucket: str) -> None:
    product = a_product(bucket, title="The Lagos Cookbook", price=250000, currency="NGN")
    order = an_order(product, buyer_email="ada@example.com")

    response = run_worker(message(order))

    assert response["batchItemFailures"] == []
    [mail] = sent_emails("ada@example.com")
    assert mail["from"] == get_settings().email_sender
    assert mail["content_type"] == "multipart/alternative"
    assert "The Lagos Cookbook" in mail["subject"]
    for part in (mail["text"], mail["html"]):
        assert "The Lagos Cookbook" in part
        assert "NGN 2,500.00" in part
        assert f"{PUBLIC_API}/library" in part
    [link] = LINK.findall(mail["text"])
    assert LINK.findall(mail["html"]) == [link]
    grant = grants_repo.get_grant(grants_repo.hash_token(urlsplit(link).path.rsplit("/", 1)[1]))
    assert grant is not None
    assert grant.order_id == order.id
    expires = format_time(datetime.fromtimestamp(grant.expires_at, tz=UTC))
    assert expires in mail["text"]
    assert expires in mail["html"]
    assert download_status(link) == 302
    assert download_status(link) == 410
    stored = orders_repo.get_order(order.id)
    assert stored is not None
    assert stored.delivery_email_sent_at is not None


def test_a_redelivered_message_sends_no_second_email(bucket: str) -> None:
    order = an_order(a_product(bucket), buyer_email="twice@example.com")

    assert run_worker(message(order), message(order))["batchItemFailures"] == []  # twice in one batch
    assert run_worker(message(order))["batchItemFailures"] == []  # and again later

    assert len(sent_emails("twice@example.com")) == 1


def test_a_copy_arriving_during_another_consumers_send_is_retried_not_sent(bucket: str) -> None:
    order = an_order(a_product(bucket), buyer_email="copy@example.com")
    # Another consumer took the lease and is sending (a webhook delivered twice, or a slow send).
    grant, _ = downloads.new_grant(order, PUBLIC_API)
    started = grants_repo.begin_delivery(
        order.id,
        "other-consumer",
        clock.epoch_seconds(),
        delivery.DELIVERY_LEASE_SECONDS,
        grant=grant,
        library_entry=None,
        access_statuses=ACCESS_STATUSES,
    )
    assert started is grants_repo.DeliveryStart.STARTED

    busy = run_worker(message(order))

    assert len(busy["batchItemFailures"]) == 1  # SQS delivers it again later
    assert sent_emails("copy@example.com") == []
    clock.set_offset(delivery.DELIVERY_LEASE_SECONDS)  # the holder died without sending: its lease runs out
    assert run_worker(message(order))["batchItemFailures"] == []
    assert run_worker(message(order))["batchItemFailures"] == []
    assert len(sent_emails("copy@example.com")) == 1


@pytest.mark.parametrize("status", ["pending", "failed", "expired", "refunded"])
def test_an_order_that_gives_no_access_gets_nothing_and_is_not_retried(bucket: str, status: str) -> None:
    order = an_order(a_product(bucket), buyer_email="nothing@example.com", status=status)

    response = run_worker(message(order))

    assert response["batchItemFailures"] == []
    assert sent_emails("nothing@example.com") == []


def test_a_partially_refunded_order_not_yet_emailed_is_delivered(bucket: str) -> None:
    order = an_order(a_product(bucket), buyer_email="partial@example.com", status="partially_refunded")

    assert run_worker(message(order))["batchItemFailures"] == []

    assert len(sent_emails("partial@example.com")) == 1


def test_an_order_refunded_before_its_message_arrives_gets_nothing(bucket: str) -> None:
    order = an_order(a_product(bucket), buyer_email="late@example.com")
    set_order_status(order.id, "refunded")

    assert run_worker(message(order))["batchItemFailures"] == []

    assert sent_emails("late@example.com") == []


def test_an_unknown_order_is_dropped(bucket: str) -> None:
    assert run_worker(json.dumps({"order_id": "ord_does_not_exist"}))["batchItemFailures"] == []
    assert sent_emails() == []


def test_a_failed_send_is_retried_and_then_sent_once(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    order = an_order(a_product(bucket), buyer_email="retry@example.com")
    monkeypatch.setenv("EMAIL_SENDER", "unverified@market.test")  # SES refuses an unverified sender
    get_settings.cache_clear()
    event_body = message(order)

    first = run_worker(event_body)

    assert len(first["batchItemFailures"]) == 1
    assert sent_emails("retry@example.com") == []
    stored = orders_repo.get_order(order.id)
    assert stored is not None
    assert stored.delivery_email_sent_at is None
    boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress="unverified@market.test")
    assert run_worker(event_body)["batchItemFailures"] == []
    assert run_worker(event_body)["batchItemFailures"] == []
    assert len(sent_emails("retry@example.com")) == 1


def test_a_bad_record_fails_alone(bucket: str) -> None:
    order = an_order(a_product(bucket), buyer_email="alone@example.com")

    response = run_worker("not json", json.dumps({"order": "x"}), message(order))

    assert len(response["batchItemFailures"]) == 2
    assert len(sent_emails("alone@example.com")) == 1


def test_a_delivered_order_is_in_the_buyers_library(bucket: str) -> None:
    order = an_order(a_product(bucket), buyer_id="buyer-lib")
    assert run_worker(message(order))["batchItemFailures"] == []

    page = library.library(Caller(user_id="buyer-lib", role="customer"), limit=20, cursor=None)

    assert [item.order_id for item in page.items] == [order.id]


def test_a_message_without_its_product_still_delivers_once(bucket: str) -> None:
    # Messages queued before the consumer read the product beside the order name the order only.
    order = an_order(a_product(bucket), buyer_email="older@example.com")
    older = json.dumps({"order_id": order.id})

    assert run_worker(older, older)["batchItemFailures"] == []

    assert len(sent_emails("older@example.com")) == 1


def test_a_delivery_is_four_round_trips(bucket: str, aws_calls: AwsCalls) -> None:
    product = a_product(bucket)
    assert run_worker(message(an_order(product, buyer_email="warm@example.com")))["batchItemFailures"] == []
    order = an_order(product, buyer_id="buyer-trips", buyer_email="trips@example.com")
    mark = len(aws_calls.made)

    assert run_worker(message(order))["batchItemFailures"] == []

    # Order and product in one read; lease, unsent check, grant and library entry in one transaction.
    assert aws_calls.since(mark) == [
        "dynamodb.BatchGetItem",
        "dynamodb.TransactWriteItems",
        "sesv2.SendEmail",
        "dynamodb.UpdateItem",
    ]
    page = library.library(Caller(user_id="buyer-trips", role="customer"), limit=20, cursor=None)
    assert [item.order_id for item in page.items] == [order.id]
    [mail] = sent_emails("trips@example.com")
    assert download_status(LINK.findall(mail["text"])[0]) == 302


def test_an_email_recorded_after_the_read_is_not_sent_again(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    product = a_product(bucket)
    order = an_order(product, buyer_email="raced@example.com")
    stale = orders_repo.get_order(order.id)
    # Another consumer sends and records the email after this one read the order (its lease then ran out).
    assert orders_repo.mark_delivery_email_sent(order.id, clock.iso(clock.now()))
    monkeypatch.setattr(orders_repo, "get_order_and_product", lambda order_id, product_id: (stale, product))

    assert delivery.deliver_order(order.id, product.id) is delivery.DeliveryOutcome.ALREADY_SENT

    assert sent_emails("raced@example.com") == []
    # The transaction wrote nothing: no lease was taken, so a later copy is not held back either.
    claim = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=get_settings().table_name, Key={"PK": {"S": f"DELIVERY#{order.id}"}, "SK": {"S": "CLAIM"}}
    )
    assert "Item" not in claim
