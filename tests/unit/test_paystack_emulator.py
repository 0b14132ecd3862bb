"""The Paystack emulator: API shapes and validations (PAYSTACK.md §§1-6, §9), checkout page, webhooks, controls."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import Client, TestResponse

from localdev.paystack import EmulatorConfig, PaystackEmulator
from market.gateways.paystack_webhook import verify_webhook_signature
from tests.helpers import wait_until
from tests.unit.paystack_support import SECRET_KEY, WebhookReceiver, unused_port

PUBLIC_URL = "http://127.0.0.1:3001"
AUTH = {"Authorization": f"Bearer {SECRET_KEY}"}
PAYSTACK_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


class Emulator:
    """The emulator app driven in-process through werkzeug's test client."""

    def __init__(self, receiver: WebhookReceiver, webhook_url: str | None = None, **settings: Any) -> None:
        config = EmulatorConfig()
        config.update({"webhook_retry_delays": [0.05, 0.05, 0.05], "webhook_timeout_seconds": 2.0, **settings})
        self.app = PaystackEmulator(
            secret_key=SECRET_KEY, webhook_url=webhook_url or receiver.url, public_url=PUBLIC_URL, config=config
        )
        self.client = Client(self.app)
        self.receiver = receiver

    def api(self, method: str, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        return self.client.open(path, method=method, json=body, headers=kwargs.pop("headers", AUTH), **kwargs)

    def control(self, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        return self.client.post(f"/_emulator/{path}", json=body, **kwargs)

    def initialize(self, amount: int = 250_000, currency: str = "NGN", **extra: Any) -> dict[str, Any]:
        body = {"email": "buyer@example.com", "amount": amount, "currency": currency, "reference": a_reference()}
        response = self.api("POST", "/transaction/initialize", {**body, **extra})
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json()["data"])

    def verify(self, reference: str) -> dict[str, Any]:
        response = self.api("GET", f"/transaction/verify/{reference}")
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json()["data"])

    def paid(self, amount: int = 250_000, reference: str | None = None) -> str:
        reference = str(self.initialize(amount, reference=reference or a_reference())["reference"])
        assert self.control(f"transactions/{reference}/pay").status_code == 200
        return reference

    def deliveries(self, **query: str) -> list[dict[str, Any]]:
        return list(self.client.get("/_emulator/webhooks", query_string=query).get_json()["items"])

    def delivered(self, reference: str, count: int = 1) -> list[dict[str, Any]]:
        def done() -> list[dict[str, Any]]:
            items = [item for item in self.deliveries(reference=reference) if item["status"] != "pending"]
            return items if len(items) >= count else []

        return wait_until(done, what=f"{count} finished deliveries for {reference}")

    def recipient(self, account_number: str = "0123456789", bank_code: str = "058") -> str:
        body = {
            "type": "nuban",
            "name": "Ada",
            "account_number": account_number,
            "bank_code": bank_code,
            "currency": "NGN",
        }
        return str(self.api("POST", "/transferrecipient", body).get_json()["data"]["recipient_code"])

    def transfer(self, reference: str, amount: int = 50_000) -> TestResponse:
        body = {"source": "balance", "amount": amount, "recipient": self.recipient(), "reference": reference}
        return self.api("POST", "/transfer", body)


@pytest.fixture
def paystack(receiver: WebhookReceiver) -> Iterator[Emulator]:
    emulator = Emulator(receiver)
    yield emulator
    emulator.app.close()


def a_reference() -> str:
    return "ord-" + uuid.uuid4().hex


def a_transfer_reference() -> str:
    return "payout-" + uuid.uuid4().hex


def error(response: TestResponse) -> tuple[int, str]:
    body = response.get_json()
    assert body["status"] is False
    return response.status_code, str(body["message"])


def received_for(receiver: WebhookReceiver, reference: str) -> list[Any]:
    return [item for item in receiver.received if reference.encode() in item.body]


# --- basics ----------------------------------------------------------------------------


def test_health_answers_ok(paystack: Emulator) -> None:
    response = paystack.client.get("/health")

    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "No Authorization Header was found"),
        ({"Authorization": SECRET_KEY}, "Format is Authorization Bearer [secret key]"),
        ({"Authorization": "Bearer sk_test_wrong"}, "Invalid key"),
    ],
)
def test_the_api_requires_the_secret_key(paystack: Emulator, headers: dict[str, str], message: str) -> None:
    response = paystack.api("POST", "/transaction/initialize", {"email": "a@b.co", "amount": 100}, headers=headers)

    assert error(response) == (401, message)
    assert response.get_json() == {"status": False, "message": message}


# --- initialize ------------------------------------------------------------------------


def test_initialize_answers_paystacks_envelope_with_a_checkout_link(paystack: Emulator) -> None:
    reference = a_reference()

    response = paystack.api(
        "POST", "/transaction/initialize", {"email": "buyer@example.com", "amount": 500_000, "reference": reference}
    )

    body = response.get_json()
    assert response.status_code == 200
    assert (body["status"], body["message"]) == (True, "Authorization URL created")
    assert set(body["data"]) == {"authorization_url", "access_code", "reference"}
    assert body["data"]["reference"] == reference
    assert body["data"]["authorization_url"] == f"{PUBLIC_URL}/checkout/{body['data']['access_code']}"


