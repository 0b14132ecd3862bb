"""The emulator held to Paystack's own OpenAPI document: every API route, success and error answers, each body
validated against the response schema of its operation and status; webhook bodies against Paystack's
rendered event examples (the document has no webhook schemas)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.test import TestResponse

from localdev.paystack.api import PaystackApi
from localdev.paystack.http import route_table
from tests.localdev import paystack_openapi as spec
from tests.localdev.paystack_fixtures import (
    Emulator,
    a_transfer_reference,
    paystack_fixture,  # noqa: F401 (fixtures)
    receiver_fixture,  # noqa: F401 (fixtures)
)

BAD_KEY = {"Authorization": "Bearer sk_test_wrong"}
RECIPIENT = {"type": "nuban", "name": "Ada", "account_number": "0123456789", "bank_code": "058", "currency": "NGN"}


@dataclass(frozen=True)
class Case:
    """One call of one emulator API route (``route`` as the emulator declares it) and the status it must get."""

    name: str
    route: str
    status: int
    call: Callable[[Emulator], TestResponse]

    @property
    def method(self) -> tuple[str, ...]:
        """The method of ``route`` this case calls (``/refund`` is served for POST and GET)."""
        return ("GET",) if self.name.startswith("refund list") else _METHODS[self.route]


def refund_of(paystack: Emulator, *, process: bool = False) -> int:
    paystack.control("config", {"auto_process_refunds": False})
    refund_id = int(paystack.api("POST", "/refund", {"transaction": paystack.paid(10_000)}).get_json()["data"]["id"])
    if process:
        paystack.control(f"refunds/{refund_id}/process")
    return refund_id


def faulted(paystack: Emulator, operation: str, method: str, path: str, body: dict[str, Any]) -> TestResponse:
    paystack.control("faults", {"route": operation, "mode": "error", "count": 1})
    return paystack.api(method, path, body)


def declined(paystack: Emulator) -> str:
    reference = str(paystack.initialize()["reference"])
    paystack.control(f"transactions/{reference}/decline")
    return reference


def refunded_reference(paystack: Emulator, refund_id: int) -> str:
    return str(paystack.api("GET", f"/refund/{refund_id}").get_json()["data"]["transaction_reference"])


def recipient_twice(paystack: Emulator) -> TestResponse:
    paystack.api("POST", "/transferrecipient", RECIPIENT)
    return paystack.api("POST", "/transferrecipient", RECIPIENT)


def otp_initiated(paystack: Emulator) -> TestResponse:
    reference = a_transfer_reference()
    paystack.control(f"transfers/{reference}/require-otp")
    return paystack.transfer(reference)


def otp_transfer(paystack: Emulator) -> str:
    return str(otp_initiated(paystack).get_json()["data"]["transfer_code"])


def settled_transfer(paystack: Emulator, control: str | None) -> str:
    reference = a_transfer_reference()
    if control == "fail":
        paystack.control("config", {"transfer_outcome": "pending"})
    paystack.transfer(reference)
    if control:
        paystack.control(f"transfers/{reference}/{control}")
    return reference


_METHODS = {path: methods for path, methods, _ in route_table(PaystackApi) if path != "/refund" or "POST" in methods}
INIT = "/transaction/initialize"
VERIFY = "/transaction/verify/<reference>"
CASES = [
    Case("initialize", INIT, 200, lambda p: p.api("POST", INIT, {"email": "a@b.co", "amount": 100})),
    Case(
        "initialize duplicate",
        INIT,
        400,
        lambda p: p.api("POST", INIT, {"email": "a@b.co", "amount": 1, "reference": p.initialize()["reference"]}),
    ),
    Case("initialize invalid", INIT, 400, lambda p: p.api("POST", INIT, {"email": "a@b.co", "amount": 1.5})),
    Case("initialize bad key", INIT, 401, lambda p: p.api("POST", INIT, {}, headers=BAD_KEY)),
    Case("initialize fault", INIT, 500, lambda p: faulted(p, "initialize", "POST", INIT, {"email": "a@b.co"})),
    Case("verify unpaid", VERIFY, 200, lambda p: p.api("GET", f"/transaction/verify/{p.initialize()['reference']}")),
    Case("verify paid", VERIFY, 200, lambda p: p.api("GET", f"/transaction/verify/{p.paid()}")),
    Case("verify declined", VERIFY, 200, lambda p: p.api("GET", f"/transaction/verify/{declined(p)}")),
    Case(
        "verify reversed",
        VERIFY,
        200,
        lambda p: p.api("GET", f"/transaction/verify/{refunded_reference(p, refund_of(p, process=True))}"),
    ),
    Case("verify unknown", VERIFY, 404, lambda p: p.api("GET", "/transaction/verify/nope")),
    Case("verify bad key", VERIFY, 401, lambda p: p.api("GET", "/transaction/verify/nope", headers=BAD_KEY)),
    Case("verify empty", "/transaction/verify/", 400, lambda p: p.api("GET", "/transaction/verify/")),
    Case("refund", "/refund", 200, lambda p: p.api("POST", "/refund", {"transaction": p.paid()})),
    Case(
        "refund unpaid",
        "/refund",
        400,
        lambda p: p.api("POST", "/refund", {"transaction": p.initialize()["reference"]}),
    ),
    Case("refund unknown", "/refund", 404, lambda p: p.api("POST", "/refund", {"transaction": "nope"})),
    Case(
        "refund list",
        "/refund",
        200,
        lambda p: p.api("GET", "/refund", query_string={"transaction": refunded_reference(p, refund_of(p))}),
    ),
    Case("refund list empty", "/refund", 200, lambda p: p.api("GET", "/refund", query_string={"transaction": "nope"})),
    Case("refund list bad key", "/refund", 401, lambda p: p.api("GET", "/refund", headers=BAD_KEY)),
    Case("refund fetch pending", "/refund/<refund_id>", 200, lambda p: p.api("GET", f"/refund/{refund_of(p)}")),
    Case(
        "refund fetch processed",
        "/refund/<refund_id>",
        200,
        lambda p: p.api("GET", f"/refund/{refund_of(p, process=True)}"),
    ),
    Case("refund fetch unknown", "/refund/<refund_id>", 404, lambda p: p.api("GET", "/refund/1")),
    Case("banks", "/bank", 200, lambda p: p.api("GET", "/bank", query_string={"currency": "NGN"})),
    Case("banks paged", "/bank", 200, lambda p: p.api("GET", "/bank", query_string={"perPage": "2", "next": "2"})),
    Case("banks bad key", "/bank", 401, lambda p: p.api("GET", "/bank", headers=BAD_KEY)),
    Case(
        "resolve",
        "/bank/resolve",
        200,
        lambda p: p.api("GET", "/bank/resolve", query_string={"account_number": "0123456789", "bank_code": "058"}),
    ),
    Case(
        "resolve unresolvable",
        "/bank/resolve",
        422,
        lambda p: p.api("GET", "/bank/resolve", query_string={"account_number": "0000000000", "bank_code": "058"}),
    ),
    Case("resolve missing", "/bank/resolve", 400, lambda p: p.api("GET", "/bank/resolve")),
    Case("recipient", "/transferrecipient", 201, lambda p: p.api("POST", "/transferrecipient", RECIPIENT)),
    Case("recipient again", "/transferrecipient", 200, recipient_twice),
    Case(
        "recipient invalid",
        "/transferrecipient",
        400,
        lambda p: p.api("POST", "/transferrecipient", {**RECIPIENT, "bank_code": "999"}),
    ),
    Case("transfer", "/transfer", 200, lambda p: p.transfer(a_transfer_reference())),
    Case("transfer otp", "/transfer", 200, otp_initiated),
    Case(
        "transfer unknown recipient",
        "/transfer",
        400,
        lambda p: p.api("POST", "/transfer", {"source": "balance", "amount": 100, "recipient": "RCP_nope"}),
    ),
    Case(
        "finalize",
        "/transfer/finalize_transfer",
        200,
        lambda p: p.api("POST", "/transfer/finalize_transfer", {"transfer_code": otp_transfer(p), "otp": "123456"}),
    ),
    Case(
        "finalize wrong otp",
        "/transfer/finalize_transfer",
        400,
        lambda p: p.api("POST", "/transfer/finalize_transfer", {"transfer_code": otp_transfer(p), "otp": "1"}),
    ),
    *(
        Case(
            f"transfer verify {control or 'success'}",
            "/transfer/verify/<reference>",
            200,
            lambda p, control=control: p.api("GET", f"/transfer/verify/{settled_transfer(p, control)}"),
        )
        for control in (None, "fail", "reverse")
    ),
    Case("transfer verify unknown", "/transfer/verify/<reference>", 404, lambda p: p.api("GET", "/transfer/verify/x")),
]


def request_path(response: TestResponse) -> tuple[str, str]:
    return response.request.method, response.request.path


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_answer_matches_paystacks_document(paystack: Emulator, case: Case) -> None:
    response = case.call(paystack)

    assert response.status_code == case.status, response.get_json()
    method, path = request_path(response)
    operation_id, documented, schema = spec.response_schema(method, path or "/", response.status_code)
    assert spec.violations(response.get_json(), schema) == [], (operation_id, documented)


def test_every_api_route_is_driven_to_a_success_and_an_error() -> None:
    served = {(path, methods) for path, methods, _ in route_table(PaystackApi)}
    succeeded = {(case.route, case.method) for case in CASES if case.status < 300}
    failed = {(case.route, case.method) for case in CASES if case.status >= 400}

    assert served - succeeded <= {("/transaction/verify/", ("GET",))}  # an empty reference has only an error
    assert served == failed


# --- webhooks: Paystack's rendered event examples --------------------------------------------------------

ANY = object()
NULLABLE_STR = (str, type(None))
# Key -> JSON type of src/doc/payments/webhooks/events/transfer-successful.json (PaystackOSS/doc-code-snippets);
# where the example has null the field may be null or a value.
TRANSFER_EVENT: dict[str, Any] = {
    "amount": int,
    "createdAt": str,
    "currency": str,
    "domain": str,
    "failures": NULLABLE_STR,
    "id": int,
    "integration": {"id": int, "is_live": bool, "business_name": str, "logo_path": NULLABLE_STR},
    "reason": str,
    "reference": str,
    "source": str,
    "source_details": ANY,
    "status": str,
    "titan_code": ANY,
    "transfer_code": str,
    "transferred_at": NULLABLE_STR,
    "updatedAt": str,
    "recipient": {
        **{"active": bool, "createdAt": str, "currency": str, "description": NULLABLE_STR, "domain": str},
        **{"email": NULLABLE_STR, "id": int, "integration": int, "metadata": (dict, type(None)), "name": str},
        **{"recipient_code": str, "type": str, "updatedAt": str, "is_deleted": bool},
        "details": {
            **{"authorization_code": NULLABLE_STR, "account_number": str, "account_name": NULLABLE_STR},
            **{"bank_code": str, "bank_name": str},
        },
    },
    "session": {"provider": ANY, "id": ANY},
    "fee_charged": int,
    "gateway_response": NULLABLE_STR,
}
# src/doc/payments/refunds/events (refund.pending|processing|processed|failed; amount a string in some).
REFUND_EVENT: dict[str, Any] = {
    **{"status": str, "transaction_reference": str, "refund_reference": NULLABLE_STR, "amount": (int, str)},
    **{"currency": str, "processor": str, "integration": int, "domain": str},
    "customer": {"first_name": NULLABLE_STR, "last_name": NULLABLE_STR, "email": str},
}
REFUND_NEEDS_ATTENTION_EVENT: dict[str, Any] = {
    **{key: value for key, value in REFUND_EVENT.items() if key != "processor"},
    **{"id": str, "customer_note": str, "merchant_note": str},
}


def unlike(example: dict[str, Any], actual: Any, where: str = "data") -> list[str]:
    """Where ``actual`` lacks a key of the example or holds another JSON type there."""
    if not isinstance(actual, dict):
        return [f"{where}: not an object"]
    problems = []
    for key, expected in example.items():
        if key not in actual:
            problems.append(f"{where}.{key}: missing")
        elif isinstance(expected, dict):
            problems.extend(unlike(expected, actual[key], f"{where}.{key}"))
        elif expected is not ANY and not _json_type_is(actual[key], expected):
            problems.append(f"{where}.{key}: {type(actual[key]).__name__} where the example has {expected}")
    return problems


def _json_type_is(value: Any, expected: type | tuple[type, ...]) -> bool:
    types = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool):  # a JSON boolean is no number, though Python's bool is an int
        return bool in types
    return isinstance(value, types)


def event_bodies(paystack: Emulator, reference: str) -> list[dict[str, Any]]:
    """The webhooks queued for ``reference`` (logged as they are queued), oldest first."""
    return [json.loads(item["body"]) for item in paystack.deliveries(reference=reference)]


def test_charge_success_carries_the_verify_object_as_the_document_describes_it(paystack: Emulator) -> None:
    reference = paystack.paid()

    [event] = event_bodies(paystack, reference)

    _, _, schema = spec.response_schema("GET", f"/transaction/verify/{reference}", 200)
    assert event["event"] == "charge.success"
    assert spec.violations(event["data"], schema["properties"]["data"]) == []


@pytest.mark.parametrize("control", [None, "fail", "reverse"])
def test_transfer_events_have_the_fields_of_paystacks_example(paystack: Emulator, control: str | None) -> None:
    reference = settled_transfer(paystack, control)

    events = event_bodies(paystack, reference)

    expected = {
        None: ["transfer.success"],
        "fail": ["transfer.failed"],
        "reverse": ["transfer.success", "transfer.reversed"],
    }
    assert [event["event"] for event in events] == expected[control]
    for event in events:
        assert unlike(TRANSFER_EVENT, event["data"]) == []
        assert event["data"]["status"] == event["event"].removeprefix("transfer.")


@pytest.mark.parametrize("amount_as_string", [False, True])
def test_refund_events_have_the_fields_of_paystacks_examples(paystack: Emulator, amount_as_string: bool) -> None:
    paystack.control("config", {"refund_webhook_amount_as_string": amount_as_string})
    reference = refunded_reference(paystack, refund_of(paystack, process=True))

    events = [event for event in event_bodies(paystack, reference) if event["event"].startswith("refund.")]

    assert [event["event"] for event in events] == ["refund.pending", "refund.processed"]
    for event in events:
        assert unlike(REFUND_EVENT, event["data"]) == []
        assert event["data"]["status"] == event["event"].removeprefix("refund.")
        assert isinstance(event["data"]["amount"], str) is amount_as_string


def test_the_needs_attention_event_has_the_fields_of_paystacks_example(paystack: Emulator) -> None:
    refund_id = refund_of(paystack)
    paystack.control(f"refunds/{refund_id}/needs-attention")

    [event] = [e for e in event_bodies(paystack, refunded_reference(paystack, refund_id)) if "attention" in e["event"]]

    assert unlike(REFUND_NEEDS_ATTENTION_EVENT, event["data"]) == []
    assert "processor" not in event["data"]
