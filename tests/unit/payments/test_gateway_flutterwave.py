"""The Flutterwave v3 gateway client against the Flutterwave emulator served on an ephemeral port (no HTTP mocks).

Amounts cross the wire in major units: every test that moves money checks the exact minor units
that come back, including amounts a float cannot carry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from market.domain.errors import GatewayError
from market.gateways import flutterwave as flutterwave_module
from market.gateways import registry
from market.gateways.base import GatewayApiError, GatewayNotFound, GatewayUnavailable, PaymentGateway
from market.gateways.flutterwave import FlutterwaveGateway, encode_json
from market.settings import get_settings
from tests.fixtures.paystack import LocalServer
from tests.helpers import wait_until
from tests.localdev.flutterwave_support import (
    SECRET_KEY,
    ServedEmulator,
    WebhookReceiver,
    a_transfer_reference,
    a_tx_ref,
)

CLIENT_TIMEOUT = 2.0
REDIRECT = "http://127.0.0.1:3000/orders/ord_1"


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def served(receiver: WebhookReceiver) -> Iterator[ServedEmulator]:
    emulator = ServedEmulator(receiver.url)
    yield emulator
    emulator.close()


@pytest.fixture
def emulator(served: ServedEmulator) -> Iterator[ServedEmulator]:
    served.app.reset()
    served.app.config.update({"webhook_retry_delays": [0.05], "transfer_settle_delay_seconds": 0})
    served.requests.clear()
    yield served
    served.app.reset()


@pytest.fixture
def gateway(emulator: ServedEmulator) -> Iterator[FlutterwaveGateway]:
    with requests.Session() as session:
        yield FlutterwaveGateway(
            emulator.url + "/v3", SECRET_KEY, CLIENT_TIMEOUT, retries=2, backoff_factor=0.01, session=session
        )


def control(emulator: ServedEmulator, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = emulator.control(path, body)
    assert response.status_code < 300, response.get_json()
    return dict(response.get_json())


def initialized(gateway: FlutterwaveGateway, amount: int = 250_000, currency: str = "NGN") -> str:
    tx_ref = a_tx_ref()
    gateway.initialize(
        reference=tx_ref, amount=amount, currency=currency, email="buyer@example.com", callback_url=REDIRECT
    )
    return tx_ref


def paid(gateway: FlutterwaveGateway, emulator: ServedEmulator, amount: int = 250_000) -> tuple[str, str]:
    """A payment paid on the emulator; returns (tx_ref, the successful attempt's transaction id)."""
    tx_ref = initialized(gateway, amount)
    attempt = control(emulator, f"transactions/{tx_ref}/pay")["data"]
    return tx_ref, str(attempt["id"])


def test_it_implements_the_port_and_the_registry_builds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUTTERWAVE_BASE_URL", "http://127.0.0.1:1/v3")
    monkeypatch.setenv("FLUTTERWAVE_SECRET_KEY", "FLWSECK-live-key")
    get_settings.cache_clear()
    registry.reset_gateways()
    try:
        built = registry.get_gateway("flutterwave")
        assert isinstance(built, FlutterwaveGateway)
        assert isinstance(built, PaymentGateway)
        assert built.name == "flutterwave"
        assert built.mode == "live"
        assert registry.get_gateway("flutterwave") is built
    finally:
        registry.reset_gateways()
        get_settings.cache_clear()
    assert FlutterwaveGateway("http://x/v3", "FLWSECK_TEST-abc", 1.0).mode == "test"


# ---------------------------------------------------------------- payments


def test_initialize_sends_major_units_exactly_and_answers_the_hosted_link(
    gateway: FlutterwaveGateway, emulator: ServedEmulator
) -> None:
    tx_ref = a_tx_ref()

    payment = gateway.initialize(
        reference=tx_ref,
        amount=250_050,
        currency="NGN",
        email="buyer@example.com",
        callback_url=REDIRECT,
        metadata={"order_id": "ord_1"},
    )

    assert payment.gateway == "flutterwave"
    assert payment.reference == tx_ref
    assert payment.authorization_url.startswith(emulator.url + "/hosted/pay/")
    [sent] = [seen for seen in emulator.requests if seen.path == "/v3/payments"]
    body = json.loads(sent.body, parse_float=Decimal)
    assert body["amount"] == Decimal("2500.50")
    assert b'"amount":2500.50' in sent.body  # the exact decimal text, not a float's repr
    assert body["redirect_url"] == REDIRECT
    assert body["customer"] == {"email": "buyer@example.com"}
    assert body["meta"] == {"order_id": "ord_1"}
    assert emulator.app.payments.payment(tx_ref).amount == 250_050


def test_initialize_without_a_redirect_url_is_refused_before_any_call(
    gateway: FlutterwaveGateway, emulator: ServedEmulator
) -> None:
    with pytest.raises(GatewayApiError, match="redirect URL"):
        gateway.initialize(reference=a_tx_ref(), amount=250_000, currency="NGN", email="buyer@example.com")

    assert [seen.path for seen in emulator.requests] == []


def test_verify_by_reference_reports_a_paid_charge_in_minor_units(
    gateway: FlutterwaveGateway, emulator: ServedEmulator
) -> None:
    tx_ref, transaction_id = paid(gateway, emulator, 250_050)

    verified = gateway.verify(tx_ref)

    assert verified.is_successful
    assert (verified.reference, verified.gateway_id) == (tx_ref, transaction_id)
    assert (verified.amount, verified.currency) == (250_050, "NGN")
    assert verified.gateway_status == "successful"
    assert verified.fees == 3_501  # 1.4 % of 2,500.50 = 35.0070 -> 35.01 (the emulator rounds half up)
    assert verified.paid_at is not None
    assert verified.customer_email == "buyer@example.com"
    assert verified.mode is None


def test_the_largest_amount_the_emulator_takes_is_read_back_exactly(
    gateway: FlutterwaveGateway, emulator: ServedEmulator
) -> None:
    largest = 99_999_999_999_999  # NGN 999,999,999,999.99
    tx_ref, _ = paid(gateway, emulator, largest)

    assert gateway.verify(tx_ref).amount == largest


def a_transaction(amount: str) -> str:
    """A verify answer whose amount is the JSON number text ``amount``, as written."""
    return (
        '{"status":"success","message":"Transaction fetched successfully","data":{"id":7,"tx_ref":"mkt-1",'
        f'"status":"successful","amount":{amount},"currency":"NGN"}}}}'
    )


def raw_server(text: str) -> LocalServer:
    """A server answering every request with ``text`` (answers the emulator never gives)."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        Request(environ).get_data()
        return Response(text, 200, content_type="application/json")(environ, start_response)

    return LocalServer(app)


def test_an_amount_no_float_can_carry_is_read_exactly() -> None:
    server = raw_server(a_transaction("99999999999999.99"))  # 16 digits: as a float it reads ...99.98
    try:
        client = FlutterwaveGateway(server.url + "/v3", SECRET_KEY, CLIENT_TIMEOUT, retries=0)
        assert client.verify("mkt-1").amount == 9_999_999_999_999_999
    finally:
        server.close()


def test_verify_by_transaction_id_uses_the_id_the_webhook_named(
    gateway: FlutterwaveGateway, emulator: ServedEmulator
) -> None:
    tx_ref, transaction_id = paid(gateway, emulator)

    verified = gateway.verify(tx_ref, transaction_id=transaction_id)

    assert verified.gateway_id == transaction_id
    paths = [seen.path for seen in emulator.requests if seen.path.startswith("/v3/transactions")]
    assert paths == [f"/v3/transactions/{transaction_id}/verify"]


def test_a_declined_attempt_does_not_hide_a_later_payment(
    gateway: FlutterwaveGateway, emulator: ServedEmulator
) -> None:
    tx_ref = initialized(gateway)
    declined = control(emulator, f"transactions/{tx_ref}/decline")["data"]
    assert gateway.verify(tx_ref, transaction_id=str(declined["id"])).status == "failed"
    control(emulator, f"transactions/{tx_ref}/pay")

    # The failed webhook's id is verified, then the tx_ref: its successful attempt wins.
    verified = gateway.verify(tx_ref, transaction_id=str(declined["id"]))

    assert verified.is_successful
    assert verified.gateway_id != str(declined["id"])


def test_a_transaction_id_of_another_payment_is_not_taken_for_this_one(
    gateway: FlutterwaveGateway, emulator: ServedEmulator
) -> None:
    _, other_id = paid(gateway, emulator)
    unpaid = initialized(gateway)

    with pytest.raises(GatewayNotFound):
        gateway.verify(unpaid, transaction_id=other_id)

    unknown_id = gateway.verify(paid(gateway, emulator)[0], transaction_id="999999999")
    assert unknown_id.is_successful


def test_verify_of_an_unknown_reference_is_not_found(gateway: FlutterwaveGateway, emulator: ServedEmulator) -> None:
    with pytest.raises(GatewayNotFound):
        gateway.verify(a_tx_ref())
    emulator.app.config.update({"not_found_status": 400})  # Flutterwave may answer 400 with the same message
    with pytest.raises(GatewayNotFound):
        gateway.verify(initialized(gateway))


def test_a_pending_attempt_reads_pending(gateway: FlutterwaveGateway, emulator: ServedEmulator) -> None:
    tx_ref = initialized(gateway)
    control(emulator, f"transactions/{tx_ref}/pending")

    verified = gateway.verify(tx_ref)

    assert (verified.status, verified.gateway_status, verified.paid_at) == ("pending", "pending", None)


def test_an_amount_finer_than_the_minor_unit_is_an_unusable_answer() -> None:
    server = raw_server(a_transaction("2500.005"))
    try:
        client = FlutterwaveGateway(server.url + "/v3", SECRET_KEY, CLIENT_TIMEOUT, retries=0)
        with pytest.raises(GatewayApiError, match="unusable amount"):
            client.verify("mkt-1")
    finally:
        server.close()


# ---------------------------------------------------------------- refunds


def test_a_full_and_a_partial_refund_are_in_minor_units_and_read_back(
    gateway: FlutterwaveGateway, emulator: ServedEmulator
) -> None:
    tx_ref, transaction_id = paid(gateway, emulator, 250_050)

    part = gateway.refund(reference=tx_ref, amount=50_025, currency="NGN")
    rest = gateway.refund(reference=tx_ref, amount=200_025)

    assert (part.amount, part.currency, part.status, part.gateway_status) == (50_025, "NGN", "processed", "completed")
    assert part.transaction_reference == tx_ref
    assert rest.amount == 200_025
    [sent, _] = [seen for seen in emulator.requests if seen.path == f"/v3/transactions/{transaction_id}/refund"]
    assert json.loads(sent.body, parse_float=Decimal) == {"amount": Decimal("500.25")}
    fetched = gateway.get_refund(part.id)
    assert (fetched.id, fetched.amount, fetched.currency, fetched.transaction_reference) == (
        part.id,
        50_025,
        "NGN",
        tx_ref,
    )
    with pytest.raises(GatewayApiError, match="fully refunded"):
        gateway.refund(reference=tx_ref, amount=100)


def test_a_processing_refund_reads_pending_until_it_completes(
    gateway: FlutterwaveGateway, emulator: ServedEmulator
) -> None:
    emulator.app.config.update({"refund_outcome": "processing"})
    tx_ref, _ = paid(gateway, emulator)

    refund = gateway.refund(reference=tx_ref, amount=100_000)
    assert refund.status == "pending"
    control(emulator, f"refunds/{refund.id}/complete")

    assert gateway.get_refund(refund.id).status == "processed"


def test_a_refund_whose_answer_was_lost_is_in_the_transactions_listing(
    gateway: FlutterwaveGateway, emulator: ServedEmulator
) -> None:
    tx_ref, _ = paid(gateway, emulator, 250_000)
    other, _ = paid(gateway, emulator, 250_000)
    first = gateway.refund(reference=tx_ref, amount=50_025)
    gateway.refund(reference=other, amount=70_000)
    control(emulator, "faults", {"route": "refund", "mode": "timeout", "count": 1, "seconds": CLIENT_TIMEOUT + 1})

    with pytest.raises(GatewayUnavailable):
        gateway.refund(reference=tx_ref, amount=60_000)  # made at the gateway, the answer lost
    listed = gateway.list_refunds(tx_ref)

    assert [(r.amount, r.currency, r.transaction_reference, r.status) for r in listed] == [
        (50_025, "NGN", tx_ref, "processed"),
        (60_000, "NGN", tx_ref, "processed"),
    ]
    assert listed[0].id == first.id  # oldest first
    assert gateway.list_refunds(initialized(gateway)) == []  # an unpaid payment has none


def test_refunding_an_unpaid_payment_is_refused(gateway: FlutterwaveGateway, emulator: ServedEmulator) -> None:
    tx_ref = initialized(gateway)
    control(emulator, f"transactions/{tx_ref}/decline")

    with pytest.raises(GatewayApiError, match="not successful"):
        gateway.refund(reference=tx_ref, amount=1_000)
    with pytest.raises(GatewayNotFound):
        gateway.get_refund("424242")


# ---------------------------------------------------------------- banks, accounts and transfers


def test_banks_of_a_currency_and_account_resolution(gateway: FlutterwaveGateway, emulator: ServedEmulator) -> None:
    banks = gateway.list_banks("NGN")
    resolved = gateway.resolve_account(account_number="0690000031", bank_code="044")

    assert ("044", "Access Bank", "NG") in {(bank.code, bank.name, bank.country) for bank in banks}
    assert gateway.list_banks("USD") == []
    assert resolved.account_number == "0690000031"
    assert resolved.account_name
    assert resolved.bank_code == "044"
    with pytest.raises(GatewayApiError) as refused:
        gateway.resolve_account(account_number="0000000000", bank_code="044")
    assert not isinstance(refused.value, GatewayNotFound)


def test_a_transfer_goes_to_the_account_in_the_recipient_code_and_settles(
    gateway: FlutterwaveGateway, emulator: ServedEmulator, receiver: WebhookReceiver
) -> None:
    recipient = gateway.create_transfer_recipient(
        name="ADA OKAFOR", account_number="0690000031", bank_code="044", currency="NGN"
    )
    reference = a_transfer_reference()

    started = gateway.initiate_transfer(
        reference=reference, amount=1_234_567, currency="NGN", recipient_code=recipient.recipient_code, reason="Payout"
    )

    assert (recipient.recipient_code, recipient.bank_name) == ("044:0690000031", "Access Bank")
    assert (started.reference, started.status, started.gateway_status) == (reference, "pending", "NEW")
    assert (started.amount, started.currency) == (1_234_567, "NGN")
    transfer = emulator.app.transfers.by_reference(reference)
    assert (transfer.bank_code, transfer.account_number, transfer.amount) == ("044", "0690000031", 1_234_567)
    settled = wait_until(lambda: gateway.verify_transfer(reference).status == "success", what="transfer settled")
    assert settled
    assert gateway.verify_transfer(reference).transfer_code == started.transfer_code


def test_a_failed_transfer_reads_failed_with_its_message(gateway: FlutterwaveGateway, emulator: ServedEmulator) -> None:
    emulator.app.config.update({"transfer_outcome": "pending"})
    reference = a_transfer_reference()
    gateway.initiate_transfer(reference=reference, amount=500_000, currency="NGN", recipient_code="044:0690000031")
    control(emulator, f"transfers/{reference}/fail", {"reason": "Account closed"})

    failed = gateway.verify_transfer(reference)

    assert (failed.status, failed.gateway_status) == ("failed", "FAILED")
    assert failed.failure_reason == "DISBURSE FAILED: Account closed"


def test_a_repeated_transfer_reference_is_refused_and_the_first_is_found_by_reference(
    gateway: FlutterwaveGateway, emulator: ServedEmulator
) -> None:
    reference = a_transfer_reference()
    first = gateway.initiate_transfer(
        reference=reference, amount=500_000, currency="NGN", recipient_code="044:0690000031"
    )

    with pytest.raises(GatewayApiError):
        gateway.initiate_transfer(reference=reference, amount=500_000, currency="NGN", recipient_code="044:0690000031")

    assert gateway.verify_transfer(reference).transfer_code == first.transfer_code
    with pytest.raises(GatewayNotFound):
        gateway.verify_transfer(a_transfer_reference())


def test_an_unfiltered_transfer_list_is_paged_and_never_read_as_not_found() -> None:
    """If Flutterwave ignores ``reference=`` (it is not in its v3 reference), every page is read."""
    pages = {
        "1": [{"id": 1, "reference": "other-1", "status": "SUCCESSFUL", "amount": 10, "currency": "NGN"}],
        "2": [{"id": 2, "reference": "po_1", "status": "SUCCESSFUL", "amount": 10.5, "currency": "NGN"}],
    }
    asked: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        page = Request(environ).args.get("page", "1")
        asked.append(page)
        others = [
            {"id": 100 + int(page), "reference": f"other-{page}", "status": "NEW", "amount": 1, "currency": "NGN"}
        ]
        body = {"status": "success", "data": pages.get(page, others), "meta": {"page_info": {"total_pages": 50}}}
        return Response(json.dumps(body), 200, content_type="application/json")(environ, start_response)

    server = LocalServer(app)
    try:
        client = FlutterwaveGateway(server.url + "/v3", SECRET_KEY, CLIENT_TIMEOUT, retries=0)
        found = client.verify_transfer("po_1")
        assert (found.reference, found.amount, found.status) == ("po_1", 1_050, "success")
        with pytest.raises(GatewayApiError) as unclear:
            client.verify_transfer("po_missing")
        assert not isinstance(unclear.value, GatewayNotFound)
        assert len(asked) == 2 + flutterwave_module.MAX_TRANSFER_PAGES
    finally:
        server.close()


def test_a_recipient_code_that_is_not_an_account_is_refused(gateway: FlutterwaveGateway) -> None:
    with pytest.raises(GatewayApiError, match="recipient"):
        gateway.initiate_transfer(
            reference=a_transfer_reference(), amount=500_000, currency="NGN", recipient_code="RCP_x"
        )


# ---------------------------------------------------------------- transport


def test_a_5xx_on_verify_is_retried_and_then_unavailable(gateway: FlutterwaveGateway, emulator: ServedEmulator) -> None:
    tx_ref, _ = paid(gateway, emulator)
    control(emulator, "faults", {"route": "verify_by_reference", "mode": "error", "count": 2})
    assert gateway.verify(tx_ref).is_successful  # two 500s, then the third try answers

    control(emulator, "faults", {"route": "verify_by_reference", "mode": "error", "count": 3})
    with pytest.raises(GatewayUnavailable):
        gateway.verify(tx_ref)


def test_a_post_is_never_repeated_after_a_5xx(gateway: FlutterwaveGateway, emulator: ServedEmulator) -> None:
    control(emulator, "faults", {"route": "payments", "mode": "error", "count": 1})

    with pytest.raises(GatewayUnavailable):
        initialized(gateway)

    assert len([seen for seen in emulator.requests if seen.path == "/v3/payments"]) == 1


def test_a_wrong_key_is_a_refusal_not_an_outage(emulator: ServedEmulator) -> None:
    client = FlutterwaveGateway(emulator.url + "/v3", "FLWSECK_TEST-wrong", CLIENT_TIMEOUT, retries=0)

    with pytest.raises(GatewayApiError) as refused:
        client.verify(a_tx_ref())

    assert refused.value.http_status == 401
    assert isinstance(refused.value, GatewayError)
    assert refused.value.gateway_message == "Invalid authorization key"


def test_an_unreachable_gateway_is_unavailable() -> None:
    client = FlutterwaveGateway("http://127.0.0.1:9/v3", SECRET_KEY, 0.5, retries=0)

    with pytest.raises(GatewayUnavailable):
        client.verify("mkt-1")


def test_json_bodies_carry_decimals_exactly() -> None:
    body = {"amount": Decimal("999999999999.99"), "meta": {"n": [1, "a", None, True]}, "fee": Decimal("26.875")}

    text = encode_json(body)

    assert text == '{"amount":999999999999.99,"meta":{"n":[1,"a",null,true]},"fee":26.875}'
    assert json.loads(text, parse_float=Decimal) == body
    assert flutterwave_module._rounded(Decimal("26.875"), "NGN") == 2_688
    assert flutterwave_module._rounded(Decimal("26.874"), "NGN") == 2_687