def test_initialize_without_a_reference_generates_one(paystack: Emulator) -> None:
    response = paystack.api("POST", "/transaction/initialize", {"email": "buyer@example.com", "amount": 500})

    reference = response.get_json()["data"]["reference"]
    assert re.fullmatch(r"[a-z0-9]{10}", reference)
    assert paystack.verify(reference)["status"] == "abandoned"


def test_initialize_accepts_form_encoding_and_amounts_as_digit_strings(paystack: Emulator) -> None:
    reference = a_reference()

    response = paystack.client.post(
        "/transaction/initialize",
        data={"email": "buyer@example.com", "amount": "20000", "reference": reference},
        headers=AUTH,
    )

    assert response.status_code == 200
    assert paystack.verify(reference)["amount"] == 20_000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": None}, "Email is not allowed to be empty"),
        ({"email": "not-an-email"}, "Invalid Email Address Passed"),
        ({"amount": None}, "Amount is required"),
        ({"amount": 100.5}, "Invalid Amount Sent"),
        ({"amount": "12.50"}, "Invalid Amount Sent"),
        ({"amount": 0}, "Invalid Amount Sent"),
        ({"amount": -5}, "Invalid Amount Sent"),
        ({"amount": True}, "Invalid Amount Sent"),
        ({"amount": 10_000_000 * 100 + 1}, "Transaction amount limit exceeded"),
        ({"currency": "EUR"}, "Currency not supported by merchant"),
        ({"reference": "has space"}, "Invalid character in transaction reference"),
        ({"reference": "slash/ref"}, "Invalid character in transaction reference"),
    ],
)
def test_initialize_validates_like_paystack(paystack: Emulator, change: dict[str, Any], message: str) -> None:
    body = {"email": "buyer@example.com", "amount": 1_000, "currency": "NGN", "reference": a_reference()}
    body.update(change)

    response = paystack.api("POST", "/transaction/initialize", {k: v for k, v in body.items() if v is not None})

    assert error(response) == (400, message)


@pytest.mark.parametrize("currency", ["NGN", "GHS", "KES", "ZAR", "USD"])
def test_initialize_accepts_every_supported_currency(paystack: Emulator, currency: str) -> None:
    assert paystack.verify(paystack.initialize(currency=currency)["reference"])["currency"] == currency


def test_references_may_use_letters_digits_dashes_dots_and_equals(paystack: Emulator) -> None:
    reference = "Ord-1.2=" + uuid.uuid4().hex

    assert paystack.initialize(reference=reference)["reference"] == reference


def test_a_reused_reference_is_a_duplicate_reference_error(paystack: Emulator) -> None:
    reference = paystack.initialize()["reference"]

    response = paystack.api("POST", "/transaction/initialize", {"email": "x@y.co", "amount": 1, "reference": reference})

    body = response.get_json()
    assert response.status_code == 400
    assert body["message"] == "Duplicate Transaction Reference"
    assert body["code"] == "duplicate_reference"
    assert body["type"] == "validation_error"


def test_concurrent_initializations_all_get_their_own_transaction(paystack: Emulator) -> None:
    references = [a_reference() for _ in range(20)]
    statuses: list[int] = []
    lock = threading.Lock()

    def initialize(reference: str) -> None:
        client = Client(paystack.app)
        response = client.post(
            "/transaction/initialize", json={"email": "a@b.co", "amount": 100, "reference": reference}, headers=AUTH
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=initialize, args=(reference,)) for reference in references]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 20
    ids = {paystack.verify(reference)["id"] for reference in references}
    assert len(ids) == 20


# --- verify ----------------------------------------------------------------------------


def test_an_initialized_transaction_verifies_as_abandoned(paystack: Emulator) -> None:
    data = paystack.verify(paystack.initialize(250_000)["reference"])

    assert data["status"] == "abandoned"
    assert data["paid_at"] is None
    assert data["paidAt"] is None
    assert data["fees"] is None
    assert data["amount"] == data["requested_amount"] == 250_000


def test_verify_of_a_paid_transaction_has_paystacks_fields(paystack: Emulator) -> None:
    reference = paystack.initialize(250_000, metadata={"order_id": "o1"})["reference"]
    paystack.control(f"transactions/{reference}/pay")

    response = paystack.api("GET", f"/transaction/verify/{reference}")

    body = response.get_json()
    assert (response.status_code, body["status"], body["message"]) == (200, True, "Verification successful")
    data = body["data"]
    assert isinstance(data["id"], int)
    assert data["domain"] == "test"
    assert data["status"] == "success"
    assert data["reference"] == reference
    assert (data["amount"], data["requested_amount"], data["currency"]) == (250_000, 250_000, "NGN")
    assert data["channel"] == "card"
    assert data["gateway_response"] == "Successful"
    assert PAYSTACK_TIME.match(data["paid_at"])
    assert data["paidAt"] == data["paid_at"]
    assert PAYSTACK_TIME.match(data["created_at"])
    assert data["fees"] == 3_750
    assert data["metadata"] == {"order_id": "o1"}
    assert data["customer"]["email"] == "buyer@example.com"
    assert isinstance(data["customer"]["id"], int)
    assert data["customer"]["customer_code"].startswith("CUS_")
    assert data["authorization"]["authorization_code"].startswith("AUTH_")
    assert {"last4", "brand", "bin", "reusable"} <= set(data["authorization"])
    assert data["log"]["success"] is True


