"""Paystack's published OpenAPI 3.0.1 document as a validator of the emulator's answers and webhooks.

The document is ``../shared/reference/paystack-openapi.yaml`` beside the repository (CI lays ``shared/``
beside the clone); from a git worktree the nearest ancestor holding ``shared/reference`` is used.
``$ref``s are resolved; OpenAPI 3.0 ``nullable`` is honoured by ``OAS30Validator``.

Where Paystack's own rendered examples contradict the document, the emulator follows the examples and the
difference is listed in ``DEVIATIONS`` (each one also in ``localdev/paystack/README.md``); nothing else is
relaxed.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = Path("shared") / "reference" / "paystack-openapi.yaml"

# (operationId, status, path inside the response body): the document says a non-null value; Paystack's
# rendered examples (PaystackOSS/doc-code-snippets) answer null there, and so does the emulator.
DEVIATIONS: dict[tuple[str, str, str], str] = {
    ("transaction_verify", "200", "data.ip_address"): (
        "null before a payment: src/api/transactions/list/response.json shows ip_address null for unpaid ones"
    ),
    ("transferrecipient_create", "201", "data.email"): (
        "null when created without an email: transfer-recipient-mpesa/index.json and the transfer.success event"
    ),
    ("transfer_verify", "200", "data.recipient.email"): "the recipient as transferrecipient_create answers it",
    **{
        ("refund_fetch", "200", f"data.customer.{name}"): (
            "the transaction's customer, as verify shows it (nullable there); refund.needs-attention has null names"
        )
        for name in ("first_name", "last_name", "phone", "metadata", "international_format_phone")
    },
    **{
        ("refund_list", "200", f"data[].customer.{name}"): "as refund_fetch"
        for name in ("first_name", "last_name", "metadata", "international_format_phone")
    },
}


def document_path() -> Path:
    for base in REPO_ROOT.parents:
        candidate = base / DOCUMENT
        if candidate.is_file():
            return candidate
    raise AssertionError(f"Paystack's OpenAPI document was not found at {REPO_ROOT.parent / DOCUMENT}")


@cache
def document() -> dict[str, Any]:
    with document_path().open(encoding="utf-8") as handle:
        return dict(yaml.load(handle, Loader=yaml.CSafeLoader))


def resolve(node: Any, seen: tuple[str, ...] = ()) -> Any:
    """``node`` with every local ``$ref`` replaced by what it names."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                raise AssertionError(f"recursive $ref {ref}")
            target: Any = document()
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            return resolve(target, (*seen, ref))
        return {key: resolve(value, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, seen) for item in node]
    return node


def operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The documented operation (its id and its resolved responses) that serves ``method path``."""
    for template, item in document()["paths"].items():
        # A path parameter may be empty: GET /transaction/verify/ is a verify call with an empty reference.
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]*", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            spec = item[method.lower()]
            return str(spec["operationId"]), resolve(spec["responses"])
    raise AssertionError(f"{method} {path} is not in Paystack's document")


def error_model() -> dict[str, Any]:
    """For an error status the operation does not document: the document's error model whose ``type`` enum and
    free-text ``code`` match Paystack's errors (``Error`` has that enum on ``code`` by a slip), and the
    two fields §1 of PAYSTACK.md says every error has."""
    model = dict(resolve({"$ref": "#/components/schemas/TransactionInitializeBadRequestModel"}))
    model["required"] = ["status", "message"]
    model["properties"] = {**model["properties"], "status": {"type": "boolean", "enum": [False]}}
    return model


def response_schema(method: str, path: str, status: int) -> tuple[str, str, dict[str, Any]]:
    """(operationId, the documented status used, the schema) for an answer of ``status``.

    An undocumented 2xx is held to the operation's documented 2xx schema (e.g. ``POST /transferrecipient``
    answers 200 with the existing recipient, documented as 201); an undocumented error to ``error_model``.
    """
    operation_id, responses = operation(method, path)
    documented = str(status)
    if documented not in responses or "content" not in responses[documented]:
        successes = [code for code in responses if code.startswith("2")]
        documented = successes[0] if 200 <= status < 300 and successes else "error"
    if documented == "error":
        return operation_id, documented, error_model()
    schema = responses[documented]["content"]["application/json"]["schema"]
    for (op, code, where), _reason in DEVIATIONS.items():
        if (op, code) == (operation_id, documented):
            _allow_null(schema, where)
    return operation_id, documented, schema


def _allow_null(schema: dict[str, Any], where: str) -> None:
    node = schema
    for part in where.split("."):
        name, is_array = part.removesuffix("[]"), part.endswith("[]")
        node = node["properties"][name]
        if is_array:
            node = node["items"]
    node["nullable"] = True


def violations(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Every way ``instance`` breaks ``schema``, as ``path: message`` lines (empty when it conforms)."""
    validator = OAS30Validator(schema)
    return sorted(
        f"{'.'.join(str(part) for part in error.absolute_path) or '<body>'}: {error.message}"
        for error in validator.iter_errors(instance)
    )
