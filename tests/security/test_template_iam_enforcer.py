"""The IAM enforcer (tests/template/iam_enforcer.py) maps AWS calls to what IAM checks, and refuses what
template.yaml does not allow. ``make test`` runs the in-process suites with it, so a handler that starts
calling something its role lacks fails there, as it would on AWS (moto itself enforces nothing)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.template import iam, iam_enforcer


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def test_a_transaction_is_checked_item_by_item() -> None:
    params = {
        "TransactItems": [
            {"Put": {"TableName": "unit-Table", "Item": {"PK": _s("USER#u1"), "SK": _s("PROFILE")}}},
            {"Update": {"TableName": "unit-Table", "Key": {"PK": _s("WALLET#u1"), "SK": _s("BALANCE#NGN")}}},
            {"ConditionCheck": {"TableName": "unit-Table", "Key": {"PK": _s("ORDER#o1"), "SK": _s("ORDER")}}},
        ]
    }
    assert iam_enforcer.requests("dynamodb", "TransactWriteItems", params) == [
        ("dynamodb:PutItem", iam.table_arn(), ["USER#u1"]),
        ("dynamodb:UpdateItem", iam.table_arn(), ["WALLET#u1"]),
        ("dynamodb:ConditionCheckItem", iam.table_arn(), ["ORDER#o1"]),
    ]
    with pytest.raises(ClientError, match="AccessDenied"):
        iam_enforcer.check("AuthFunction", "dynamodb", "TransactWriteItems", params)
    iam_enforcer.denied.clear()


def test_index_queries_are_checked_on_the_index_with_its_partition_key() -> None:
    params = {
        "TableName": "unit-Table",
        "IndexName": "GSI1",
        "KeyConditionExpression": "#0 = :0",
        "ExpressionAttributeNames": {"#0": "GSI1PK"},
        "ExpressionAttributeValues": {":0": _s("BUYER#u1")},
    }
    expected = [("dynamodb:Query", iam.index_arn("GSI1"), ["BUYER#u1"])]
    assert iam_enforcer.requests("dynamodb", "Query", params) == expected
    iam_enforcer.check("CheckoutFunction", "dynamodb", "Query", params)
    with pytest.raises(ClientError, match="AccessDenied"):
        iam_enforcer.check("WalletFunction", "dynamodb", "Query", params)  # GSI1, but not buyers' partitions
    iam_enforcer.denied.clear()


def test_batches_need_every_key_allowed() -> None:
    params = {"RequestItems": {"unit-Table": {"Keys": [{"PK": _s("ORDER#o1")}, {"PK": _s("ORDER#o2")}]}}}
    iam_enforcer.check("DeliveryFunction", "dynamodb", "BatchGetItem", params)
    params["RequestItems"]["unit-Table"]["Keys"].append({"PK": _s("WALLET#c1")})
    with pytest.raises(ClientError, match="AccessDenied"):
        iam_enforcer.check("DeliveryFunction", "dynamodb", "BatchGetItem", params)
    iam_enforcer.denied.clear()


def test_a_scan_is_never_allowed() -> None:
    for function in iam.functions():
        with pytest.raises(ClientError, match="AccessDenied"):
            iam_enforcer.check(function, "dynamodb", "Scan", {"TableName": "unit-Table"})
    iam_enforcer.denied.clear()


def test_queues_and_files() -> None:
    delivery_queue = {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/unit-DeliveryQueue"}
    iam_enforcer.check("PaymentsFunction", "sqs", "SendMessage", delivery_queue)
    with pytest.raises(ClientError, match="AccessDenied"):
        iam_enforcer.check("WebhookFunction", "sqs", "SendMessage", delivery_queue)  # it may enqueue payments only
    iam_enforcer.check("UploadEventsFunction", "s3", "HeadObject", {"Bucket": "b", "Key": "products/p1/abc"})
    with pytest.raises(ClientError, match="AccessDenied"):
        iam_enforcer.check("DeliveryFunction", "s3", "DeleteObject", {"Bucket": "b", "Key": "products/p1/abc"})
    with pytest.raises(ClientError, match="AccessDenied"):
        iam_enforcer.check("UploadEventsFunction", "s3", "GetObject", {"Bucket": "b", "Key": "elsewhere/x"})
    iam_enforcer.denied.clear()


def test_calls_are_attributed_to_the_function_whose_entry_module_is_running() -> None:
    assert iam_enforcer.current_function() is None  # a test itself is no function
    modules = iam_enforcer._entry_modules()
    assert sorted(modules.values()) == sorted(iam.functions())
    assert {path.name for path in modules} >= {"app.py", "uploaded.py", "worker.py", "receiver.py", "release.py"}