def test_fees_follow_the_configured_rate_and_cap(paystack: Emulator) -> None:
    paystack.control("config", {"fee_bps": 150, "fee_flat": 10_000, "fee_cap": 200_000})

    small = paystack.verify(paystack.paid(100_000))["fees"]
    large = paystack.verify(paystack.paid(50_000_000))["fees"]

    assert small == 1_500 + 10_000
    assert large == 200_000


def test_a_declined_payment_verifies_200_with_status_failed(paystack: Emulator) -> None:
    reference = paystack.initialize()["reference"]

    assert paystack.control(f"transactions/{reference}/decline").status_code == 200

    response = paystack.api("GET", f"/transaction/verify/{reference}")
    assert response.status_code == 200
    assert response.get_json()["data"]["status"] == "failed"
    assert response.get_json()["data"]["gateway_response"] == "Declined"
    assert paystack.deliveries(reference=reference) == []  # Paystack sends no webhook for failures


def test_an_unknown_reference_is_not_found(paystack: Emulator) -> None:
    response = paystack.api("GET", "/transaction/verify/nope-" + uuid.uuid4().hex)

    assert error(response) == (404, "Transaction reference not found")


def test_the_status_for_an_unknown_reference_is_configurable(paystack: Emulator) -> None:
    paystack.control("config", {"unknown_reference_status": 400})

    response = paystack.api("GET", "/transaction/verify/nope-" + uuid.uuid4().hex)

    assert error(response) == (400, "Transaction reference not found")


def test_an_empty_verify_reference_is_paystacks_numeric_id_error(paystack: Emulator) -> None:
    assert error(paystack.api("GET", "/transaction/verify/")) == (400, "Transaction ID should be numeric.")


# --- pay controls ----------------------------------------------------------------------


def test_pay_can_record_another_amount_and_currency(paystack: Emulator) -> None:
    reference = paystack.initialize(250_000, "NGN")["reference"]

    paystack.control(f"transactions/{reference}/pay", {"amount": 100_000, "currency": "USD"})

    data = paystack.verify(reference)
    assert (data["status"], data["amount"], data["currency"], data["requested_amount"]) == (
        "success",
        100_000,
        "USD",
        250_000,
    )


def test_pay_takes_the_amount_from_the_query_string_too(paystack: Emulator) -> None:
    reference = paystack.initialize(250_000)["reference"]

    paystack.control(f"transactions/{reference}/pay", query_string={"amount": "1000"})

    assert paystack.verify(reference)["amount"] == 1_000


def test_a_transaction_is_paid_once(paystack: Emulator) -> None:
    reference = paystack.paid()

    assert paystack.control(f"transactions/{reference}/pay").status_code == 409
    assert paystack.control(f"transactions/{reference}/decline").status_code == 409


def test_concurrent_pay_clicks_pay_once(paystack: Emulator) -> None:
    reference = paystack.initialize()["reference"]
    statuses: list[int] = []
    lock = threading.Lock()

    def pay() -> None:
        response = Client(paystack.app).post(f"/_emulator/transactions/{reference}/pay")
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=pay) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [409] * 19
    assert [item["event"] for item in paystack.deliveries(reference=reference)] == ["charge.success"]


def test_abandon_keeps_the_transaction_unpaid(paystack: Emulator) -> None:
    reference = paystack.initialize()["reference"]

    paystack.control(f"transactions/{reference}/abandon")

    assert paystack.verify(reference)["status"] == "abandoned"


def test_controls_on_an_unknown_reference_are_not_found(paystack: Emulator) -> None:
    assert paystack.control("transactions/nope/pay").status_code == 404


# --- checkout page ---------------------------------------------------------------------


def checkout(paystack: Emulator, **extra: Any) -> tuple[dict[str, Any], str]:
    data = paystack.initialize(123_456, "NGN", **extra)
    path = urlsplit(data["authorization_url"]).path
    page = paystack.client.get(path)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    return data, page.get_data(as_text=True)


def form_action(page: str, button: str) -> str:
    match = re.search(rf"action='([^']+/{button})'", page)
    assert match, f"no {button} form"
    return match.group(1)


def test_the_checkout_page_shows_amount_email_reference_and_buttons(paystack: Emulator) -> None:
    data, page = checkout(paystack)

    assert "NGN 1,234.56" in page
    assert "buyer@example.com" in page
    assert data["reference"] in page
    for button in ("Pay", "Decline", "Cancel"):
        assert f">{button}</button>" in page


