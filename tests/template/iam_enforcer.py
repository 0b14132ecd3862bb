"""A pytest plugin that enforces template.yaml's IAM policies on in-process tests (moto does not).

``pytest -p tests.template.iam_enforcer tests/unit``: every AWS call made while a function's entry
module (``functions/<area>/<module>.py``) is on the stack is checked against that function's role,
as IAM would check it: the action, the resource (the table, an index, a queue, the bucket's key) and,
for DynamoDB, the partition keys (``dynamodb:LeadingKeys``; a transaction item by item, a batch as a
whole). A call the role does not allow fails as it would on AWS (``AccessDeniedException``), and is
listed at the end of the run (and in ``$IAM_ENFORCER_REPORT`` as JSON, with what was allowed).

Calls made outside an entry module (test set-up, seeders) are not attributed to a function, hence
not checked; a task a handler hands to a ``ThreadPoolExecutor`` (the reconcilers' concurrent checks)
is checked as that handler's function. Presigned URLs and POSTs are checked when they are
signed (``s3:GetObject`` / ``s3:PutObject`` on the key). SSM reads and SES's sender identity are not
checked here (the tests use environment keys and a local sender); test_template_policies.py covers them.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import botocore.client
import botocore.signers
import pytest
from botocore.exceptions import ClientError

from tests.template import iam

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
_PARTITION_KEYS = {None: "PK", "GSI1": "GSI1PK", "GSI2": "GSI2PK"}
_S3_ACTIONS = {"HeadObject": "s3:GetObject", "GetObject": "s3:GetObject", "DeleteObject": "s3:DeleteObject"}
_lock = threading.Lock()
denied: list[dict[str, Any]] = []
allowed_calls: set[tuple[str, str, str, str]] = set()  # (function, action, resource kind, key prefix)


@cache
def _entry_modules() -> dict[Path, str]:
    """``functions/<area>/<module>.py`` -> the logical id of the function whose handler it is."""
    out = {}
    for name, spec in iam.functions().items():
        props = spec["Properties"]
        module = str(props["Handler"]).split(".", 1)[0]
        out[(REPO_ROOT / props["CodeUri"] / f"{module}.py").resolve()] = name
    return out


_inherited = threading.local()


def current_function() -> str | None:
    frame = sys._getframe(1)
    modules = _entry_modules()
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(str(FUNCTIONS_DIR)):
            found = modules.get(Path(filename).resolve())
            if found:
                return found
        frame = frame.f_back  # type: ignore[assignment]
    # A worker thread a handler started (a reconciler's pool) acts for that handler's function.
    return getattr(_inherited, "function", None)


_original_submit = concurrent.futures.ThreadPoolExecutor.submit


def _submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    function = current_function()

    def as_function(*inner_args: Any, **inner_kwargs: Any) -> Any:
        previous = getattr(_inherited, "function", None)
        _inherited.function = function
        try:
            return fn(*inner_args, **inner_kwargs)
        finally:
            _inherited.function = previous

    return _original_submit(self, as_function, *args, **kwargs)


def _prefix(key: str) -> str:
    return key.split("#", 1)[0] + "#" if "#" in key else key


def _pk(item_or_key: dict[str, Any], attribute: str = "PK") -> str:
    value = item_or_key.get(attribute, {})
    return str(value.get("S", value)) if isinstance(value, dict) else str(value)


def _query_partition(params: dict[str, Any]) -> str:
    attribute = _PARTITION_KEYS[params.get("IndexName")]
    names: dict[str, str] = dict(params.get("ExpressionAttributeNames", {}))
    expression = params["KeyConditionExpression"]
    for placeholder, name in names.items():
        if name != attribute:
            continue
        match = re.search(re.escape(placeholder) + r"\s*=\s*(:\w+)", expression)
        if match:
            return _pk(params["ExpressionAttributeValues"], match.group(1))
    match = re.search(re.escape(attribute) + r"\s*=\s*(:\w+)", expression)
    if match:
        return _pk(params["ExpressionAttributeValues"], match.group(1))
    raise AssertionError(f"cannot find the partition key in {expression!r}")


def _table_resource(index: str | None = None) -> str:
    return iam.index_arn(index) if index else iam.table_arn()


def requests(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """What IAM authorizes for one API call: ``(action, resource ARN, leading keys)`` for each part."""
    if service == "dynamodb":
        if operation in ("GetItem", "DeleteItem", "UpdateItem"):
            return [(f"dynamodb:{operation}", _table_resource(), [_pk(params["Key"])])]
        if operation == "PutItem":
            return [("dynamodb:PutItem", _table_resource(), [_pk(params["Item"])])]
        if operation == "Query":
            index = params.get("IndexName")
            return [("dynamodb:Query", _table_resource(index), [_query_partition(params)])]
        if operation == "BatchGetItem":
            keys = [_pk(key) for entry in params["RequestItems"].values() for key in entry["Keys"]]
            return [("dynamodb:BatchGetItem", _table_resource(), keys)]
        if operation == "BatchWriteItem":
            keys = []
            for writes in params["RequestItems"].values():
                for write in writes:
                    if "PutRequest" in write:
                        keys.append(_pk(write["PutRequest"]["Item"]))
                    else:
                        keys.append(_pk(write["DeleteRequest"]["Key"]))
            return [("dynamodb:BatchWriteItem", _table_resource(), keys)]
        if operation == "TransactWriteItems":
            out = []
            kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}
            kinds["ConditionCheck"] = "ConditionCheckItem"
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                key = _pk(body["Item"]) if kind == "Put" else _pk(body["Key"])
                out.append((f"dynamodb:{kinds[kind]}", _table_resource(), [key]))
            return out
        if operation == "TransactGetItems":
            items = params["TransactItems"]
            return [("dynamodb:GetItem", _table_resource(), [_pk(item["Get"]["Key"])]) for item in items]
        return [(f"dynamodb:{operation}", _table_resource(), [])]
    if service == "sqs":
        queue = str(params.get("QueueUrl", "")).rsplit("/", 1)[-1].split("-", 1)[-1]
        return [(f"sqs:{operation}", iam.queue_arn(queue) if queue in iam.template()["Resources"] else queue, [])]
    if service == "s3":
        action = _S3_ACTIONS.get(operation, f"s3:{operation}")
        return [(action, f"{iam.bucket_arn()}/{params.get('Key', '')}", [])]
    if service == "sesv2" and operation == "SendEmail":
        sender = iam.local().parameters["EmailSender"]
        return [("ses:SendEmail", f"arn:aws:ses:{iam.REGION}:{iam.ACCOUNT}:identity/{sender}", [])]
    return []


def check(function: str, service: str, operation: str, params: dict[str, Any]) -> None:
    for action, resource, keys in requests(service, operation, params):
        kind = resource.rsplit("/", 1)[-1] if "/index/" in resource else service
        if iam.allowed(function, action, resource, keys):
            with _lock:
                for key in keys or [""]:
                    allowed_calls.add((function, action, kind, _prefix(key)))
            continue
        entry: dict[str, Any] = {"function": function, "call": f"{service}.{operation}", "action": action}
        entry.update(resource=resource, leading_keys=keys)
        with _lock:
            denied.append(entry)
        message = (
            f"{function}'s role in template.yaml does not allow {action} on {resource}"
            + (f" for keys {keys}" if keys else "")
            + ' (README, "Least privilege and limits"; tests/security/test_template_policies.py)'
        )
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, operation)


_original_make_api_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
_original_presign_url = botocore.signers.generate_presigned_url
_original_presign_post = botocore.signers.generate_presigned_post


def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    function = current_function()
    if function is not None:
        check(function, self.meta.service_model.service_name, operation_name, api_params)
    return _original_make_api_call(self, operation_name, api_params)


def _presigned_url(self: Any, ClientMethod: str, Params: Any = None, **kwargs: Any) -> Any:  # botocore's argument names
    function = current_function()
    if function is not None and self.meta.service_model.service_name == "s3":
        operation = self.meta.method_to_api_mapping.get(ClientMethod, ClientMethod)
        check(function, "s3", operation, dict(Params or {}))
    return _original_presign_url(self, ClientMethod, Params=Params, **kwargs)


def _presigned_post(self: Any, Bucket: str, Key: str, *args: Any, **kwargs: Any) -> Any:  # botocore's argument names
    function = current_function()
    if function is not None:
        check(function, "s3", "PutObject", {"Bucket": Bucket, "Key": Key})
    return _original_presign_post(self, Bucket, Key, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[attr-defined]
    concurrent.futures.ThreadPoolExecutor.submit = _submit  # type: ignore[method-assign]
    # Client classes take these when they are first created (after this plugin loads).
    botocore.signers.generate_presigned_url = _presigned_url  # type: ignore[assignment]
    botocore.signers.generate_presigned_post = _presigned_post


@pytest.fixture(autouse=True)
def _iam_denials_fail_the_test() -> Iterator[None]:
    before = len(denied)
    yield
    new = denied[before:]
    if new:
        pytest.fail("IAM would refuse: " + json.dumps(new, indent=1), pytrace=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """``$IAM_ENFORCER_REPORT`` (one file per xdist worker, ``.<worker>`` appended): what was checked."""
    report = os.environ.get("IAM_ENFORCER_REPORT")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if report and (worker or not getattr(session.config, "workerinput", None)):
        path = Path(f"{report}.{worker}" if worker else report)
        path.write_text(json.dumps({"denied": denied, "allowed": sorted(map(list, allowed_calls))}, indent=1))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") is None and not allowed_calls and not denied:
        return  # the controller of an xdist run: the workers checked (a denial fails its test there)
    functions = sorted({call[0] for call in allowed_calls})
    terminalreporter.write_line(
        f"iam_enforcer: {len(allowed_calls)} distinct allowed (function, action, prefix) calls in "
        f"{len(functions)} functions; {len(denied)} denied"
    )
