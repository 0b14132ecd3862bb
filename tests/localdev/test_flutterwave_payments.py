"""The Flutterwave emulator: basics, hosted payments, the hosted page, verify, the buyer's attempts."""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import Client

from tests.localdev.flutterwave_support import (
    AUTH,
    FLW_TIME,
    NOT_FOUND,
    PUBLIC_URL,
    SECRET_KEY,
    Emulator,
    a_tx_ref,
    error,
)

# --- basics ----------------------------------------------------------------------------


def test_health_answers_ok(flw: Emulator) -> None:
    assert flw.client.get("/health").get_json() == {"status": "ok"}


API_CALLS = [
    ("POST", "/v3/payments"),
    ("GET", "/v3/transactions/1/verify"),
    ("GET", "/v3/transactions/verify_by_reference?tx_ref=x"),
    ("POST", "/v3/transactions/1/resend-hook"),
    ("POST", "/v3/transactions/1/refund"),
    ("GET", "/v3/refunds"),
    ("GET", "/v3/refunds/1"),
    ("GET", "/v3/banks/NG"),
    ("POST", "/v3/accounts/resolve"),
    ("POST", "/v3/transfers"),
    ("GET", "/v3/transfers"),
    ("GET", "/v3/transfers/1"),
]


@pytest.mark.parametrize(("method", "path"), API_CALLS)
@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": SECRET_KEY}, {"Authorization": "Bearer FLWSECK_TEST-wrong"}, {"X": "y"}]
)
def test_every_api_route_requires_the_secret_key(
    flw: Emulator, method: str, path: str, headers: dict[str, str]
) -> None:
    response = flw.client.open(path, method=method, json={}, headers=headers)

    assert error(response) == (401, "Invalid authorization key")


def test_unknown_routes_and_methods_answer_flutterwaves_error_envelope(flw: Emulator) -> None:
    assert error(flw.api("GET", "/v3/nothing/here")) == (404, "Not found")
    assert error(flw.api("DELETE", "/v3/payments")) == (405, "Method not allowed")


@pytest.mark.parametrize("path", ["//v3/transactions/{id}/verify", "/v3//transactions/{id}//verify"])
def test_a_double_slash_is_routed_as_the_single_one(flw: Emulator, path: str) -> None:
    txn = flw.paid()

    response = flw.client.get("/", environ_overrides={"PATH_INFO": path.format(id=txn["id"])}, headers=AUTH)

    assert response.status_code == 200
    assert response.get_json()["data"]["id"] == txn["id"]


# --- POST /v3/payments -----------------------------------------------------------------


def test_a_payment_answers_a_hosted_link_on_the_emulator(flw: Emulator) -> None:
    body = {
        "tx_ref": a_tx_ref(),
        "amount": 7500,
        "currency": "NGN",
        "redirect_url": "http://127.0.0.1:3000/return",
        "customer": {"email": "buyer@example.com", "name": "Ada"},
        "customizations": {"title": "Marketplace"},
        "meta": {"order_id": "o1"},
        "payment_options": "card",
    }

    response = flw.api("POST", "/v3/payments", body)

    payload = response.get_json()
    assert response.status_code == 200
    assert (payload["status"], payload["message"]) == ("success", "Hosted Link")
    assert set(payload["data"]) == {"link"}
    assert re.fullmatch(rf"{re.escape(PUBLIC_URL)}/hosted/pay/[a-z0-9]{{24}}", payload["data"]["link"])


def test_a_payment_defaults_to_naira(flw: Emulator) -> None:
    tx_ref = a_tx_ref()
    body = {"tx_ref": tx_ref, "amount": 100, "redirect_url": "http://x/r", "customer": {"email": "a@b.co"}}

    assert flw.api("POST", "/v3/payments", body).status_code == 200
    assert flw.app.payments.payment(tx_ref).currency == "NGN"