def test_pay_on_the_checkout_page_redirects_to_the_callback_with_the_reference(paystack: Emulator) -> None:
    data, page = checkout(paystack, callback_url="http://127.0.0.1:3000/return?order=o1")

    response = paystack.client.post(form_action(page, "pay"), data={"via": "checkout"})

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.netloc, location.path) == ("127.0.0.1:3000", "/return")
    assert parse_qs(location.query) == {
        "order": ["o1"],
        "trxref": [data["reference"]],
        "reference": [data["reference"]],
    }
    assert paystack.verify(data["reference"])["status"] == "success"


def test_decline_on_the_checkout_page_redirects_and_fails_the_payment(paystack: Emulator) -> None:
    data, page = checkout(paystack, callback_url="http://127.0.0.1:3000/return")

    response = paystack.client.post(form_action(page, "decline"), data={"via": "checkout"})

    assert response.status_code == 302
    assert f"reference={data['reference']}" in response.headers["Location"]
    assert paystack.verify(data["reference"])["status"] == "failed"


def test_cancel_on_the_checkout_page_goes_to_the_cancel_action(paystack: Emulator) -> None:
    data, page = checkout(paystack, callback_url="http://shop/return", metadata={"cancel_action": "http://shop/cart"})

    response = paystack.client.post(form_action(page, "abandon"), data={"via": "checkout"})

    assert (response.status_code, response.headers["Location"]) == (302, "http://shop/cart")
    assert paystack.verify(data["reference"])["status"] == "abandoned"


def test_without_a_callback_the_checkout_shows_the_result(paystack: Emulator) -> None:
    data, page = checkout(paystack)

    response = paystack.client.post(form_action(page, "pay"), data={"via": "checkout"})

    assert response.status_code == 200
    assert "Payment successful" in response.get_data(as_text=True)
    assert data["reference"] in response.get_data(as_text=True)


def test_an_unknown_checkout_link_is_not_found(paystack: Emulator) -> None:
    assert paystack.client.get("/checkout/nosuchcode").status_code == 404


# --- webhooks --------------------------------------------------------------------------


def test_pay_sends_a_charge_success_webhook_signed_over_the_exact_bytes(
    paystack: Emulator, receiver: WebhookReceiver
) -> None:
    reference = paystack.paid(250_000)

    received = wait_until(lambda: received_for(receiver, reference), what="charge.success")[0]

    expected = hmac.new(SECRET_KEY.encode(), received.body, hashlib.sha512).hexdigest()
    assert received.signature == expected
    assert verify_webhook_signature(received.body, received.signature, SECRET_KEY)  # what our receiver will check
    assert received.content_type == "application/json"
    payload = json.loads(received.body)
    assert received.body == json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()  # compact
    assert payload["event"] == "charge.success"
    assert payload["data"] == paystack.verify(reference)
    delivery = paystack.delivered(reference)[0]
    assert delivery["status"] == "delivered"
    assert delivery["body"].encode() == received.body


def test_the_webhook_is_sent_after_the_pay_request_not_inside_it(paystack: Emulator, receiver: WebhookReceiver) -> None:
    receiver.gate.clear()  # the receiver holds every webhook until released
    try:
        reference = paystack.initialize()["reference"]
        response = paystack.control(f"transactions/{reference}/pay")
        assert response.status_code == 200
        assert received_for(receiver, reference) == []
    finally:
        receiver.gate.set()
    wait_until(lambda: received_for(receiver, reference), what="the held webhook")


def test_a_webhook_not_answered_200_is_retried_with_the_same_bytes(
    paystack: Emulator, receiver: WebhookReceiver
) -> None:
    reference = a_reference()
    receiver.answer(reference, 500, 401)
    paystack.paid(reference=reference)

    delivery = wait_until(
        lambda: [item for item in paystack.deliveries(reference=reference) if item["status"] == "delivered"],
        what="delivered after retries",
    )[0]

    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [500, 401, 200]
    bodies = {item.body for item in received_for(receiver, reference)}
    assert len(received_for(receiver, reference)) == 3
    assert len(bodies) == 1


def test_delivery_gives_up_after_the_last_retry(receiver: WebhookReceiver) -> None:
    emulator = Emulator(receiver, webhook_retry_delays=[0.01, 0.01])
    try:
        reference = a_reference()
        receiver.answer(reference, 503, 503, 503)
        emulator.paid(reference=reference)

        delivery = emulator.delivered(reference)[0]

        assert delivery["status"] == "failed"
        assert [attempt["status_code"] for attempt in delivery["attempts"]] == [503, 503, 503]
    finally:
        emulator.app.close()


def test_an_unreachable_receiver_is_logged_as_failed_attempts(receiver: WebhookReceiver) -> None:
    emulator = Emulator(receiver, webhook_url=f"http://127.0.0.1:{unused_port()}/hook", webhook_retry_delays=[0.01])
    try:
        reference = emulator.paid()

        delivery = emulator.delivered(reference)[0]

        assert delivery["status"] == "failed"
        assert all(attempt["error"] and attempt["status_code"] is None for attempt in delivery["attempts"])
        assert len(delivery["attempts"]) == 2
    finally:
        emulator.app.close()


