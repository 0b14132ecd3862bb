"""Settlement (market.services.payments) against in-process moto with a fake of the gateway port:
what a verified payment writes, what every refusal leaves untouched, the reconciler, and races.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from market import clock
from market.domain.errors import TransientError
from market.domain.order import Order
from market.gateways.base import GatewayUnavailable
from market.repositories import orders as orders_repo
from market.repositories import wallets as wallets_repo
from market.services import payments
from market.services.payments import Outcome, SettlementResult, fee_for, reconcile_pending, settle_order
from market.settings import Settings, get_settings
from tests.fixtures.events import lambda_context, load_function
from tests.fixtures.payments import (
    FEE,
    GATEWAY,
    NET,
    PRICE,
    FakeGateway,
    a_pending_order,
    counters,
    delivery_messages,
    holds_for,
    ledger,
    pending_marker_exists,
    sale_entries,
    stored_order,
    transaction_item,
)

CREATOR = "cr_ada"
MINUTE = 60
HOUR = 3600


def assert_nothing_credited(order: Order) -> None:
    balance = wallets_repo.get_balance(order.creator_id, order.currency)
    assert (balance.available, balance.pending, balance.version) == (0, 0, 0)
    assert ledger(order.creator_id) == []
    assert transaction_item(order) is None
    assert counters(order.creator_id) == {}
    assert delivery_messages() == []


# ---------------------------------------------------------------- the fee


@pytest.mark.parametrize(
    ("amount", "fee"),
    [
        (250_000, 12_500),
        (10_010, 501),  # 500.5 rounds half-up
        (10_009, 500),  # 500.45 rounds down
        (10, 1),  # 0.5 rounds half-up
        (9, 0),
        (0, 0),
    ],
)
def test_platform_fee_is_five_percent_by_default_rounded_half_up(amount: int, fee: int) -> None:
    assert fee_for(amount, "NGN", Settings.model_validate({})) == fee


def test_platform_fee_adds_the_currency_fixed_fee_and_never_exceeds_the_amount() -> None:
    settings = Settings.model_validate({"PLATFORM_FEE_BPS": "500", "PLATFORM_FIXED_FEE": "NGN:10000,USD:30"})

    assert fee_for(250_000, "NGN", settings) == 12_500 + 10_000
    assert fee_for(1_000, "USD", settings) == 50 + 30
    assert fee_for(5_000, "NGN", settings) == 5_000
    assert fee_for(250_000, "GHS", settings) == 12_500


# ---------------------------------------------------------------- a verified payment


def test_a_verified_payment_marks_the_order_paid(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)

    result = settle_order(order)

    assert result.outcome == Outcome.SETTLED
    paid = stored_order(order.id)
    assert result.order == paid
    assert paid.status == "paid"
    # The gateway's paid_at (2026-01-05, whole seconds) is before the order was created: created_at counts.
    assert paid.paid_at == paid.created_at
    assert (paid.platform_fee, paid.net_amount) == (FEE, NET)
    assert paid.failure_reason is None


def test_settlement_credits_available_with_the_amount_minus_the_fee(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)

    settle_order(order)

    balance = wallets_repo.get_balance(CREATOR, "NGN")
    assert (balance.available, balance.pending, balance.on_hold) == (NET, 0, 0)
    assert (balance.lifetime_gross, balance.lifetime_fees, balance.lifetime_net) == (PRICE, FEE, NET)
    assert balance.version == 1


def test_settlement_writes_a_sale_and_a_fee_entry_that_sum_to_the_balance(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)

    settle_order(order)

    entries = sorted(ledger(CREATOR), key=lambda e: e.type, reverse=True)
    assert [(e.type, e.bucket, e.amount, e.currency, e.order_id) for e in entries] == [
        ("sale", "available", PRICE, "NGN", order.id),
        ("fee", "available", -FEE, "NGN", order.id),
    ]
    assert sorted(e.balance_after for e in entries) == [NET, PRICE]
    assert sum(e.amount for e in entries) == wallets_repo.get_balance(CREATOR, "NGN").available
    assert wallets_repo.check_wallet(CREATOR) == []


def test_settlement_rounds_the_fee_half_up(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR, amount=10_010)
    gateway.pay(order)

    settle_order(order)

    assert wallets_repo.get_balance(CREATOR, "NGN").available == 10_010 - 501
    assert [e.amount for e in ledger(CREATOR) if e.type == "fee"] == [-501]


def test_settlement_records_what_the_gateway_verified(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    verified = gateway.pay(order)

    settle_order(order)

    record = transaction_item(order)
    assert record is not None
    assert record.order_id == order.id
    assert (record.gateway, record.reference) == (GATEWAY, order.reference)
    assert record.gateway_transaction_id == verified.gateway_id
    assert (int(record.amount), record.currency) == (PRICE, "NGN")
    assert int(record.gateway_fee) == 3_850  # the gateway's own fee, from verify
    assert (int(record.platform_fee), int(record.net_amount)) == (FEE, NET)
    assert record.paid_at == order.created_at  # the gateway's 2026-01-05 is earlier: never before created_at
    assert record.verified_at.endswith("Z")


def test_settlement_removes_the_pending_marker(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    assert pending_marker_exists(order)

    settle_order(order)

    assert not pending_marker_exists(order)


def test_settlement_adds_the_sale_to_the_day_and_product_day_counters(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR, product_id="prd_cookbook", product_title="The Lagos Cookbook")
    gateway.pay(order)

    settle_order(order)

    day = clock.iso(clock.now())[:10]
    found = counters(CREATOR)
    assert set(found) == {f"DAY#{day}#NGN", f"DAYPRODUCT#{day}#prd_cookbook#NGN"}
    for counter in found.values():
        assert (int(counter.sales), int(counter.gross), int(counter.fees), int(counter.net)) == (1, PRICE, FEE, NET)
    product_counter = found[f"DAYPRODUCT#{day}#prd_cookbook#NGN"]
    assert (product_counter.product_id, product_counter.product_title) == ("prd_cookbook", "The Lagos Cookbook")


def test_settlement_sends_the_order_to_the_delivery_queue_once(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)

    settle_order(order)

    assert delivery_messages() == [{"order_id": order.id, "product_id": order.product_id}]


def test_settle_reference_finds_the_order_behind_a_gateway_reference(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)

    result = payments.settle_reference(GATEWAY, order.reference)

    assert result.outcome == Outcome.SETTLED
    assert stored_order(order.id).status == "paid"


def test_two_orders_of_one_creator_settle_independently(gateway: FakeGateway) -> None:
    first = a_pending_order(creator_id=CREATOR)
    second = a_pending_order(creator_id=CREATOR, amount=100_000)
    gateway.pay(first)
    gateway.pay(second)

    assert settle_order(first).outcome == Outcome.SETTLED
    assert settle_order(second).outcome == Outcome.SETTLED

    assert wallets_repo.get_balance(CREATOR, "NGN").available == NET + 95_000
    assert wallets_repo.check_wallet(CREATOR) == []


# ---------------------------------------------------------------- exactly once


def test_settling_a_paid_order_again_is_a_duplicate_without_a_second_credit(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    settle_order(order)
    assert delivery_messages() == [{"order_id": order.id, "product_id": order.product_id}]

    again = settle_order(stored_order(order.id))
    stale = settle_order(order)  # the pending copy a slow consumer still holds
    by_reference = payments.settle_reference(GATEWAY, order.reference)

    assert [again.outcome, stale.outcome, by_reference.outcome] == [Outcome.DUPLICATE] * 3
    balance = wallets_repo.get_balance(CREATOR, "NGN")
    assert (balance.available, balance.lifetime_gross, balance.version) == (NET, PRICE, 1)
    assert len(sale_entries(CREATOR, order.id)) == 1
    assert len(ledger(CREATOR)) == 2
    assert wallets_repo.check_wallet(CREATOR) == []
    day = clock.iso(clock.now())[:10]
    assert int(counters(CREATOR)[f"DAY#{day}#NGN"].sales) == 1
    # A duplicate still hands the order to delivery (idempotent there), in case the first send was lost.
    assert delivery_messages() == [{"order_id": order.id, "product_id": order.product_id}] * 3


def test_a_duplicate_is_recognised_without_asking_the_gateway_again(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    settle_order(order)

    settle_order(order)

    assert gateway.verify_count(order.reference) == 1


# ---------------------------------------------------------------- not paid, failed, mismatched


@pytest.mark.parametrize("status", ["abandoned", "pending"])
def test_an_unfinished_payment_is_not_paid_and_the_order_stays_pending(gateway: FakeGateway, status: Any) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order, status=status)

    result = settle_order(order)

    assert result.outcome == Outcome.NOT_PAID
    assert stored_order(order.id).status == "pending"
    assert pending_marker_exists(order)
    assert_nothing_credited(order)


def test_a_reference_the_gateway_does_not_know_is_not_paid(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)

    result = settle_order(order)

    assert result.outcome == Outcome.NOT_PAID
    assert stored_order(order.id).status == "pending"
    assert pending_marker_exists(order)
    assert_nothing_credited(order)


def test_a_failed_payment_marks_the_order_failed(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order, status="failed", gateway_status="failed")

    result = settle_order(order)

    assert result.outcome == Outcome.FAILED
    failed = stored_order(order.id)
    assert failed.status == "failed"
    assert failed.failure_reason == "gateway status failed"
    assert not pending_marker_exists(order)
    assert_nothing_credited(order)


@pytest.mark.parametrize(
    ("paid", "reason"),
    [
        ({"amount": PRICE - 1}, f"amount {PRICE - 1} != {PRICE}"),
        ({"amount": PRICE * 2}, f"amount {PRICE * 2} != {PRICE}"),
        ({"currency": "GHS"}, "currency GHS != NGN"),
        ({"mode": "live"}, "mode live != test"),
    ],
    ids=["underpaid", "overpaid", "other-currency", "live-payment-for-a-test-key"],
)
def test_a_payment_that_does_not_match_the_order_fails_it_without_credit(
    gateway: FakeGateway, paid: dict[str, Any], reason: str
) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order, **paid)

    result = settle_order(order)

    assert result.outcome == Outcome.MISMATCH
    assert result.detail == reason
    failed = stored_order(order.id)
    assert (failed.status, failed.failure_reason) == ("failed", reason)
    assert not pending_marker_exists(order)
    assert_nothing_credited(order)


def test_a_test_mode_payment_cannot_pay_a_live_deployment(
    gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_MODE", "live")
    get_settings.cache_clear()
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order, mode="test")

    result = settle_order(order)

    assert (result.outcome, result.detail) == (Outcome.MISMATCH, "mode test != live")
    assert_nothing_credited(order)


def test_a_declined_order_paid_later_on_the_same_reference_is_settled_once(gateway: FakeGateway) -> None:
    # Defect 1 (issue 13): a late charge.success for a failed order was dropped as "not pending".
    order = a_pending_order(creator_id=CREATOR)
    gateway.report(order.reference, order.amount, status="failed", gateway_status="failed")
    assert settle_order(order).outcome == Outcome.FAILED
    assert stored_order(order.id).status == "failed"
    gateway.pay(order)  # the buyer tries again on the same page, and pays

    result = settle_order(stored_order(order.id))
    again = settle_order(stored_order(order.id))

    assert result.outcome == Outcome.SETTLED
    assert again.outcome == Outcome.DUPLICATE
    assert stored_order(order.id).status == "paid"
    assert wallets_repo.get_balance(CREATOR, "NGN").available == NET
    assert wallets_repo.check_wallet(CREATOR) == []


def test_an_expired_order_paid_late_is_still_settled(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    assert orders_repo.close_pending(order, "expired", reason="unpaid after the payment window")
    gateway.pay(order)

    result = settle_order(stored_order(order.id))

    assert result.outcome == Outcome.SETTLED
    assert stored_order(order.id).status == "paid"
    assert wallets_repo.get_balance(CREATOR, "NGN").available == NET
    assert wallets_repo.check_wallet(CREATOR) == []


def test_a_gateway_outage_propagates_so_the_message_is_retried(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    gateway.make_unavailable(order.reference)

    with pytest.raises(GatewayUnavailable) as raised:
        settle_order(order)

    assert isinstance(raised.value, TransientError)
    assert stored_order(order.id).status == "pending"
    assert pending_marker_exists(order)
    assert_nothing_credited(order)


def test_a_reference_no_order_has_is_reported_unknown(gateway: FakeGateway) -> None:
    result = payments.settle_reference(GATEWAY, "mkt-no-such-order")

    assert result == SettlementResult(Outcome.UNKNOWN_REFERENCE, None, "no order has this reference")
    assert gateway.verified == []
    assert delivery_messages() == []


# ---------------------------------------------------------------- hold period


def test_with_a_hold_period_the_net_lands_in_pending_with_a_hold_item(
    gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOLD_DAYS", "NGN:2")
    get_settings.cache_clear()
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    before = clock.now()

    assert settle_order(order).outcome == Outcome.SETTLED

    balance = wallets_repo.get_balance(CREATOR, "NGN")
    assert (balance.available, balance.pending) == (0, NET)
    assert {(e.type, e.bucket, e.amount) for e in ledger(CREATOR)} == {
        ("sale", "pending", PRICE),
        ("fee", "pending", -FEE),
    }
    assert wallets_repo.check_wallet(CREATOR) == []
    release_day = clock.iso(before + timedelta(days=2))[:10]
    holds = holds_for(order.id, release_day)
    assert len(holds) == 1
    hold = holds[0]
    assert (hold.creator_id, hold.currency, int(hold.amount)) == (CREATOR, "NGN", NET)
    release_at = clock.parse_iso(hold.release_at)
    assert timedelta(days=2) <= release_at - before < timedelta(days=2, minutes=1)


# ---------------------------------------------------------------- the reconciler


def test_the_reconciler_leaves_orders_younger_than_the_reverify_window(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    clock.set_offset(5 * MINUTE)  # PENDING_ORDER_REVERIFY_MINUTES defaults to 10

    report = reconcile_pending()

    assert (report.checked, report.settled) == (0, 0)
    assert gateway.verified == []
    assert stored_order(order.id).status == "pending"


def test_the_reconciler_settles_a_pending_order_the_gateway_reports_paid(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)  # the webhook never came
    clock.set_offset(11 * MINUTE)

    report = reconcile_pending()

    assert (report.checked, report.settled, report.expired, report.failed) == (1, 1, 0, 0)
    assert stored_order(order.id).status == "paid"
    assert wallets_repo.get_balance(CREATOR, "NGN").available == NET
    assert delivery_messages() == [{"order_id": order.id, "product_id": order.product_id}]
    assert not pending_marker_exists(order)


def test_the_reconciler_keeps_an_unpaid_order_pending_within_the_expiry(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order, status="abandoned")
    clock.set_offset(23 * HOUR)  # ORDER_EXPIRY_HOURS defaults to 24

    report = reconcile_pending()

    assert (report.checked, report.expired) == (1, 0)
    assert stored_order(order.id).status == "pending"
    assert pending_marker_exists(order)


@pytest.mark.parametrize("at_gateway", ["abandoned", "unknown"])
def test_the_reconciler_expires_an_order_unpaid_past_the_expiry(gateway: FakeGateway, at_gateway: str) -> None:
    order = a_pending_order(creator_id=CREATOR)
    if at_gateway != "unknown":
        gateway.pay(order, status="abandoned")
    clock.set_offset(25 * HOUR)

    report = reconcile_pending()

    assert (report.checked, report.expired, report.settled) == (1, 1, 0)
    expired = stored_order(order.id)
    assert expired.status == "expired"
    assert expired.failure_reason == "unpaid after the payment window"
    assert not pending_marker_exists(order)
    assert_nothing_credited(order)
    assert reconcile_pending().checked == 0  # it left the worklist


def test_the_reconciler_counts_a_gateway_outage_and_keeps_the_order_pending(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.make_unavailable(order.reference)
    clock.set_offset(25 * HOUR)

    report = reconcile_pending()

    assert (report.checked, report.failed, report.expired) == (1, 1, 0)
    assert stored_order(order.id).status == "pending"


def test_the_reconciler_function_reports_its_counts(gateway: FakeGateway) -> None:
    paid = a_pending_order(creator_id=CREATOR)
    gateway.pay(paid)
    abandoned = a_pending_order(creator_id=CREATOR)
    clock.set_offset(25 * HOUR)

    response = load_function("functions/webhook/reconciler.py").lambda_handler({}, lambda_context("Reconciler"))

    assert {k: response[k] for k in ("checked", "settled", "expired", "failed")} == {
        "checked": 2,
        "settled": 1,
        "expired": 1,
        "failed": 0,
    }
    assert (stored_order(paid.id).status, stored_order(abandoned.id).status) == ("paid", "expired")


# ---------------------------------------------------------------- races


def run_together(workers: int, jobs: list[Callable[[], SettlementResult]]) -> list[SettlementResult]:
    """Run ``jobs`` on ``workers`` threads, all held at one gate and released together; re-raises the first error."""
    gate = threading.Event()

    def run(job: Callable[[], SettlementResult]) -> SettlementResult:
        gate.wait(timeout=10)
        return job()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        gate.set()
        return [future.result() for future in futures]


def warm_clients() -> None:
    """Create the cached SQS client before threads start (boto3's default session is not thread-safe)."""
    from market import aws

    aws.sqs()


def test_twenty_concurrent_settlements_of_one_order_credit_it_once(gateway: FakeGateway) -> None:
    # moto's in-process DynamoDB runs TransactWriteItems without a lock (snapshot, apply, restore on a
    # failed condition), so concurrent transactions can lose each other's writes there, which real
    # DynamoDB never does. The local stack serialises moto's DynamoDB handler for this reason; the
    # in-process mock_aws goes through the same DynamoHandler, so the same patch applies here.
    # (tests/fixtures/aws.py applies it too; the call is idempotent and states what this test needs.)
    from localdev.moto_patches import serialize_dynamodb

    serialize_dynamodb()
    warm_clients()
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)

    results = run_together(20, [lambda: settle_order(order)] * 20)

    outcomes = sorted(r.outcome.value for r in results)
    assert outcomes == ["duplicate"] * 19 + ["settled"]
    balance = wallets_repo.get_balance(CREATOR, "NGN")
    assert (balance.available, balance.lifetime_gross, balance.version) == (NET, PRICE, 1)
    assert len(sale_entries(CREATOR, order.id)) == 1
    assert wallets_repo.check_wallet(CREATOR) == []
    assert stored_order(order.id).status == "paid"
    assert delivery_messages() == [{"order_id": order.id, "product_id": order.product_id}] * 20