@pytest.mark.parametrize("currency", ["NGN", "GHS", "KES", "ZAR", "USD"])
def test_every_supported_currency_can_be_paid(flw: Emulator, currency: str) -> None:
    assert flw.paid(10, currency)["currency"] == currency


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tx_ref": None}, "tx_ref is required"),
        ({"amount": None}, "amount is required"),
        ({"amount": 0}, "Invalid amount"),
        ({"amount": -10}, "Invalid amount"),
        ({"amount": "ten"}, "Invalid amount"),
        ({"amount": True}, "Invalid amount"),
        ({"amount": 12.345}, "Invalid amount: NGN amounts have at most 2 decimal places"),
        ({"currency": "EUR"}, "Invalid currency EUR"),
        ({"redirect_url": None}, "redirect_url is required"),
        ({"customer": None}, "customer.email is required"),
        ({"customer": {"name": "No Email"}}, "customer.email is required"),
        ({"customer": {"email": "not-an-email"}}, "Invalid email address"),
        ({"meta": ["not", "an", "object"]}, "meta must be an object"),
    ],
)
def test_payment_validations(flw: Emulator, change: dict[str, Any], message: str) -> None:
    body = {"tx_ref": a_tx_ref(), "amount": 100, "redirect_url": "http://x/r", "customer": {"email": "a@b.co"}}
    body.update(change)

    response = flw.api("POST", "/v3/payments", {k: v for k, v in body.items() if v is not None})

    assert error(response) == (400, message)