def test_the_last_webhook_can_be_sent_again_several_times(paystack: Emulator, receiver: WebhookReceiver) -> None:
    reference = paystack.paid()
    paystack.delivered(reference)

    response = paystack.control(f"transactions/{reference}/webhook", query_string={"times": "3"})

    assert response.status_code == 202
    assert len(response.get_json()["data"]["deliveries"]) == 3
    wait_until(lambda: len(received_for(receiver, reference)) >= 4, what="four deliveries")
    received = received_for(receiver, reference)
    assert len({item.body for item in received}) == 1
    assert len({item.signature for item in received}) == 1


def test_a_resent_webhook_can_carry_a_bad_signature(paystack: Emulator, receiver: WebhookReceiver) -> None:
    reference = paystack.paid()
    paystack.delivered(reference)

    paystack.control(f"transactions/{reference}/webhook", query_string={"signature": "bad"})

    wait_until(lambda: len(received_for(receiver, reference)) >= 2, what="two deliveries")
    received = received_for(receiver, reference)
    good, bad = received[0], received[1]
    assert good.body == bad.body
    assert bad.signature != hmac.new(SECRET_KEY.encode(), bad.body, hashlib.sha512).hexdigest()
    assert paystack.deliveries(reference=reference)[1]["signature"] == "bad"


def test_resending_before_any_webhook_is_a_conflict(paystack: Emulator) -> None:
    reference = paystack.initialize()["reference"]

    assert paystack.control(f"transactions/{reference}/webhook").status_code == 409


def test_a_forged_charge_success_is_signed_but_the_transaction_stays_unpaid(
    paystack: Emulator, receiver: WebhookReceiver
) -> None:
    reference = paystack.initialize(250_000)["reference"]

    response = paystack.control(f"transactions/{reference}/webhook", query_string={"forge": "true"})

    assert response.status_code == 202
    received = wait_until(lambda: received_for(receiver, reference))[0]
    assert received.signature == hmac.new(SECRET_KEY.encode(), received.body, hashlib.sha512).hexdigest()
    assert json.loads(received.body)["data"]["status"] == "success"
    assert paystack.verify(reference)["status"] == "abandoned"


def test_a_delivery_can_be_replayed_by_id(paystack: Emulator, receiver: WebhookReceiver) -> None:
    reference = paystack.paid()
    first = paystack.delivered(reference)[0]

    response = paystack.control(f"webhooks/{first['id']}/replay")

    assert response.status_code == 202
    replay = paystack.delivered(reference, count=2)[1]
    assert (replay["replay_of"], replay["body"]) == (first["id"], first["body"])


def test_the_delivery_log_filters_by_event(paystack: Emulator) -> None:
    reference = paystack.paid()

    items = paystack.deliveries(event="charge.success", reference=reference)

    assert [item["event"] for item in items] == ["charge.success"]
    assert paystack.deliveries(event="refund.processed", reference=reference) == []


# --- refunds ---------------------------------------------------------------------------


