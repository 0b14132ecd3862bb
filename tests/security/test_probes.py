"""The probes of the hardening issue, each answered with a 4xx problem+json (never a 500).

Functions run in-process against moto built from ``template.yaml`` (``aws_resources``), with the
template's IAM enforced (``-p tests.template.iam_enforcer``). Each test failed before its fix.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest

from market.auth.tokens import issue_access_token
from market.gateways.paystack_webhook import sign
from tests.fixtures.aws import AwsResources
from tests.fixtures.events import header, http_event, json_body, lambda_context, load_function
from tests.fixtures.payments import drain

pytestmark = pytest.mark.usefixtures("fast_argon2")

PROBLEM_JSON = "application/problem+json"
LONE_SURROGATE = "\\ud800"  # as it appears in JSON text: a valid JSON escape, not encodable as UTF-8


def call(function: str, event: dict[str, Any], name: str = "Function") -> tuple[int, Any, dict[str, Any]]:
    response = load_function(function).lambda_handler(event, lambda_context(name))
    return response["statusCode"], json_body(response), response


def assert_problem(status: int, body: Any, response: dict[str, Any], expected: int) -> None:
    assert status == expected, body
    assert header(response, "content-type") == PROBLEM_JSON
    assert body["status"] == expected
    assert {"type", "title", "status", "detail"} <= set(body)


def fields(body: Any) -> list[str]:
    return [entry["field"] for entry in body["errors"]]


# ---------------------------------------------------------------- register: not JSON


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/octet-stream", "application/x-www-form-urlencoded"]
)
def test_register_with_a_body_that_is_not_json_is_415(aws_resources: AwsResources, content_type: str) -> None:
    event = http_event("POST", "/auth/register", body="email=a@b.co&password=x", headers={"content-type": content_type})

    status, body, response = call("functions/auth/app.py", event, "AuthFunction")

    assert_problem(status, body, response, 415)


def test_register_with_a_binary_body_is_415(aws_resources: AwsResources) -> None:
    event = http_event("POST", "/auth/register", body=base64.b64encode(b"\xff\xfe\x00\x01MZ\x90").decode())
    event["isBase64Encoded"] = True
    event["headers"]["content-type"] = "application/octet-stream"

    status, body, response = call("functions/auth/app.py", event, "AuthFunction")

    assert_problem(status, body, response, 415)


def test_register_with_binary_bytes_labelled_json_is_422(aws_resources: AwsResources) -> None:
    event = http_event("POST", "/auth/register", body=base64.b64encode(b"\xff\xfe{}").decode())
    event["isBase64Encoded"] = True

    status, body, response = call("functions/auth/app.py", event, "AuthFunction")

    assert_problem(status, body, response, 422)
    assert fields(body) == ["body"]


# ---------------------------------------------------------------- lone surrogates


@pytest.mark.parametrize(
    ("path", "raw", "bad"),
    [
        (
            "/auth/register",
            '{"email":"a@b.co","password":"aaaaaaaaaaaa' + LONE_SURROGATE + '","role":"customer"}',
            ["password"],
        ),
        ("/auth/login", '{"email":"a@b.co","password":"' + LONE_SURROGATE + '"}', ["password"]),
        ("/auth/refresh", '{"refresh_token":"' + LONE_SURROGATE + '"}', ["refresh_token"]),
        (
            "/auth/register",
            '{"email":"a' + LONE_SURROGATE + '@b.co","password":"short","role":"customer"}',
            ["password", "email"],
        ),
    ],
)
def test_a_lone_surrogate_is_a_422_naming_the_field(
    aws_resources: AwsResources, path: str, raw: str, bad: list[str]
) -> None:
    status, body, response = call("functions/auth/app.py", http_event("POST", path, body=raw), "AuthFunction")

    assert_problem(status, body, response, 422)
    assert sorted(fields(body)) == sorted(bad)


# ---------------------------------------------------------------- webhooks


def test_a_signed_refund_webhook_whose_transaction_is_a_number_is_acknowledged_not_a_500(
    aws_resources: AwsResources,
) -> None:
    module = load_function("functions/webhook/receiver.py")
    module.receiver_settings.cache_clear()
    module.sqs_client.cache_clear()
    for data in ({"id": 77, "transaction": 123456}, {"id": 77, "transaction": 12, "transaction_reference": None}):
        raw = json.dumps({"event": "refund.processed", "data": data}).encode()
        event = http_event(
            "POST",
            "/webhooks/paystack",
            body=raw.decode(),
            headers={"x-paystack-signature": sign(raw, "sk_test_local")},
        )

        status, body, _ = call("functions/webhook/receiver.py", event, "WebhookFunction")

        assert (status, body) == (200, {"received": True})
    raw = ('{"event":"charge.success","data":{"reference":"' + LONE_SURROGATE + '"}}').encode()
    event = http_event(
        "POST", "/webhooks/paystack", body=raw.decode(), headers={"x-paystack-signature": sign(raw, "sk_test_local")}
    )
    status, body, _ = call("functions/webhook/receiver.py", event, "WebhookFunction")
    assert (status, body) == (200, {"received": True})
    assert drain(aws_resources.queue_urls["PaymentsQueue"]) == []  # nothing a consumer could not key on
    module.receiver_settings.cache_clear()
    module.sqs_client.cache_clear()


# ---------------------------------------------------------------- every bad field, once


def creator_headers() -> dict[str, str]:
    return {"authorization": f"Bearer {issue_access_token('usr_probe_creator', 'creator')[0]}"}


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ({"title": "ok", "price": -5, "currency": "XXX"}, ["currency", "price"]),
        ({"title": "ok", "price": "ten", "currency": "XXX"}, ["currency", "price"]),
        ({"title": "", "price": 5, "currency": "NGN"}, ["price", "title"]),
        (
            {"title": "", "description": 7, "price": 1.5, "currency": "ngn", "extra": 1},
            [
                "currency",
                "description",
                "extra",
                "price",
                "title",
            ],
        ),
    ],
)
def test_a_product_422_names_every_bad_field_once(
    aws_resources: AwsResources, body: dict[str, Any], bad: list[str]
) -> None:
    event = http_event("POST", "/products", body=body, headers=creator_headers())

    status, problem, response = call("functions/upload/app.py", event, "UploadFunction")

    assert_problem(status, problem, response, 422)
    assert sorted(fields(problem)) == bad


# ---------------------------------------------------------------- headers on every answer


@pytest.mark.parametrize(
    ("function", "method", "path", "authorized"),
    [
        ("functions/auth/app.py", "GET", "/health", False),
        ("functions/auth/app.py", "GET", "/nowhere", False),
        ("functions/auth/app.py", "GET", "/me", True),
        ("functions/upload/app.py", "GET", "/products", False),
        ("functions/upload/app.py", "GET", "/creator/products", True),
        ("functions/upload/app.py", "POST", "/products", True),
        ("functions/checkout/app.py", "GET", "/orders", True),
        ("functions/delivery/app.py", "GET", "/library", True),
        ("functions/wallet/app.py", "GET", "/wallet", True),
    ],
)
def test_every_answer_is_nosniff_and_authenticated_ones_are_no_store(
    aws_resources: AwsResources, function: str, method: str, path: str, authorized: bool
) -> None:
    headers = creator_headers() if authorized else {}
    body = {} if method == "POST" else None

    _, _, response = call(function, http_event(method, path, body=body, headers=headers))

    assert header(response, "x-content-type-options") == "nosniff"
    if authorized:
        assert header(response, "cache-control") == "no-store"


def test_the_webhook_receiver_answers_nosniff(aws_resources: AwsResources) -> None:
    module = load_function("functions/webhook/receiver.py")
    module.receiver_settings.cache_clear()
    event = http_event("POST", "/webhooks/paystack", body="{}", headers={"x-paystack-signature": "bad"})

    status, _, response = call("functions/webhook/receiver.py", event, "WebhookFunction")

    assert status == 401
    assert header(response, "x-content-type-options") == "nosniff"
    module.receiver_settings.cache_clear()


# ---------------------------------------------------------------- uploads


def a_product(creator: str) -> str:
    event = http_event(
        "POST",
        "/products",
        body={"title": "Probe", "price": 10000, "currency": "NGN"},
        headers={"authorization": f"Bearer {issue_access_token(creator, 'creator')[0]}"},
    )
    status, product, _ = call("functions/upload/app.py", event, "UploadFunction")
    assert status == 201, product
    return str(product["id"])


def ticket(creator: str, product_id: str, filename: str, content_type: str = "application/pdf") -> tuple[int, Any]:
    event = http_event(
        "POST",
        f"/products/{product_id}/upload",
        body={"filename": filename, "content_type": content_type, "size_bytes": 1000},
        headers={"authorization": f"Bearer {issue_access_token(creator, 'creator')[0]}"},
    )
    status, body, _ = call("functions/upload/app.py", event, "UploadFunction")
    return status, body


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("setup.exe", "application/pdf"),
        ("Guide\u202efdp.exe", "application/pdf"),
        ("book", "application/pdf"),
        ("cover.pdf", "image/png"),
        ("notes.pdf.zip", "application/pdf"),
    ],
)
def test_a_file_name_whose_extension_is_not_its_types_is_422(
    aws_resources: AwsResources, filename: str, content_type: str
) -> None:
    product_id = a_product("usr_probe_up")

    status, body = ticket("usr_probe_up", product_id, filename, content_type)

    assert status == 422, body
    assert fields(body) == ["filename"]


def test_bidi_controls_are_stripped_from_the_kept_file_name(aws_resources: AwsResources) -> None:
    from market.repositories import products

    product_id = a_product("usr_probe_bidi")

    status, body = ticket("usr_probe_bidi", product_id, "\u2067Guide\u202e\u200b.pdf")

    assert status == 200, body
    upload = products.get_upload(body["key"])
    assert upload is not None
    assert upload.filename == "Guide.pdf"


def test_an_executable_with_pdf_at_offset_60_is_refused_on_arrival(aws_resources: AwsResources) -> None:
    from market.services.uploads import Outcome, check_uploaded_object

    product_id = a_product("usr_probe_mz")
    status, body = ticket("usr_probe_mz", product_id, "guide.pdf")
    assert status == 200, body
    polyglot = (b"MZ\x90\x00" + b"\x00" * 56 + b"%PDF-1.7\n").ljust(1000, b"\x00")
    boto3.client("s3").put_object(
        Bucket=aws_resources.bucket_name, Key=body["key"], Body=polyglot, ContentType="application/pdf"
    )

    outcome = check_uploaded_object(aws_resources.bucket_name, body["key"])

    assert outcome == Outcome.REJECTED


# ---------------------------------------------------------------- found by the fuzzer


def test_a_blank_display_name_is_no_name_not_a_500(aws_resources: AwsResources) -> None:
    missing_role = {"display_name": "", "email": "fuzz@example.com", "password": "a-long-enough-password"}
    status, body, response = call("functions/auth/app.py", http_event("POST", "/auth/register", body=missing_role))
    assert_problem(status, body, response, 422)
    assert fields(body) == ["role"]

    status, user, _ = call(
        "functions/auth/app.py", http_event("POST", "/auth/register", body={**missing_role, "role": "customer"})
    )
    assert status == 201, user
    assert user["display_name"] is None


def test_a_query_date_must_be_written_as_a_date(aws_resources: AwsResources) -> None:
    # pydantic's lax date read "0" as the timestamp 0 (1970-01-01) and answered 200.
    event = http_event("GET", "/creator/dashboard", headers=creator_headers(), query={"to": "0"})

    status, body, response = call("functions/wallet/app.py", event, "WalletFunction")

    assert_problem(status, body, response, 422)
    assert fields(body) == ["to"]


@pytest.mark.parametrize("raw", ["[null, null]", "7", '"text"', "true"])
def test_a_body_that_is_not_an_object_is_422_even_where_the_body_is_optional(
    aws_resources: AwsResources, raw: str
) -> None:
    # POST /orders/{id}/refund takes an optional body: `[null, null]` used to be read as no body (a full refund).
    event = http_event("POST", "/orders/ord_missing/refund", body=raw, headers=creator_headers())

    status, body, response = call("functions/wallet/app.py", event, "WalletFunction")

    assert_problem(status, body, response, 422)
    assert fields(body) == ["body"]


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        ({"amount": -5, "currency": "AAA"}, ["amount", "currency"]),
        ({"amount": "ten", "currency": "XXX"}, ["amount", "currency"]),
        ({"amount": 1, "currency": "NGN"}, ["amount"]),  # under the smallest payout
        ({"amount": 500_000, "currency": "AAA", "note": "x"}, ["currency", "note"]),
    ],
)
def test_a_payout_422_names_every_bad_field_once(
    aws_resources: AwsResources, body: dict[str, Any], bad: list[str]
) -> None:
    event = http_event("POST", "/wallet/payouts", body=body, headers=creator_headers())

    status, problem, response = call("functions/wallet/app.py", event, "WalletFunction")

    assert_problem(status, problem, response, 422)
    assert sorted(fields(problem)) == bad