def test_a_tx_ref_makes_one_payment_only(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment()
    body = {"tx_ref": tx_ref, "amount": 100, "redirect_url": "http://x/r", "customer": {"email": "a@b.co"}}

    assert error(flw.api("POST", "/v3/payments", body)) == (400, "A payment with this tx_ref already exists")


def test_decimal_amounts_are_kept_exactly_in_minor_units(flw: Emulator) -> None:
    tx_ref = a_tx_ref()
    raw = (
        f'{{"tx_ref": "{tx_ref}", "amount": 12345.67, "currency": "NGN", "redirect_url": "http://x/r",'
        ' "customer": {"email": "a@b.co"}}'
    )

    assert flw.raw("POST", "/v3/payments", raw).status_code == 200
    assert flw.app.payments.payment(tx_ref).amount == 1_234_567
    txn = flw.control(f"transactions/{tx_ref}/pay").get_json()["data"]
    wire = flw.api("GET", f"/v3/transactions/{txn['id']}/verify").get_data(as_text=True)
    assert '"amount": 12345.67' in wire
    assert '"charged_amount": 12345.67' in wire
    assert '"app_fee": 172.84' in wire  # 1.4 % of 1,234,567 kobo = 17,283.938 -> 17,284 kobo
    assert '"amount_settled": 12172.83' in wire


# --- verify ----------------------------------------------------------------------------


def test_verify_reports_flutterwaves_fields_for_a_successful_payment(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment(2500, meta={"order_id": "o1"})
    txn = flw.control(f"transactions/{tx_ref}/pay").get_json()["data"]

    response = flw.api("GET", f"/v3/transactions/{txn['id']}/verify")

    body = response.get_json()
    assert (response.status_code, body["status"], body["message"]) == (
        200,
        "success",
        "Transaction fetched successfully",
    )
    data = body["data"]
    assert isinstance(data["id"], int)
    assert data["tx_ref"] == tx_ref
    assert data["flw_ref"].startswith("FLW-MOCK-")
    assert (data["amount"], data["charged_amount"], data["currency"]) == (2500, 2500, "NGN")
    assert (data["app_fee"], data["merchant_fee"], data["amount_settled"]) == (35, 0, 2465)
    assert data["status"] == "successful"
    assert data["payment_type"] == "card"
    assert data["meta"] == {"order_id": "o1"}
    assert FLW_TIME.match(data["created_at"])
    assert data["customer"]["email"] == "buyer@example.com"
    assert data["customer"]["name"] == "Ada Buyer"
    assert isinstance(data["customer"]["id"], int)
    assert {"processor_response", "account_id", "card", "device_fingerprint", "auth_model"} <= set(data)


def test_verify_by_reference_answers_the_same_transaction(flw: Emulator) -> None:
    txn = flw.paid()

    response = flw.api("GET", "/v3/transactions/verify_by_reference", query_string={"tx_ref": txn["tx_ref"]})

    assert response.get_json()["message"] == "Transaction fetched successfully"
    assert response.get_json()["data"] == flw.verify(txn["id"])


def test_app_fee_follows_the_configured_rate_and_cap(flw: Emulator) -> None:
    flw.control("config", {"fee_bps": 140, "fee_cap": 200_000})

    assert flw.paid(1000)["app_fee"] == 14
    assert flw.paid(500_000)["app_fee"] == 2000


def test_an_unknown_transaction_is_not_found(flw: Emulator) -> None:
    assert error(flw.api("GET", "/v3/transactions/999999999/verify")) == (404, NOT_FOUND)
    assert error(flw.api("GET", "/v3/transactions/abc/verify")) == (404, NOT_FOUND)
    by_ref = flw.api("GET", "/v3/transactions/verify_by_reference", query_string={"tx_ref": "nope"})
    assert error(by_ref) == (404, NOT_FOUND)
    assert error(flw.api("GET", "/v3/transactions/verify_by_reference")) == (400, "tx_ref is required")


def test_a_payment_nobody_attempted_has_no_transaction_yet(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment()

    response = flw.api("GET", "/v3/transactions/verify_by_reference", query_string={"tx_ref": tx_ref})

    assert error(response) == (404, NOT_FOUND)


def test_the_not_found_status_is_configurable(flw: Emulator) -> None:
    flw.control("config", {"not_found_status": 400})

    assert error(flw.api("GET", "/v3/transactions/1/verify")) == (400, NOT_FOUND)


# --- the buyer's attempts --------------------------------------------------------------


def test_pay_can_record_another_amount_and_currency_in_major_units(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment(2500, "NGN")

    txn = flw.control(f"transactions/{tx_ref}/pay", {"amount": 1000.5, "currency": "usd"}).get_json()["data"]

    data = flw.verify(txn["id"])
    assert (data["status"], data["amount"], data["charged_amount"], data["currency"]) == (
        "successful",
        1000.5,
        1000.5,
        "USD",
    )


def test_pay_takes_amounts_from_the_query_string_too(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment(2500)

    txn = flw.control(f"transactions/{tx_ref}/pay", query_string={"amount": "12.34"}).get_json()["data"]

    assert flw.verify(txn["id"])["amount"] == 12.34


def test_a_declined_attempt_verifies_failed(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment()

    txn = flw.control(f"transactions/{tx_ref}/decline").get_json()["data"]

    data = flw.verify(txn["id"])
    assert (data["status"], data["app_fee"], data["amount_settled"]) == ("failed", 0, 0)
    assert data["processor_response"] == "Declined"


def test_pay_after_decline_records_a_success_as_a_new_transaction(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment(2500)
    declined = flw.control(f"transactions/{tx_ref}/decline").get_json()["data"]

    paid = flw.control(f"transactions/{tx_ref}/pay").get_json()["data"]

    assert paid["id"] != declined["id"]
    assert flw.verify(paid["id"])["status"] == "successful"
    assert flw.verify(declined["id"])["status"] == "failed"
    by_ref = flw.api("GET", "/v3/transactions/verify_by_reference", query_string={"tx_ref": tx_ref})
    assert by_ref.get_json()["data"]["id"] == paid["id"]


def test_a_declined_payment_can_be_declined_again_and_then_paid(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment()
    first = flw.control(f"transactions/{tx_ref}/decline").get_json()["data"]
    second = flw.control(f"transactions/{tx_ref}/decline").get_json()["data"]

    latest = flw.api("GET", "/v3/transactions/verify_by_reference", query_string={"tx_ref": tx_ref})

    assert latest.get_json()["data"]["id"] == second["id"] != first["id"]
    assert flw.control(f"transactions/{tx_ref}/pay").status_code == 200


def test_a_pending_attempt_verifies_pending_and_pay_completes_it(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment()

    pending = flw.control(f"transactions/{tx_ref}/pending").get_json()["data"]

    assert flw.verify(pending["id"])["status"] == "pending"
    assert flw.deliveries(reference=tx_ref) == []
    paid = flw.control(f"transactions/{tx_ref}/pay").get_json()["data"]
    assert paid["id"] == pending["id"]
    assert flw.verify(pending["id"])["status"] == "successful"


def test_a_paid_payment_is_closed(flw: Emulator) -> None:
    txn = flw.paid()

    for control in ("pay", "decline", "pending"):
        response = flw.control(f"transactions/{txn['tx_ref']}/{control}")
        assert error(response) == (409, "This payment has already been completed")


def test_concurrent_pay_clicks_pay_once(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment()
    statuses: list[int] = []
    lock = threading.Lock()

    def pay() -> None:
        response = Client(flw.app).post(f"/_emulator/transactions/{tx_ref}/pay")
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=pay) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [409] * 19
    assert [item["event"] for item in flw.deliveries(reference=tx_ref)] == ["charge.completed"]


def test_pay_without_a_webhook_records_the_payment_only(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment()

    txn = flw.control(f"transactions/{tx_ref}/pay", {"webhook": False}).get_json()["data"]

    assert flw.verify(txn["id"])["status"] == "successful"
    assert flw.deliveries(reference=tx_ref) == []


def test_the_emulator_view_lists_every_attempt(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment(2500)
    flw.control(f"transactions/{tx_ref}/decline")
    flw.control(f"transactions/{tx_ref}/pay")

    view = flw.client.get(f"/_emulator/transactions/{tx_ref}").get_json()["data"]

    assert (view["status"], view["amount"]) == ("successful", 2500)
    assert [attempt["status"] for attempt in view["attempts"]] == ["failed", "successful"]


def test_controls_on_an_unknown_tx_ref_are_not_found(flw: Emulator) -> None:
    for control in ("pay", "decline", "pending", "cancel", "webhook"):
        assert flw.control(f"transactions/nope-{a_tx_ref()}/{control}").status_code == 404


# --- the hosted page -------------------------------------------------------------------


def hosted(flw: Emulator, **extra: Any) -> tuple[str, str]:
    tx_ref, link = flw.create_payment(12345.67, "NGN", **extra)
    page = flw.client.get(urlsplit(link).path)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    return tx_ref, page.get_data(as_text=True)


def form_action(page: str, button: str) -> str:
    match = re.search(rf"action='([^']+/{button})'", page)
    assert match, f"no {button} form"
    return match.group(1)


def test_the_hosted_page_shows_amount_email_reference_and_buttons(flw: Emulator) -> None:
    tx_ref, page = hosted(flw, customizations={"title": "Ebook shop"})

    assert "NGN 12,345.67" in page
    assert "buyer@example.com" in page
    assert tx_ref in page
    assert "Ebook shop" in page
    for button in ("Pay", "Decline", "Cancel"):
        assert f">{button}</button>" in page


def returned_to(response: Any) -> tuple[str, dict[str, list[str]]]:
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    return f"{location.scheme}://{location.netloc}{location.path}", parse_qs(location.query)


def test_pay_on_the_hosted_page_returns_to_the_redirect_url_with_the_outcome(flw: Emulator) -> None:
    tx_ref, page = hosted(flw, redirect_url="http://127.0.0.1:3000/return?order=o1")

    target, query = returned_to(flw.client.post(form_action(page, "pay"), data={"via": "hosted"}))

    assert target == "http://127.0.0.1:3000/return"
    transaction_id = query.pop("transaction_id")[0]
    assert query == {"order": ["o1"], "status": ["successful"], "tx_ref": [tx_ref]}
    assert flw.verify(int(transaction_id))["status"] == "successful"


def test_decline_on_the_hosted_page_returns_failed_with_the_transaction(flw: Emulator) -> None:
    tx_ref, page = hosted(flw)

    _, query = returned_to(flw.client.post(form_action(page, "decline"), data={"via": "hosted"}))

    assert (query["status"], query["tx_ref"]) == (["failed"], [tx_ref])
    assert flw.verify(int(query["transaction_id"][0]))["status"] == "failed"


def test_cancel_on_the_hosted_page_returns_cancelled_without_a_transaction(flw: Emulator) -> None:
    tx_ref, page = hosted(flw)

    _, query = returned_to(flw.client.post(form_action(page, "cancel"), data={"via": "hosted"}))

    assert query == {"status": ["cancelled"], "tx_ref": [tx_ref]}
    assert flw.client.get(f"/_emulator/transactions/{tx_ref}").get_json()["data"]["attempts"] == []


def test_the_hosted_page_can_pay_another_amount(flw: Emulator) -> None:
    _, page = hosted(flw)

    _, query = returned_to(
        flw.client.post(form_action(page, "pay"), data={"via": "hosted", "amount": "100.01", "currency": "NGN"})
    )

    assert flw.verify(int(query["transaction_id"][0]))["amount"] == 100.01


def test_the_hosted_page_of_a_paid_payment_says_so(flw: Emulator) -> None:
    tx_ref, link = flw.create_payment()
    flw.control(f"transactions/{tx_ref}/pay")

    page = flw.client.get(urlsplit(link).path).get_data(as_text=True)

    assert "already been completed" in page
    assert ">Pay</button>" not in page


def test_an_unknown_hosted_link_is_not_found(flw: Emulator) -> None:
    assert flw.client.get("/hosted/pay/nosuchlink").status_code == 404


def test_the_emulator_view_is_json_with_major_units(flw: Emulator) -> None:
    tx_ref, _ = flw.create_payment(0.5, "GHS")

    view = json.loads(flw.client.get(f"/_emulator/transactions/{tx_ref}").get_data())

    assert (view["data"]["amount"], view["data"]["currency"], view["data"]["status"]) == (0.5, "GHS", "initialized")