def test_a_refund_is_queued_pending_with_paystacks_fields(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(250_000)

    response = paystack.api("POST", "/refund", {"transaction": reference, "merchant_note": "asked"})

    body = response.get_json()
    assert (response.status_code, body["message"]) == (200, "Refund has been queued for processing")
    data = body["data"]
    assert isinstance(data["id"], int)
    assert data["transaction"]["reference"] == reference
    assert {"id", "amount", "currency"} <= set(data["transaction"])
    assert (data["amount"], data["currency"], data["status"]) == (250_000, "NGN", "pending")
    assert {"deducted_amount", "fully_deducted", "expected_at", "refunded_by", "createdAt"} <= set(data)
    assert data["merchant_note"] == "asked"
    fetched = paystack.api("GET", f"/refund/{data['id']}").get_json()
    assert fetched["data"]["status"] == "pending"
    assert fetched["data"]["transaction_reference"] == reference
    assert [item["event"] for item in paystack.deliveries(reference=reference)] == ["charge.success", "refund.pending"]


def test_refunds_are_processed_automatically_with_a_refund_processed_webhook(
    paystack: Emulator, receiver: WebhookReceiver
) -> None:
    reference = paystack.paid(250_000)

    refund_id = paystack.api("POST", "/refund", {"transaction": reference}).get_json()["data"]["id"]

    wait_until(lambda: paystack.api("GET", f"/refund/{refund_id}").get_json()["data"]["status"] == "processed")
    events = [json.loads(item.body) for item in received_for(receiver, reference)]
    processed = wait_until(
        lambda: [
            event
            for event in (json.loads(item.body) for item in received_for(receiver, reference))
            if event["event"] == "refund.processed"
        ]
    )[0]
    assert events
    data = processed["data"]
    assert (data["status"], data["transaction_reference"], data["amount"], data["currency"]) == (
        "processed",
        reference,
        250_000,
        "NGN",
    )
    assert {"refund_reference", "processor", "customer", "integration", "domain"} <= set(data)
    assert paystack.verify(reference)["status"] == "reversed"


def test_a_refund_held_pending_is_processed_by_the_control_route(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(250_000)
    refund_id = paystack.api("POST", "/refund", {"transaction": reference, "amount": 50_000}).get_json()["data"]["id"]

    response = paystack.control(f"refunds/{refund_id}/process")

    assert response.get_json()["data"]["status"] == "processed"
    assert paystack.verify(reference)["status"] == "success"  # partial: still a success
    assert paystack.deliveries(reference=reference)[-1]["event"] == "refund.processed"
    assert paystack.control(f"refunds/{refund_id}/process").status_code == 409


def test_a_failed_refund_sends_refund_failed_and_frees_the_amount(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(10_000)
    refund_id = paystack.api("POST", "/refund", {"transaction": reference}).get_json()["data"]["id"]

    paystack.control(f"refunds/{refund_id}/fail")

    assert paystack.deliveries(reference=reference)[-1]["event"] == "refund.failed"
    assert paystack.api("POST", "/refund", {"transaction": reference}).status_code == 200


def test_refunds_cannot_exceed_the_payment(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(10_000)
    assert paystack.api("POST", "/refund", {"transaction": reference, "amount": 6_000}).status_code == 200

    response = paystack.api("POST", "/refund", {"transaction": reference, "amount": 5_000})

    assert error(response)[0] == 400


def test_a_fully_refunded_transaction_cannot_be_refunded_again(paystack: Emulator) -> None:
    reference = paystack.paid(10_000)
    refund_id = paystack.api("POST", "/refund", {"transaction": reference}).get_json()["data"]["id"]
    wait_until(lambda: paystack.api("GET", f"/refund/{refund_id}").get_json()["data"]["status"] == "processed")

    response = paystack.api("POST", "/refund", {"transaction": reference})

    assert error(response) == (400, "Transaction has been fully reversed")


def test_an_unpaid_transaction_cannot_be_refunded(paystack: Emulator) -> None:
    reference = paystack.initialize()["reference"]

    assert error(paystack.api("POST", "/refund", {"transaction": reference}))[0] == 400
    assert error(paystack.api("POST", "/refund", {"transaction": "nope"}))[0] == 404


def test_a_refund_can_name_the_transaction_by_id(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.paid(10_000)

    response = paystack.api("POST", "/refund", {"transaction": paystack.verify(reference)["id"]})

    assert response.get_json()["data"]["transaction"]["reference"] == reference


def test_the_refund_webhook_amount_can_be_a_string_as_in_some_samples(paystack: Emulator) -> None:
    paystack.control("config", {"auto_process_refunds": False, "refund_webhook_amount_as_string": True})
    reference = paystack.paid(10_000)

    paystack.api("POST", "/refund", {"transaction": reference})

    payload = paystack.deliveries(reference=reference, event="refund.pending")[0]["payload"]
    assert payload["data"]["amount"] == "10000"


# --- banks, resolve, recipients --------------------------------------------------------


def test_banks_lists_the_fixtures_with_paystacks_fields(paystack: Emulator) -> None:
    response = paystack.api("GET", "/bank", query_string={"currency": "NGN"})

    body = response.get_json()
    assert (response.status_code, body["status"]) == (200, True)
    banks = {bank["code"]: bank for bank in body["data"]}
    assert banks["058"]["name"] == "Guaranty Trust Bank"
    assert banks["044"]["name"] == "Access Bank"
    assert banks["011"]["name"] == "First Bank of Nigeria"
    assert {"id", "name", "slug", "code", "longcode", "type", "currency", "country", "active", "is_deleted"} <= set(
        banks["058"]
    )
    assert paystack.api("GET", "/bank", query_string={"currency": "KES"}).get_json()["data"] == []


def test_banks_page_with_a_cursor(paystack: Emulator) -> None:
    first = paystack.api("GET", "/bank", query_string={"perPage": "2", "use_cursor": "true"}).get_json()
    second = paystack.api(
        "GET", "/bank", query_string={"perPage": "2", "use_cursor": "true", "next": first["meta"]["next"]}
    ).get_json()

    assert len(first["data"]) == 2
    assert len(second["data"]) == 1
    assert second["meta"]["next"] is None


def test_resolve_gives_the_same_name_for_the_same_account(paystack: Emulator) -> None:
    query = {"account_number": "0123456789", "bank_code": "058"}

    first = paystack.api("GET", "/bank/resolve", query_string=query).get_json()
    again = paystack.api("GET", "/bank/resolve", query_string=query).get_json()

    assert first["message"] == "Account number resolved"
    assert set(first["data"]) == {"account_number", "account_name", "bank_id"}
    assert first["data"] == again["data"]
    other = paystack.api("GET", "/bank/resolve", query_string={**query, "bank_code": "044"}).get_json()
    assert other["data"]["bank_id"] != first["data"]["bank_id"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            {"account_number": "0000000000", "bank_code": "058"},
            (422, "Could not resolve account name. Check parameters or try again."),
        ),
        (
            {"account_number": "12345", "bank_code": "058"},
            (422, "Could not resolve account name. Check parameters or try again."),
        ),
        ({"account_number": "01234abcde", "bank_code": "058"}, (400, "Account number should be numeric")),
        ({"account_number": "0123456789", "bank_code": "999"}, (400, "Unknown bank code")),
        ({"bank_code": "058"}, (400, "Account number is required")),
        ({"account_number": "0123456789"}, (400, "bank_code is required")),
    ],
)
def test_resolve_failures(paystack: Emulator, query: dict[str, str], expected: tuple[int, str]) -> None:
    assert error(paystack.api("GET", "/bank/resolve", query_string=query)) == expected


def test_a_recipient_is_created_with_paystacks_fields_and_reused_for_the_same_account(paystack: Emulator) -> None:
    body = {"type": "nuban", "name": "Ada", "account_number": "0123456789", "bank_code": "058", "currency": "NGN"}

    created = paystack.api("POST", "/transferrecipient", body)
    again = paystack.api("POST", "/transferrecipient", body)

    assert created.status_code == 201
    data = created.get_json()["data"]
    assert data["recipient_code"].startswith("RCP_")
    assert isinstance(data["id"], int)
    assert (data["type"], data["name"], data["currency"], data["domain"]) == ("nuban", "Ada", "NGN", "test")
    assert data["details"]["bank_name"] == "Guaranty Trust Bank"
    assert data["details"]["account_name"]
    assert again.status_code == 200
    assert again.get_json()["data"]["recipient_code"] == data["recipient_code"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bank_code": "999"}, "Unknown bank code"),
        ({"account_number": "0000000000"}, "Cannot resolve account"),
        ({"type": "bitcoin"}, "Recipient type is invalid"),
        ({"name": ""}, "Name is required"),
    ],
)
def test_recipient_validations(paystack: Emulator, change: dict[str, str], message: str) -> None:
    body = {"type": "nuban", "name": "Ada", "account_number": "0123456789", "bank_code": "058", "currency": "NGN"}

    assert error(paystack.api("POST", "/transferrecipient", {**body, **change})) == (400, message)


# --- transfers -------------------------------------------------------------------------


def test_a_transfer_succeeds_at_once_with_a_transfer_success_webhook(
    paystack: Emulator, receiver: WebhookReceiver
) -> None:
    reference = a_transfer_reference()

    response = paystack.transfer(reference, 50_000)

    body = response.get_json()
    assert (response.status_code, body["message"]) == (200, "Transfer has been queued")
    data = body["data"]
    assert data["transfer_code"].startswith("TRF_")
    assert (data["reference"], data["amount"], data["currency"], data["status"]) == (
        reference,
        50_000,
        "NGN",
        "success",
    )
    assert isinstance(data["recipient"], int)
    assert PAYSTACK_TIME.match(data["createdAt"])
    event = json.loads(wait_until(lambda: received_for(receiver, reference))[0].body)
    assert event["event"] == "transfer.success"
    assert event["data"]["recipient"]["recipient_code"].startswith("RCP_")
    assert event["data"]["recipient"]["details"]["bank_code"] == "058"
    assert event["data"]["integration"]["is_live"] is False
    verified = paystack.api("GET", f"/transfer/verify/{reference}").get_json()
    assert verified["message"] == "Transfer retrieved"
    assert verified["data"]["status"] == "success"


def test_a_transfer_reference_cannot_be_reused(paystack: Emulator) -> None:
    reference = a_transfer_reference()
    assert paystack.transfer(reference).status_code == 200

    response = paystack.transfer(reference)

    assert error(response) == (400, "Please provide a unique reference. Reference already exists on a transfer")


def test_a_transfer_to_an_unknown_recipient_is_invalid(paystack: Emulator) -> None:
    body = {"source": "balance", "amount": 100, "recipient": "RCP_nope", "reference": a_transfer_reference()}

    response = paystack.api("POST", "/transfer", body)

    assert error(response) == (400, "Recipient specified is invalid")
    assert response.get_json()["code"] == "invalid_transfer_recipient"


def test_a_transfer_reference_must_be_lowercase_letters_digits_dashes_underscores(paystack: Emulator) -> None:
    assert error(paystack.transfer("Payout-UPPER-" + uuid.uuid4().hex))[0] == 400


def test_a_transfer_marked_to_fail_fails_with_a_webhook(paystack: Emulator) -> None:
    reference = a_transfer_reference()
    assert paystack.control(f"transfers/{reference}/fail", {"reason": "Account closed"}).status_code == 202

    response = paystack.transfer(reference)

    assert response.get_json()["data"]["status"] == "pending"
    wait_until(lambda: paystack.api("GET", f"/transfer/verify/{reference}").get_json()["data"]["status"] == "failed")
    assert paystack.deliveries(reference=reference)[-1]["event"] == "transfer.failed"


def test_a_pending_transfer_fails_or_succeeds_on_demand(paystack: Emulator) -> None:
    paystack.control("config", {"transfer_outcome": "pending"})
    failing, succeeding = a_transfer_reference(), a_transfer_reference()
    assert paystack.transfer(failing).get_json()["data"]["status"] == "pending"
    assert paystack.transfer(succeeding).get_json()["data"]["status"] == "pending"

    assert paystack.control(f"transfers/{failing}/fail").get_json()["data"]["status"] == "failed"
    assert paystack.control(f"transfers/{succeeding}/succeed").get_json()["data"]["status"] == "success"

    assert paystack.deliveries(reference=failing)[-1]["event"] == "transfer.failed"
    assert paystack.deliveries(reference=succeeding)[-1]["event"] == "transfer.success"


def test_a_successful_transfer_can_be_reversed_with_a_webhook(paystack: Emulator) -> None:
    reference = a_transfer_reference()
    paystack.transfer(reference)

    response = paystack.control(f"transfers/{reference}/reverse")

    assert response.get_json()["data"]["status"] == "reversed"
    assert paystack.deliveries(reference=reference)[-1]["event"] == "transfer.reversed"
    assert paystack.control(f"transfers/{reference}/fail").status_code == 409


def test_a_transfer_held_for_an_otp_is_finalized_with_the_test_otp(paystack: Emulator) -> None:
    reference = a_transfer_reference()
    paystack.control(f"transfers/{reference}/require-otp")

    created = paystack.transfer(reference).get_json()

    assert created["message"] == "Transfer requires OTP to continue"
    assert created["data"]["status"] == "otp"
    code = created["data"]["transfer_code"]
    wrong = paystack.api("POST", "/transfer/finalize_transfer", {"transfer_code": code, "otp": "000000"})
    assert error(wrong) == (400, "Invalid OTP")
    right = paystack.api("POST", "/transfer/finalize_transfer", {"transfer_code": code, "otp": "123456"})
    assert right.status_code == 200
    assert paystack.api("GET", f"/transfer/verify/{reference}").get_json()["data"]["status"] == "success"
    assert paystack.deliveries(reference=reference)[-1]["event"] == "transfer.success"


def test_an_unknown_transfer_is_not_found(paystack: Emulator) -> None:
    assert error(paystack.api("GET", "/transfer/verify/nope")) == (404, "Transfer not found")


def test_the_last_transfer_webhook_can_be_sent_again(paystack: Emulator) -> None:
    reference = a_transfer_reference()
    paystack.transfer(reference)

    response = paystack.control(f"transfers/{reference}/webhook", query_string={"times": "2"})

    assert response.status_code == 202
    assert [item["event"] for item in paystack.deliveries(reference=reference)] == ["transfer.success"] * 3


# --- faults, settings, reset -----------------------------------------------------------


def test_an_error_fault_answers_500_for_the_next_n_calls_only(paystack: Emulator) -> None:
    reference = paystack.paid()
    paystack.control("faults", {"route": "verify", "mode": "error", "count": 2})

    statuses = [paystack.api("GET", f"/transaction/verify/{reference}").status_code for _ in range(3)]

    assert statuses == [500, 500, 200]


def test_a_fault_can_choose_its_status(paystack: Emulator) -> None:
    paystack.control("faults", {"route": "initialize", "mode": "error", "count": 1, "status": 503})

    response = paystack.api("POST", "/transaction/initialize", {"email": "a@b.co", "amount": 100})

    assert response.status_code == 503


def test_a_timeout_fault_still_does_the_work(paystack: Emulator) -> None:
    paystack.control("faults", {"route": "initialize", "mode": "timeout", "count": 1, "seconds": 0.01})
    reference = a_reference()

    response = paystack.api(
        "POST", "/transaction/initialize", {"email": "a@b.co", "amount": 100, "reference": reference}
    )

    assert response.status_code == 200
    assert paystack.verify(reference)["status"] == "abandoned"


def test_faults_are_listed_and_cleared(paystack: Emulator) -> None:
    paystack.control("faults", {"route": "transfer", "mode": "timeout", "count": 4})

    listed = paystack.client.get("/_emulator/faults").get_json()["data"]
    cleared = paystack.client.delete("/_emulator/faults").get_json()["data"]

    assert listed == {"transfer": {"mode": "timeout", "remaining": 4, "status": 500, "seconds": None}}
    assert cleared == {}


@pytest.mark.parametrize(
    "body",
    [{"route": "nowhere", "mode": "error"}, {"route": "verify", "mode": "explode"}, {"route": "verify", "count": "x"}],
)
def test_bad_fault_requests_are_refused(paystack: Emulator, body: dict[str, Any]) -> None:
    assert paystack.control("faults", body).status_code == 400


@pytest.mark.parametrize(
    "body", [{"no_such_setting": 1}, {"fee_bps": "lots"}, {"transfer_outcome": "maybe"}, {"auto_process_refunds": 1}]
)
def test_bad_settings_are_refused(paystack: Emulator, body: dict[str, Any]) -> None:
    assert paystack.control("config", body).status_code == 400


def test_reset_forgets_everything_and_restores_the_settings(paystack: Emulator) -> None:
    reference = paystack.paid()
    paystack.control("config", {"fee_bps": 999})
    paystack.control("faults", {"route": "verify", "mode": "error", "count": 5})

    assert paystack.control("reset").status_code == 200

    assert error(paystack.api("GET", f"/transaction/verify/{reference}"))[0] == 404
    assert paystack.deliveries() == []
    assert paystack.client.get("/_emulator/config").get_json()["data"]["fee_bps"] == 150
    assert paystack.client.get("/_emulator/faults").get_json()["data"] == {}


def test_unknown_routes_answer_paystacks_error_envelope(paystack: Emulator) -> None:
    response = paystack.api("GET", "/nothing/here")

    assert error(response) == (404, "Not found")
    assert paystack.api("DELETE", "/transaction/initialize").status_code == 405
