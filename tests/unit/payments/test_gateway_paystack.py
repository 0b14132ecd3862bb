"""The Paystack gateway client against the emulator served on an ephemeral port (no mocks of HTTP)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from market.domain.errors import GatewayError, TransientError
from market.gateways import paystack as paystack_module
from market.gateways import registry
from market.gateways.base import GatewayApiError, GatewayNotFound, GatewayUnavailable, PaymentGateway
from market.gateways.credentials import MissingSecret, paystack_secret_key, resolve_secret
from market.gateways.paystack import PaystackGateway
from market.gateways.paystack_webhook import sign, verify_webhook_signature
from market.settings import get_settings
from tests.fixtures.paystack import SECRET_KEY, RunningEmulator, WebhookReceiver, unused_port
from tests.helpers import wait_until

CLIENT_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def running(receiver: WebhookReceiver) -> Iterator[RunningEmulator]:
    emulator = RunningEmulator(receiver.url)
    yield emulator
    emulator.close()


@pytest.fixture
def emulator(running: RunningEmulator) -> Iterator[RunningEmulator]:
    running.emulator.reset()
    running.emulator.config.update({"webhook_retry_delays": [0.05, 0.05], "fault_timeout_seconds": 2.0})
    yield running
    running.emulator.reset()


@pytest.fixture
def gateway(emulator: RunningEmulator) -> Iterator[PaystackGateway]:
    with requests.Session() as session:
        yield PaystackGateway(emulator.url, SECRET_KEY, CLIENT_TIMEOUT, retries=2, backoff_factor=0.01, session=session)


def control(emulator: RunningEmulator, path: str, **body: Any) -> dict[str, Any]:
    response = requests.post(f"{emulator.url}/_emulator/{path}", json=body or None, timeout=5)
    assert response.status_code < 300, response.text
    return dict(response.json())


def faults(emulator: RunningEmulator) -> dict[str, Any]:
    return dict(requests.get(f"{emulator.url}/_emulator/faults", timeout=5).json()["data"])


def a_reference() -> str:
    return "ord-" + uuid.uuid4().hex


def initialized(gateway: PaystackGateway, amount: int = 250_000, currency: str = "NGN") -> str:
    reference = a_reference()
    gateway.initialize(reference=reference, amount=amount, currency=currency, email="buyer@example.com")
    return reference


def paid(gateway: PaystackGateway, emulator: RunningEmulator, amount: int = 250_000) -> str:
    reference = initialized(gateway, amount)
    control(emulator, f"transactions/{reference}/pay")
    return reference


# --- payments --------------------------------------------------------------------------


def test_the_client_implements_the_gateway_port(gateway: PaystackGateway) -> None:
    assert isinstance(gateway, PaymentGateway)
    assert gateway.name == "paystack"


def test_initialize_returns_the_checkout_link_for_our_reference(
    gateway: PaystackGateway, emulator: RunningEmulator
) -> None:
    reference = a_reference()

    payment = gateway.initialize(
        reference=reference,
        amount=500_000,
        currency="NGN",
        email="buyer@example.com",
        callback_url="http://127.0.0.1:3000/orders/o1/return",
        metadata={"order_id": "o1"},
    )

    assert payment.reference == reference
    assert payment.gateway == "paystack"
    assert payment.access_code
    assert payment.authorization_url == f"{emulator.url}/checkout/{payment.access_code}"
    page = requests.get(payment.authorization_url, timeout=5)
    assert page.status_code == 200
    assert "NGN 5,000.00" in page.text


def test_verify_before_payment_reports_abandoned_not_paid(gateway: PaystackGateway) -> None:
    reference = initialized(gateway, 250_000)

    payment = gateway.verify(reference)

    assert payment.status == "abandoned"
    assert not payment.is_successful
    assert payment.paid_at is None
    assert payment.amount == 250_000


def test_verify_after_payment_reports_success_with_amount_fees_and_domain(
    gateway: PaystackGateway, emulator: RunningEmulator
) -> None:
    reference = paid(gateway, emulator, 250_000)

    payment = gateway.verify(reference)

    assert payment.is_successful
    assert payment.gateway_status == "success"
    assert payment.reference == reference
    assert (payment.amount, payment.requested_amount, payment.currency) == (250_000, 250_000, "NGN")
    assert payment.fees == 3_750  # 1.5 %
    assert payment.mode == "test"
    assert payment.paid_at is not None
    assert payment.paid_at.tzinfo is not None
    assert payment.gateway_id.isdigit()
    assert payment.customer_email == "buyer@example.com"
    assert payment.gateway_response == "Successful"


def test_a_payment_of_another_amount_and_currency_shows_in_verify(
    gateway: PaystackGateway, emulator: RunningEmulator
) -> None:
    reference = initialized(gateway, 250_000, "NGN")
    control(emulator, f"transactions/{reference}/pay", amount=100_000, currency="GHS")

    payment = gateway.verify(reference)

    assert payment.is_successful
    assert (payment.amount, payment.currency) == (100_000, "GHS")
    assert payment.requested_amount == 250_000


def test_a_declined_payment_verifies_as_failed(gateway: PaystackGateway, emulator: RunningEmulator) -> None:
    reference = initialized(gateway)
    control(emulator, f"transactions/{reference}/decline")

    payment = gateway.verify(reference)

    assert payment.status == "failed"
    assert payment.gateway_response == "Declined"


def test_a_reused_reference_is_a_gateway_error_with_paystacks_code(gateway: PaystackGateway) -> None:
    reference = initialized(gateway)

    with pytest.raises(GatewayApiError) as caught:
        gateway.initialize(reference=reference, amount=1_000, currency="NGN", email="buyer@example.com")

    assert isinstance(caught.value, GatewayError)
    assert caught.value.http_status == 400
    assert caught.value.code == "duplicate_reference"
    assert caught.value.gateway_message == "Duplicate Transaction Reference"


def test_a_wrong_secret_key_is_a_401_gateway_error(emulator: RunningEmulator) -> None:
    client = PaystackGateway(emulator.url, "sk_test_wrong", CLIENT_TIMEOUT)

    with pytest.raises(GatewayApiError) as caught:
        client.initialize(reference=a_reference(), amount=1_000, currency="NGN", email="buyer@example.com")

    assert caught.value.http_status == 401
    assert caught.value.gateway_message == "Invalid key"
    assert not isinstance(caught.value, TransientError)


def test_verify_of_an_unknown_reference_is_not_found(gateway: PaystackGateway) -> None:
    with pytest.raises(GatewayNotFound) as caught:
        gateway.verify("never-initialized-" + uuid.uuid4().hex)

    assert caught.value.gateway_message == "Transaction reference not found"


def test_verify_of_an_unknown_reference_is_not_found_when_paystack_answers_400(
    gateway: PaystackGateway, emulator: RunningEmulator
) -> None:
    control(emulator, "config", unknown_reference_status=400)

    with pytest.raises(GatewayNotFound) as caught:
        gateway.verify("never-initialized-" + uuid.uuid4().hex)

    assert caught.value.http_status == 400


# --- retries, timeouts -----------------------------------------------------------------


def test_verify_is_retried_after_5xx_answers_and_then_succeeds(
    gateway: PaystackGateway, emulator: RunningEmulator
) -> None:
    reference = paid(gateway, emulator)
    control(emulator, "faults", route="verify", mode="error", count=2)

    payment = gateway.verify(reference)

    assert payment.is_successful
    assert faults(emulator)["verify"]["remaining"] == 0


def test_verify_failing_past_the_retries_is_transient(gateway: PaystackGateway, emulator: RunningEmulator) -> None:
    reference = paid(gateway, emulator)
    control(emulator, "faults", route="verify", mode="error", count=10, status=503)

    with pytest.raises(GatewayUnavailable) as caught:
        gateway.verify(reference)

    assert isinstance(caught.value, TransientError)
    assert caught.value.http_status == 503
    assert faults(emulator)["verify"]["remaining"] == 7  # one call and two retries


def test_a_verify_that_times_out_every_time_is_transient(gateway: PaystackGateway, emulator: RunningEmulator) -> None:
    reference = paid(gateway, emulator)
    control(emulator, "faults", route="verify", mode="timeout", count=3, seconds=2.0)

    with pytest.raises(TransientError):
        gateway.verify(reference)

    assert faults(emulator)["verify"]["remaining"] == 0  # read timeouts on GET are retried


def test_a_verify_that_times_out_once_is_retried_and_succeeds(
    gateway: PaystackGateway, emulator: RunningEmulator
) -> None:
    reference = paid(gateway, emulator)
    control(emulator, "faults", route="verify", mode="timeout", count=1, seconds=2.0)

    assert gateway.verify(reference).is_successful


def test_initialize_is_not_repeated_after_a_read_timeout(gateway: PaystackGateway, emulator: RunningEmulator) -> None:
    reference = a_reference()
    control(emulator, "faults", route="initialize", mode="timeout", count=2, seconds=2.0)

    with pytest.raises(GatewayUnavailable):
        gateway.initialize(reference=reference, amount=1_000, currency="NGN", email="buyer@example.com")

    assert faults(emulator)["initialize"]["remaining"] == 1  # sent once
    assert gateway.verify(reference).status == "abandoned"  # the gateway did create it


def test_initialize_is_not_repeated_after_a_5xx(gateway: PaystackGateway, emulator: RunningEmulator) -> None:
    control(emulator, "faults", route="initialize", mode="error", count=2)

    with pytest.raises(GatewayUnavailable) as caught:
        gateway.initialize(reference=a_reference(), amount=1_000, currency="NGN", email="buyer@example.com")

    assert caught.value.http_status == 500
    assert faults(emulator)["initialize"]["remaining"] == 1


def test_an_unreachable_gateway_is_transient() -> None:
    client = PaystackGateway(f"http://127.0.0.1:{unused_port()}", SECRET_KEY, CLIENT_TIMEOUT, backoff_factor=0.01)

    with pytest.raises(GatewayUnavailable):
        client.verify("any-reference")
    with pytest.raises(GatewayUnavailable):
        client.initialize(reference=a_reference(), amount=1_000, currency="NGN", email="buyer@example.com")


# --- refunds ---------------------------------------------------------------------------


def test_a_full_refund_is_pending_then_processed(gateway: PaystackGateway, emulator: RunningEmulator) -> None:
    reference = paid(gateway, emulator, 250_000)

    refund = gateway.refund(reference=reference, note="buyer asked")

    assert (refund.status, refund.amount, refund.currency) == ("pending", 250_000, "NGN")
    assert refund.transaction_reference == reference
    wait_until(lambda: gateway.get_refund(refund.id).status == "processed", what="refund processed")
    processed = gateway.get_refund(refund.id)
    assert processed.id == refund.id
    assert processed.transaction_reference == reference
    assert gateway.verify(reference).status == "reversed"


def test_a_partial_refund_keeps_the_payment_successful(gateway: PaystackGateway, emulator: RunningEmulator) -> None:
    control(emulator, "config", auto_process_refunds=False)
    reference = paid(gateway, emulator, 250_000)

    refund = gateway.refund(reference=reference, amount=100_000)
    control(emulator, f"refunds/{refund.id}/process")

    assert gateway.get_refund(refund.id).status == "processed"
    assert gateway.get_refund(refund.id).amount == 100_000
    assert gateway.verify(reference).status == "success"


def test_a_refund_above_what_is_left_is_refused(gateway: PaystackGateway, emulator: RunningEmulator) -> None:
    reference = paid(gateway, emulator, 10_000)

    with pytest.raises(GatewayApiError) as caught:
        gateway.refund(reference=reference, amount=10_001)

    assert caught.value.http_status == 400


def test_a_refund_of_an_unpaid_transaction_is_refused(gateway: PaystackGateway) -> None:
    with pytest.raises(GatewayApiError):
        gateway.refund(reference=initialized(gateway))


def test_an_unknown_refund_is_not_found(gateway: PaystackGateway) -> None:
    with pytest.raises(GatewayNotFound):
        gateway.get_refund("999")


def test_a_refund_whose_answer_was_lost_is_in_the_transactions_listing(
    gateway: PaystackGateway, emulator: RunningEmulator
) -> None:
    control(emulator, "config", auto_process_refunds=False)
    reference = paid(gateway, emulator, 250_000)
    other = paid(gateway, emulator, 250_000)
    first = gateway.refund(reference=reference, amount=50_000)
    gateway.refund(reference=other, amount=70_000)
    control(emulator, "faults", operation="refund", mode="lost")

    with pytest.raises(GatewayUnavailable):
        gateway.refund(reference=reference, amount=60_000)  # made at the gateway, the answer lost
    listed = gateway.list_refunds(reference)

    assert [(r.amount, r.transaction_reference, r.status) for r in listed] == [
        (50_000, reference, "pending"),
        (60_000, reference, "pending"),
    ]
    assert listed[0].id == first.id  # oldest first


def test_a_refund_that_needs_attention_reads_as_such(gateway: PaystackGateway, emulator: RunningEmulator) -> None:
    control(emulator, "config", auto_process_refunds=False)
    reference = paid(gateway, emulator, 250_000)
    refund = gateway.refund(reference=reference)

    control(emulator, f"refunds/{refund.id}/needs-attention")

    fetched = gateway.get_refund(refund.id)
    assert (fetched.status, fetched.gateway_status) == ("needs_attention", "needs-attention")
    assert gateway.list_refunds(reference)[0].status == "needs_attention"


# --- banks, accounts, transfers --------------------------------------------------------


def test_list_banks_follows_the_cursor_across_pages(gateway: PaystackGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paystack_module, "BANKS_PAGE_SIZE", 2)

    banks = gateway.list_banks("NGN")

    assert sorted(bank.code for bank in banks) == ["011", "044", "058"]
    assert {bank.name for bank in banks} >= {"Guaranty Trust Bank", "Access Bank"}
    assert gateway.list_banks("GHS") == []


def test_resolve_account_gives_a_stable_name(gateway: PaystackGateway) -> None:
    first = gateway.resolve_account(account_number="0123456789", bank_code="058")
    again = gateway.resolve_account(account_number="0123456789", bank_code="058")

    assert first.account_name == again.account_name
    assert first.account_name
    assert (first.account_number, first.bank_code) == ("0123456789", "058")


def test_an_account_that_does_not_resolve_is_a_gateway_error(gateway: PaystackGateway) -> None:
    with pytest.raises(GatewayApiError) as caught:
        gateway.resolve_account(account_number="0000000000", bank_code="058")

    assert caught.value.http_status == 422
    assert "Could not resolve account name" in caught.value.gateway_message


def test_a_recipient_is_created_once_per_account(gateway: PaystackGateway) -> None:
    first = gateway.create_transfer_recipient(
        name="Ada Creator", account_number="0123456789", bank_code="044", currency="NGN"
    )
    again = gateway.create_transfer_recipient(
        name="Ada Creator", account_number="0123456789", bank_code="044", currency="NGN"
    )

    assert first.recipient_code.startswith("RCP_")
    assert again.recipient_code == first.recipient_code
    assert first.bank_name == "Access Bank"
    assert first.account_name == gateway.resolve_account(account_number="0123456789", bank_code="044").account_name


def a_recipient(gateway: PaystackGateway) -> str:
    return gateway.create_transfer_recipient(
        name="Ada Creator", account_number="0123456789", bank_code="058", currency="NGN"
    ).recipient_code


def test_a_transfer_succeeds_and_verifies_by_our_reference(gateway: PaystackGateway) -> None:
    reference = "payout-" + uuid.uuid4().hex

    transfer = gateway.initiate_transfer(
        reference=reference, amount=50_000, currency="NGN", recipient_code=a_recipient(gateway), reason="payout"
    )

    assert transfer.status == "success"
    assert transfer.transfer_code is not None
    assert transfer.transfer_code.startswith("TRF_")
    verified = gateway.verify_transfer(reference)
    assert (verified.status, verified.amount, verified.currency, verified.reference) == (
        "success",
        50_000,
        "NGN",
        reference,
    )
    assert verified.transferred_at is not None


def test_a_reused_transfer_reference_is_refused_and_the_first_transfer_stands(gateway: PaystackGateway) -> None:
    reference = "payout-" + uuid.uuid4().hex
    recipient = a_recipient(gateway)
    gateway.initiate_transfer(reference=reference, amount=50_000, currency="NGN", recipient_code=recipient)

    with pytest.raises(GatewayApiError) as caught:
        gateway.initiate_transfer(reference=reference, amount=50_000, currency="NGN", recipient_code=recipient)

    assert caught.value.http_status == 400
    assert gateway.verify_transfer(reference).status == "success"


def test_a_transfer_to_an_unknown_recipient_is_refused(gateway: PaystackGateway) -> None:
    with pytest.raises(GatewayApiError) as caught:
        gateway.initiate_transfer(
            reference="payout-" + uuid.uuid4().hex, amount=50_000, currency="NGN", recipient_code="RCP_unknown"
        )

    assert caught.value.code == "invalid_transfer_recipient"


def test_a_failing_transfer_starts_pending_and_verifies_failed(
    gateway: PaystackGateway, emulator: RunningEmulator
) -> None:
    control(emulator, "config", transfer_outcome="failed")
    reference = "payout-" + uuid.uuid4().hex

    transfer = gateway.initiate_transfer(
        reference=reference, amount=50_000, currency="NGN", recipient_code=a_recipient(gateway)
    )

    assert transfer.status == "pending"
    wait_until(lambda: gateway.verify_transfer(reference).status == "failed", what="transfer failed")
    assert gateway.verify_transfer(reference).failure_reason == "Account closed"


def test_a_transfer_held_for_an_otp_is_pending(gateway: PaystackGateway, emulator: RunningEmulator) -> None:
    control(emulator, "config", transfers_require_otp=True)

    transfer = gateway.initiate_transfer(
        reference="payout-" + uuid.uuid4().hex, amount=50_000, currency="NGN", recipient_code=a_recipient(gateway)
    )

    assert (transfer.status, transfer.gateway_status, transfer.requires_otp) == ("pending", "otp", True)


def test_verify_of_an_unknown_transfer_is_not_found(gateway: PaystackGateway) -> None:
    with pytest.raises(GatewayNotFound):
        gateway.verify_transfer("payout-" + uuid.uuid4().hex)


# --- factory and secrets ---------------------------------------------------------------


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    registry.reset_gateways()
    get_settings.cache_clear()
    yield
    registry.reset_gateways()
    get_settings.cache_clear()


@pytest.mark.usefixtures("fresh_registry")
def test_get_gateway_builds_one_paystack_client_from_settings(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYSTACK_BASE_URL", emulator.url)
    monkeypatch.setenv("PAYSTACK_SECRET_KEY", SECRET_KEY)

    gateway = registry.get_gateway()

    assert gateway is registry.get_gateway("paystack")
    assert isinstance(gateway, PaystackGateway)
    reference = a_reference()
    gateway.initialize(reference=reference, amount=1_000, currency="NGN", email="buyer@example.com")
    assert gateway.verify(reference).status == "abandoned"


@pytest.mark.usefixtures("fresh_registry")
def test_an_overridden_gateway_is_served_until_reset(gateway: PaystackGateway) -> None:
    registry.override_gateway("paystack", gateway)

    assert registry.get_gateway("paystack") is gateway
    registry.reset_gateways()
    assert registry.get_gateway("paystack") is not gateway


@pytest.mark.usefixtures("fresh_registry")
def test_an_unknown_gateway_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown payment gateway"):
        registry.get_gateway("bitcoin-by-post")


def test_the_secret_key_comes_from_the_environment_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYSTACK_SECRET_KEY", "sk_test_from_env")
    monkeypatch.setenv("PAYSTACK_SECRET_PARAMETER", "/market/never-read")

    assert paystack_secret_key() == "sk_test_from_env"


def test_without_a_key_the_secret_comes_from_an_ssm_securestring(
    aws_resources: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "/market/unit/paystack-" + uuid.uuid4().hex
    boto3.client("ssm", region_name="us-east-1").put_parameter(Name=name, Value="sk_test_from_ssm", Type="SecureString")
    monkeypatch.setenv("PAYSTACK_SECRET_KEY", "")
    monkeypatch.setenv("PAYSTACK_SECRET_PARAMETER", name)

    assert paystack_secret_key() == "sk_test_from_ssm"


def test_no_key_and_no_parameter_is_a_configuration_error() -> None:
    with pytest.raises(MissingSecret):
        resolve_secret(None, None)


# --- webhook signatures ----------------------------------------------------------------

BODY = b'{"event":"charge.success","data":{"reference":"ord-1","amount":250000}}'


def test_a_signature_over_the_exact_body_verifies() -> None:
    assert verify_webhook_signature(BODY, sign(BODY, SECRET_KEY), SECRET_KEY)


def test_a_signature_made_with_another_key_is_rejected() -> None:
    assert not verify_webhook_signature(BODY, sign(BODY, "sk_test_other"), SECRET_KEY)


@pytest.mark.parametrize("missing", [None, ""])
def test_a_missing_signature_is_rejected(missing: str | None) -> None:
    assert not verify_webhook_signature(BODY, missing, SECRET_KEY)


def test_a_tampered_body_is_rejected() -> None:
    signature = sign(BODY, SECRET_KEY)

    assert not verify_webhook_signature(BODY.replace(b"250000", b"990000"), signature, SECRET_KEY)


def test_a_reserialised_body_is_rejected() -> None:
    signature = sign(BODY, SECRET_KEY)
    spaced = b'{"event": "charge.success", "data": {"reference": "ord-1", "amount": 250000}}'

    assert not verify_webhook_signature(spaced, signature, SECRET_KEY)


def test_a_garbage_signature_is_rejected_without_error() -> None:
    assert not verify_webhook_signature(BODY, "zz\u00e9\u2603 not hex", SECRET_KEY)
    assert not verify_webhook_signature(BODY, sign(BODY, SECRET_KEY), "")


def test_the_signature_matches_paystacks_hmac_sha512_hex() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET_KEY.encode(), BODY, hashlib.sha512).hexdigest()

    assert sign(BODY, SECRET_KEY) == expected
    assert len(expected) == 128


def test_the_signature_module_imports_neither_requests_nor_pydantic() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import market.gateways.paystack_webhook, market.gateways.credentials; "
        "heavy = [m for m in ('requests', 'pydantic', 'boto3', 'urllib3') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[3] / "layers" / "common" / "python")},
    )
    assert result.stdout.strip() == ""