def settle_as_sqs_would(order: Order, attempts: int = 5) -> SettlementResult:
    """Settle, retrying a TransientError as SQS redelivery would (maxReceiveCount is 5)."""
    for attempt in range(attempts):
        try:
            return settle_order(stored_order(order.id))
        except TransientError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def test_thirty_orders_of_one_creator_settled_from_eight_threads_lose_no_credit(gateway: FakeGateway) -> None:
    # See the twenty-thread test for why moto's DynamoDB handler is serialised.
    from localdev.moto_patches import serialize_dynamodb

    serialize_dynamodb()
    warm_clients()
    orders = [a_pending_order(creator_id=CREATOR, buyer_id=f"usr_buyer{n}") for n in range(30)]
    for order in orders:
        gateway.pay(order)

    results = run_together(8, [partial(settle_as_sqs_would, order) for order in orders])

    assert [r.outcome for r in results] == [Outcome.SETTLED] * 30
    balance = wallets_repo.get_balance(CREATOR, "NGN")
    assert balance.available == 30 * NET
    assert balance.lifetime_gross == 30 * PRICE
    assert wallets_repo.check_wallet(CREATOR) == []
    for order in orders:
        assert len(sale_entries(CREATOR, order.id)) == 1


def test_a_sale_landing_between_the_balance_read_and_the_settlement_is_recomputed(
    gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic form of the race: another sale of the same creator commits just before our transaction."""
    from moto.dynamodb.responses import DynamoHandler

    ours = a_pending_order(creator_id=CREATOR)
    theirs = a_pending_order(creator_id=CREATOR, amount=100_000)
    gateway.pay(ours)
    gateway.pay(theirs)
    original = DynamoHandler.call_action
    armed = [True]

    def call_action(handler: Any) -> Any:
        # The emulator receives our settlement transaction: first let the concurrent sale commit.
        if armed[0] and handler._get_action() == "TransactWriteItems":
            armed[0] = False
            assert settle_order(theirs).outcome == Outcome.SETTLED
        return original(handler)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)

    result = settle_order(ours)

    assert result.outcome == Outcome.SETTLED
    assert wallets_repo.get_balance(CREATOR, "NGN").available == NET + 95_000
    assert wallets_repo.check_wallet(CREATOR) == []
