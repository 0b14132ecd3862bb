"""Money at the edges of settlement (issue 13), in process against moto with a fake of the gateway port:
late successes, captured money that cannot settle, paid_at, superseded checkout attempts, early events,
the buyer's open-order count, and the reconciler's budget, cursor and downtime.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest

from market import clock
from market.gateways.base import VerifiedPayment
from market.gateways.registry import override_gateway
from market.models.order import OPEN_ORDERS_SK, OpenOrdersItem, open_orders_pk
from market.repositories import orders as orders_repo
from market.repositories import refunds as refunds_repo
from market.repositories import wallets as wallets_repo
from market.repositories import worklists as worklists_repo
from market.services.payments import Outcome, reconcile_pending, settle_order, settle_reference
from market.settings import get_settings
from tests.fixtures.aws import AwsResources
from tests.fixtures.events import FakeLambdaContext, load_function
from tests.fixtures.payments import (
    GATEWAY,
    NET,
    PRICE,
    FakeGateway,
    a_pending_order,
    delivery_messages,
    sale_entries,
    stored_order,
)
from tests.fixtures.wallet import deliver_gateway_event

CREATOR = "cr_ada"
MINUTE = 60
DAY = 24 * 3600


def open_orders(buyer_id: str) -> int:
    try:
        return int(OpenOrdersItem.get(open_orders_pk(buyer_id), OPEN_ORDERS_SK, consistent_read=True).open)
    except OpenOrdersItem.DoesNotExist:
        return 0


# ---------------------------------------------------------------- late successes


def test_an_order_paid_after_it_expired_is_settled_once_and_delivered(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    assert orders_repo.close_pending(order, "expired", reason="unpaid after the payment window")
    gateway.pay(order)

    first = settle_order(stored_order(order.id))
    second = settle_order(stored_order(order.id))

    assert (first.outcome, second.outcome) == (Outcome.SETTLED, Outcome.DUPLICATE)
    assert len(sale_entries(CREATOR, order.id)) == 1
    assert wallets_repo.get_balance(CREATOR, "NGN").available == NET
    assert {"order_id": order.id, "product_id": order.product_id} in delivery_messages()


def test_a_late_success_racing_the_close_of_the_order_still_settles(gateway: FakeGateway) -> None:
    # The order is read pending, then declined and failed by /verify before the settlement writes.
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    assert orders_repo.close_pending(order, "failed", reason="declined")

    result = settle_order(order)  # the stale read: pending

    assert result.outcome == Outcome.SETTLED
    assert stored_order(order.id).status == "paid"
    assert len(sale_entries(CREATOR, order.id)) == 1


# ---------------------------------------------------------------- captured money that cannot settle


@pytest.mark.parametrize(("amount", "currency"), [(PRICE - 50_000, "NGN"), (PRICE + 10_000, "NGN"), (PRICE, "GHS")])
def test_a_payment_of_another_amount_or_currency_fails_the_order_and_is_returned_once(
    gateway: FakeGateway, amount: int, currency: str
) -> None:
    # Defect 1 (issue 13): an under- or over-payment left the money captured on a failed order for good.
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order, amount=amount, currency=currency)

    first = settle_order(order)
    again = settle_reference(GATEWAY, order.reference)  # the webhook again, or the buyer's /verify

    assert (first.outcome, again.outcome) == (Outcome.MISMATCH, Outcome.MISMATCH)
    assert stored_order(order.id).status == "failed"
    (returned,) = gateway.refunds
    assert (returned.transaction_reference, returned.amount, returned.currency) == (order.reference, amount, currency)
    (capture,) = refunds_repo.list_order_refunds(order.id)
    assert (capture.kind, capture.status, capture.gateway_refund_id) == ("capture", "pending", returned.id)
    assert wallets_repo.get_balance(CREATOR, "NGN").available == 0


def test_a_returned_capture_settles_when_the_gateway_processes_it_and_touches_no_wallet(
    gateway: FakeGateway,
) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order, amount=PRICE - 1)
    settle_order(order)
    gateway.refunds[0] = gateway.refunds[0].model_copy(update={"status": "processed", "gateway_status": "processed"})

    response = deliver_gateway_event("refund.processed", order.reference)

    assert response == {"batchItemFailures": []}
    (capture,) = refunds_repo.list_order_refunds(order.id)
    assert capture.status == "processed"
    assert stored_order(order.id).status == "failed"
    balance = wallets_repo.get_balance(CREATOR, "NGN")
    assert (balance.available, balance.version) == (0, 0)


def test_a_payment_on_a_superseded_checkout_attempt_is_returned_not_settled(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    old_reference = order.reference
    retried = orders_repo.new_checkout_attempt(order, lambda subject: "mkt-" + subject.replace("_", "-"))
    assert retried is not None
    assert retried.reference != old_reference
    gateway.report(old_reference, PRICE)  # somebody paid the page nobody was given

    result = settle_reference(GATEWAY, old_reference)

    assert result.outcome == Outcome.SUPERSEDED
    assert stored_order(order.id).status == "pending"
    assert [(r.transaction_reference, r.amount) for r in gateway.refunds] == [(old_reference, PRICE)]
    assert wallets_repo.get_balance(CREATOR, "NGN").available == 0


def test_a_payment_event_for_a_reference_no_order_has_is_recorded_as_early(gateway: FakeGateway) -> None:
    result = settle_reference(GATEWAY, "mkt-nobody")

    assert result.outcome == Outcome.UNKNOWN_REFERENCE
    assert orders_repo.early_events(GATEWAY, "mkt-nobody") == [("payment.succeeded", None)]


# ---------------------------------------------------------------- paid_at


def test_paid_at_is_never_earlier_than_created_at(gateway: FakeGateway) -> None:
    # Defect 8 (issue 13): the gateway's whole-second paid_at could precede our millisecond created_at.
    order = a_pending_order(creator_id=CREATOR)
    earlier = clock.parse_iso(order.created_at).replace(microsecond=0) - timedelta(seconds=1)
    paid = gateway.pay(order)
    gateway.payments[order.reference] = paid.model_copy(update={"paid_at": earlier})

    settle_order(order)

    assert stored_order(order.id).paid_at == order.created_at


def test_paid_at_is_the_gateways_time_when_it_is_later(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    later = clock.parse_iso(order.created_at) + timedelta(minutes=3)
    paid = gateway.pay(order)
    gateway.payments[order.reference] = paid.model_copy(update={"paid_at": later})

    settle_order(order)

    assert stored_order(order.id).paid_at == clock.iso(later)


# ---------------------------------------------------------------- the buyer's open orders


def test_the_open_order_count_goes_down_once_whichever_way_an_order_leaves_pending(gateway: FakeGateway) -> None:
    paid, failed, expired = (a_pending_order(creator_id=CREATOR, buyer_id="cu_1") for _ in range(3))
    assert open_orders("cu_1") == 3
    gateway.pay(paid)
    gateway.pay(failed, amount=1)

    settle_order(paid)
    settle_order(failed)
    orders_repo.close_pending(expired, "expired")
    gateway.pay(expired)
    settle_order(stored_order(expired.id))  # paid late: it had left pending already

    assert open_orders("cu_1") == 0


# ---------------------------------------------------------------- the reconciler


@dataclass
class ShortContext(FakeLambdaContext):
    seconds: float = 1.0

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


class SlowGateway(FakeGateway):
    """Verify takes ``latency`` seconds; a call after ``killed_at`` fails as if the Lambda timed out."""

    latency: float = 0.1
    killed_at: float = float("inf")

    def verify(self, reference: str, *, transaction_id: str | None = None) -> VerifiedPayment:
        if time.monotonic() > self.killed_at:
            raise RuntimeError("the function was stopped at its timeout")
        time.sleep(self.latency)
        return super().verify(reference, transaction_id=transaction_id)


def run_reconciler(gateway: SlowGateway, seconds: float) -> dict[str, int]:
    # Killed well past its timeout: on a loaded machine one settlement alone can take a second, and the
    # budget is checked between gateway calls (what must hold is that each run stops, asserted below).
    gateway.killed_at = time.monotonic() + seconds * 1.5 + 2.0
    handler = load_function("functions/webhook/reconciler.py").lambda_handler
    result: dict[str, int] = handler({}, ShortContext(function_name="ReconcilerFunction", seconds=seconds))
    return result


def test_a_backlog_of_unpaid_orders_does_not_keep_the_reconciler_from_a_paid_one(
    aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Defect 6 (issue 13): one run checked every pending order in a row; at real latency a backlog made
    # each run end at its timeout before the newest (paid) order, run after run.
    monkeypatch.setenv("RECONCILER_CONCURRENCY", "1")
    get_settings.cache_clear()
    gateway = SlowGateway()
    override_gateway(GATEWAY, gateway)
    for _ in range(20):
        a_pending_order(creator_id=CREATOR)  # never paid
    paid = a_pending_order(creator_id=CREATOR)
    gateway.pay(paid)  # its webhook never came
    clock.set_offset(11 * MINUTE)

    runs = []
    while stored_order(paid.id).status != "paid" and len(runs) < 6:
        runs.append(run_reconciler(gateway, seconds=1.0))

    assert stored_order(paid.id).status == "paid"
    assert all(run["checked"] < 21 for run in runs)  # each run stopped at its budget
    cursor = worklists_repo.load_cursor("pending-orders", "")
    assert cursor.fresh_after.endswith(paid.id)  # where the next run goes on from is kept


def test_a_pending_order_is_reached_after_a_downtime_of_any_length(gateway: FakeGateway) -> None:
    # Defect 6 (issue 13): the reconciler looked back order_expiry_hours // 24 + 2 days only.
    order = a_pending_order(creator_id=CREATOR)
    clock.set_offset(11 * MINUTE)
    assert reconcile_pending().checked == 1  # checked once (not paid yet), then the reconciler is down 40 days
    clock.set_offset(40 * DAY)

    report = reconcile_pending()

    assert report.expired == 1
    assert stored_order(order.id).status == "expired"


def test_two_reconcilers_at_once_settle_an_order_once(gateway: FakeGateway) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    clock.set_offset(11 * MINUTE)
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(reconcile_pending())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(sale_entries(CREATOR, order.id)) == 1
    assert wallets_repo.get_balance(CREATOR, "NGN").available == NET
