"""Payout transfers: the payouts consumer initiates them, transfer events (verified with the gateway,
never trusted) settle them: paid, or the money back on failure and reversal, each exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from market.domain.payout import Payout
from market.gateways.base import GatewayUnavailable
from market.repositories import payouts as payouts_repo
from market.repositories import wallets as wallets_repo
from market.services import payouts, wallet
from market.services.payouts import PayoutRequest
from tests.fixtures.aws import AwsResources
from tests.fixtures.events import lambda_context, load_function
from tests.fixtures.wallet import (
    FakeGateway,
    a_funded_creator,
    deliver_gateway_event,
    run_payouts_worker,
    sqs_event,
)

CREATOR = "cr_ada"


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    yield from a_funded_creator(CREATOR)  # 475000 available


def a_payout(amount: int = 200000) -> Payout:
    return payouts.request_payout(PayoutRequest(CREATOR, amount, "NGN"))


def status_of(payout_id: str) -> str:
    payout = payouts_repo.get_payout(payout_id)
    assert payout is not None
    return payout.status


def balance() -> tuple[int, int, int]:
    b = wallets_repo.get_balance(CREATOR, "NGN")
    return b.available, b.on_hold, b.lifetime_paid_out


def test_the_consumer_initiates_one_transfer_referenced_by_the_payout_id(gateway: FakeGateway) -> None:
    payout = a_payout()

    first = run_payouts_worker(payout.id)
    again = run_payouts_worker(payout.id)  # SQS redelivers

    assert first == {"batchItemFailures": []}
    assert again == {"batchItemFailures": []}
    assert gateway.calls.count("initiate_transfer") == 1
    transfer = gateway.transfers[payout.id]
    assert (transfer.amount, transfer.currency) == (200000, "NGN")
    assert status_of(payout.id) == "processing"
    assert balance() == (275000, 0, 0)


def test_transfer_success_pays_the_payout_out_once(gateway: FakeGateway) -> None:
    payout = a_payout()
    run_payouts_worker(payout.id)
    gateway.set_transfer(payout.id, "success")

    deliver_gateway_event("transfer.success", payout.id)
    deliver_gateway_event("transfer.success", payout.id)  # Paystack retries

    assert status_of(payout.id) == "paid"
    assert balance() == (275000, 0, 200000)
    # Defect 9 (issue 13): one payout entry of -amount, never a "payout" credit into on_hold beside it.
    paid_entries = [e for e in wallets_repo.list_ledger(CREATOR, 50, None).items if e.payout_id == payout.id]
    assert [(e.type, e.bucket, e.amount) for e in paid_entries] == [("payout", "available", -200000)]
    assert wallet.audit(CREATOR) == []


def test_a_concurrent_repeat_of_transfer_success_settles_once_without_failing(gateway: FakeGateway) -> None:
    payout = a_payout()
    run_payouts_worker(payout.id)
    gateway.set_transfer(payout.id, "success")
    stale = payouts_repo.get_payout(payout.id)  # what a second consumer read before the first one settled
    assert stale is not None
    deliver_gateway_event("transfer.success", payout.id)

    payouts._finalize(stale)  # its status moved on: recognised as settled, not an error for SQS to retry

    assert status_of(payout.id) == "paid"
    assert balance() == (275000, 0, 200000)
    assert wallet.audit(CREATOR) == []


def test_a_success_webhook_the_gateway_does_not_confirm_changes_nothing(gateway: FakeGateway) -> None:
    payout = a_payout()
    run_payouts_worker(payout.id)  # the gateway still says pending

    deliver_gateway_event("transfer.success", payout.id)

    assert status_of(payout.id) == "processing"
    assert balance() == (275000, 0, 0)


def test_a_transfer_that_succeeds_at_once_is_paid_by_the_consumer(gateway: FakeGateway) -> None:
    gateway.transfer_outcome = "success"
    payout = a_payout()

    run_payouts_worker(payout.id)

    assert status_of(payout.id) == "paid"
    assert balance() == (275000, 0, 200000)


def test_a_failed_transfer_gives_the_money_back_once(gateway: FakeGateway) -> None:
    payout = a_payout()
    run_payouts_worker(payout.id)
    gateway.set_transfer(payout.id, "failed")

    deliver_gateway_event("transfer.failed", payout.id)
    deliver_gateway_event("transfer.failed", payout.id)

    assert status_of(payout.id) == "failed"
    assert balance() == (475000, 0, 0)
    entries = [e for e in wallets_repo.list_ledger(CREATOR, 50, None).items if e.payout_id == payout.id]
    assert sorted((e.type, e.bucket, e.amount) for e in entries) == [
        ("payout", "available", -200000),
        ("payout_reversal", "available", 200000),
    ]
    assert wallet.audit(CREATOR) == []


def test_a_reversed_transfer_after_payment_credits_the_creator_again(gateway: FakeGateway) -> None:
    payout = a_payout()
    run_payouts_worker(payout.id)
    gateway.set_transfer(payout.id, "success")
    deliver_gateway_event("transfer.success", payout.id)
    gateway.set_transfer(payout.id, "reversed")

    deliver_gateway_event("transfer.reversed", payout.id)
    deliver_gateway_event("transfer.reversed", payout.id)

    assert status_of(payout.id) == "reversed"
    assert balance() == (475000, 0, 0)
    assert wallet.audit(CREATOR) == []


def test_a_transfer_the_gateway_refuses_fails_the_payout_and_returns_the_money(gateway: FakeGateway) -> None:
    gateway.refuse_transfers = True
    payout = a_payout()

    response = run_payouts_worker(payout.id)

    assert response == {"batchItemFailures": []}
    stored = payouts_repo.get_payout(payout.id)
    assert stored is not None
    assert stored.status == "failed"
    assert stored.failure_reason == "Your balance is not enough"
    assert balance() == (475000, 0, 0)


def test_a_retry_after_the_transfer_was_made_reads_it_back_instead_of_paying_twice(gateway: FakeGateway) -> None:
    payout = a_payout()
    # The first attempt reached the gateway, then the consumer died before recording anything.
    gateway.initiate_transfer(reference=payout.id, amount=payout.amount, currency="NGN", recipient_code="RCP_x")

    run_payouts_worker(payout.id)

    assert status_of(payout.id) == "processing"
    assert len(gateway.transfers) == 1
    assert "verify_transfer" in gateway.calls


def test_a_gateway_outage_fails_the_record_for_sqs_to_retry(
    gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    payout = a_payout()

    def unavailable(**_: object) -> None:
        raise GatewayUnavailable("timeout", gateway="paystack")

    monkeypatch.setattr(gateway, "initiate_transfer", unavailable)
    response = run_payouts_worker(payout.id)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert status_of(payout.id) == "pending"
    assert balance() == (275000, 0, 0)


def test_a_transfer_event_for_an_unknown_reference_is_ignored(gateway: FakeGateway) -> None:
    response = deliver_gateway_event("transfer.success", "po_not_ours")

    assert response == {"batchItemFailures": []}
    assert balance() == (475000, 0, 0)


def test_a_transfer_whose_amount_differs_from_the_payout_changes_nothing(gateway: FakeGateway) -> None:
    payout = a_payout()
    run_payouts_worker(payout.id)
    gateway.transfers[payout.id] = gateway.transfers[payout.id].model_copy(update={"status": "success", "amount": 1})

    deliver_gateway_event("transfer.success", payout.id)

    assert status_of(payout.id) == "processing"
    assert balance() == (275000, 0, 0)


def test_a_message_carrying_a_correlation_id_is_processed(gateway: FakeGateway) -> None:
    payout = a_payout()
    event = sqs_event(json.dumps({"payout_id": payout.id}))
    event["Records"][0]["messageAttributes"] = {
        "correlation_id": {
            "dataType": "String",
            "stringValue": "corr-123",
            "stringListValues": [],
            "binaryListValues": [],
        }
    }

    response = load_function("functions/wallet/payouts.py").lambda_handler(event, lambda_context())

    assert response == {"batchItemFailures": []}
    assert status_of(payout.id) == "processing"
