"""The payments consumer settles a batch's sales together: one transaction per creator's wallet.

In process (functions/webhook/payments.py with real SQS batches from moto, as the local stack's pump
builds them), with the fake of our gateway port. What is held: one creator's batch is one balance
update, exactly once per order still (a duplicate in a group does not block the rest), failures are
still reported per record, and a group too big for one transaction is split.
"""

from __future__ import annotations

from typing import Any

import pytest

from market.domain.errors import TransientError
from market.repositories import wallets as wallets_repo
from market.services import payments
from market.services.payments import Outcome, settle_order, settle_references
from tests.fixtures.aws import AwsCalls
from tests.fixtures.payments import (
    GATEWAY,
    NET,
    PRICE,
    FakeGateway,
    a_pending_order,
    counters,
    delivery_messages,
    ledger,
    sale_entries,
    stored_order,
)
from tests.fixtures.payments_queue import PaymentsQueue, consume, event_message, failed_ids

CREATOR = "cr_ada"


def transactions(calls: AwsCalls, mark: int = 0) -> int:
    return calls.since(mark).count("dynamodb.TransactWriteItems")


def test_one_creators_batch_is_one_transaction_and_credits_every_sale(
    gateway: FakeGateway, queue: PaymentsQueue, aws_calls: AwsCalls
) -> None:
    orders = [
        a_pending_order(creator_id=CREATOR, buyer_id=f"usr_b{n}", product_id=f"prd_{n % 3}", product_title=f"T{n % 3}")
        for n in range(10)
    ]
    for order in orders:
        gateway.pay(order)
        queue.send(event_message(order.reference))
    batch = queue.batch()
    assert len(batch["Records"]) == 10
    mark = len(aws_calls.made)

    response = consume(batch)

    assert failed_ids(response) == []
    assert transactions(aws_calls, mark) == 1
    assert aws_calls.since(mark).count("sqs.SendMessageBatch") == 1  # the ten deliveries in one call
    assert aws_calls.since(mark).count("sqs.SendMessage") == 0
    assert all(stored_order(order.id).status == "paid" for order in orders)
    balance = wallets_repo.get_balance(CREATOR, "NGN")
    assert (balance.available, balance.lifetime_gross, balance.version) == (10 * NET, 10 * PRICE, 1)
    assert wallets_repo.check_wallet(CREATOR) == []
    assert [len(sale_entries(CREATOR, order.id)) for order in orders] == [1] * 10
    assert sorted(m["order_id"] for m in delivery_messages()) == sorted(order.id for order in orders)
    stats = counters(CREATOR)
    day = next(key for key in stats if key.startswith("DAY#"))
    assert (stats[day].sales, stats[day].gross, stats[day].net) == (10, 10 * PRICE, 10 * NET)
    per_product = {item.product_id: item.sales for key, item in stats.items() if key.startswith("DAYPRODUCT#")}
    assert per_product == {"prd_0": 4, "prd_1": 3, "prd_2": 3}


def test_each_creator_of_a_batch_gets_a_transaction_of_its_own(
    gateway: FakeGateway, queue: PaymentsQueue, aws_calls: AwsCalls
) -> None:
    orders = [a_pending_order(creator_id=f"cr_{n % 3}", buyer_id=f"usr_b{n}") for n in range(9)]
    for order in orders:
        gateway.pay(order)
        queue.send(event_message(order.reference))
    mark = len(aws_calls.made)

    assert failed_ids(consume(queue.batch())) == []

    assert transactions(aws_calls, mark) == 3
    for creator in ("cr_0", "cr_1", "cr_2"):
        assert wallets_repo.get_balance(creator, "NGN").available == 3 * NET
        assert wallets_repo.check_wallet(creator) == []


def test_a_sale_settled_meanwhile_by_another_path_does_not_block_its_group(gateway: FakeGateway) -> None:
    orders = [a_pending_order(creator_id=CREATOR, buyer_id=f"usr_b{n}") for n in range(5)]
    for order in orders:
        gateway.pay(order)
    first, last = orders[0], orders[-1]
    original = gateway.verify

    def verify(reference: str, *, transaction_id: str | None = None) -> Any:
        answer = original(reference, transaction_id=transaction_id)
        if reference == last.reference:
            # While the batch is being checked, the buyer's POST /orders/{id}/verify settles the first one.
            assert settle_order(stored_order(first.id)).outcome == Outcome.SETTLED
        return answer

    gateway.verify = verify  # type: ignore[method-assign]

    results = settle_references([(GATEWAY, order.reference, None) for order in orders])

    outcomes = [result.outcome for result in results if not isinstance(result, TransientError)]
    assert outcomes == [Outcome.DUPLICATE] + [Outcome.SETTLED] * 4
    assert all(stored_order(order.id).status == "paid" for order in orders)
    assert wallets_repo.get_balance(CREATOR, "NGN").available == 5 * NET  # the first credited once, not twice
    assert [len(sale_entries(CREATOR, order.id)) for order in orders] == [1] * 5
    assert wallets_repo.check_wallet(CREATOR) == []


def test_an_order_closed_meanwhile_still_settles_from_its_new_status_with_the_rest(gateway: FakeGateway) -> None:
    # As settle_order does (a late success): the order was declined elsewhere after the batch read it,
    # but the gateway verified its payment, so it is written again from ``failed`` and paid once.
    from market.repositories import orders as orders_repo

    orders = [a_pending_order(creator_id=CREATOR, buyer_id=f"usr_b{n}") for n in range(3)]
    for order in orders:
        gateway.pay(order)
    original = gateway.verify

    def verify(reference: str, *, transaction_id: str | None = None) -> Any:
        answer = original(reference, transaction_id=transaction_id)
        if reference == orders[-1].reference:
            assert orders_repo.close_pending(orders[1], "failed", reason="declined elsewhere")
        return answer

    gateway.verify = verify  # type: ignore[method-assign]

    results = settle_references([(GATEWAY, order.reference, None) for order in orders])

    outcomes = [result.outcome for result in results if not isinstance(result, TransientError)]
    assert outcomes == [Outcome.SETTLED] * 3
    assert [stored_order(order.id).status for order in orders] == ["paid"] * 3
    assert [len(sale_entries(CREATOR, order.id)) for order in orders] == [1] * 3
    assert wallets_repo.get_balance(CREATOR, "NGN").available == 3 * NET
    assert wallets_repo.check_wallet(CREATOR) == []


def test_a_gateway_outage_fails_its_record_and_the_creators_other_sales_settle_together(
    gateway: FakeGateway, queue: PaymentsQueue, aws_calls: AwsCalls
) -> None:
    orders = [a_pending_order(creator_id=CREATOR, buyer_id=f"usr_b{n}") for n in range(4)]
    ids = []
    for order in orders:
        gateway.pay(order)
        ids.append(queue.send(event_message(order.reference)))
    gateway.make_unavailable(orders[2].reference)
    mark = len(aws_calls.made)

    response = consume(queue.batch())

    assert failed_ids(response) == [ids[2]]
    assert transactions(aws_calls, mark) == 1
    assert [stored_order(order.id).status for order in orders] == ["paid", "paid", "pending", "paid"]
    assert wallets_repo.get_balance(CREATOR, "NGN").available == 3 * NET


def test_a_wallet_that_stays_busy_fails_its_groups_records_only(
    gateway: FakeGateway, queue: PaymentsQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.responses import DynamoHandler

    busy = [a_pending_order(creator_id="cr_busy", buyer_id=f"usr_b{n}") for n in range(2)]
    calm = a_pending_order(creator_id="cr_calm")
    ids = {}
    for order in [*busy, calm]:
        gateway.pay(order)
        ids[order.id] = queue.send(event_message(order.reference))
    original = DynamoHandler.call_action
    inside = [False]

    def call_action(handler: Any) -> Any:
        # Every write of cr_busy's balance meets another change of it first (its version moved on).
        if not inside[0] and handler._get_action() == "TransactWriteItems" and "WALLET#cr_busy" in handler.body:
            inside[0] = True
            try:
                wallets_repo.apply_change(_credit("cr_busy"))
            finally:
                inside[0] = False
        return original(handler)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)

    response = consume(queue.batch())

    assert failed_ids(response) == sorted(ids[order.id] for order in busy)
    assert [stored_order(order.id).status for order in busy] == ["pending", "pending"]
    assert stored_order(calm.id).status == "paid"
    assert wallets_repo.check_wallet("cr_busy") == []


def _credit(creator_id: str) -> Any:
    from market.domain.wallet import Movement, WalletChange

    return WalletChange(creator_id=creator_id, currency="NGN", movements=[Movement("adjustment", "available", 1)])


def test_a_group_too_big_for_one_transaction_is_split(gateway: FakeGateway, aws_calls: AwsCalls) -> None:
    orders = [a_pending_order(creator_id=CREATOR, buyer_id=f"usr_b{n}") for n in range(25)]
    for order in orders:
        gateway.pay(order)
    mark = len(aws_calls.made)

    results = settle_references([(GATEWAY, order.reference, None) for order in orders])

    # 5 items a sale (order, marker, guard, sale and fee entries) + wallet, day and product counters:
    # 19 sales fit in 100 items, the other 6 go in a second transaction.
    assert transactions(aws_calls, mark) == 2
    assert [getattr(result, "outcome", None) for result in results] == [Outcome.SETTLED] * 25
    assert wallets_repo.get_balance(CREATOR, "NGN").available == 25 * NET
    assert len(ledger(CREATOR)) == 50
    assert wallets_repo.check_wallet(CREATOR) == []


def test_if_the_group_path_breaks_every_record_is_settled_on_its_own(
    gateway: FakeGateway, queue: PaymentsQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = [a_pending_order(creator_id=CREATOR, buyer_id=f"usr_b{n}") for n in range(3)]
    for order in orders:
        gateway.pay(order)
        queue.send(event_message(order.reference))

    def broken(_: Any) -> Any:
        raise RuntimeError("a bug in the group path")

    monkeypatch.setattr(payments, "settle_references", broken)

    response = consume(queue.batch())

    assert failed_ids(response) == []
    assert all(stored_order(order.id).status == "paid" for order in orders)
    assert wallets_repo.get_balance(CREATOR, "NGN").available == 3 * NET


def test_a_wallet_update_that_lost_a_race_retries_from_the_balance_that_won_without_reading_again(
    gateway: FakeGateway, aws_calls: AwsCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.responses import DynamoHandler

    orders = [a_pending_order(creator_id=CREATOR, buyer_id=f"usr_b{n}") for n in range(3)]
    for order in orders:
        gateway.pay(order)
    original = DynamoHandler.call_action
    armed = [True]

    def call_action(handler: Any) -> Any:
        if armed[0] and handler._get_action() == "TransactWriteItems":
            armed[0] = False  # another change of the wallet commits just before our transaction
            wallets_repo.apply_change(_credit(CREATOR))
        return original(handler)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)
    mark = len(aws_calls.made)

    results = settle_references([(GATEWAY, order.reference, None) for order in orders])

    assert [getattr(result, "outcome", None) for result in results] == [Outcome.SETTLED] * 3
    made = aws_calls.since(mark)
    # One balance read by the group and one by the other change: none for the retry.
    assert made.count("dynamodb.GetItem") == 2
    assert made.count("dynamodb.TransactWriteItems") == 3  # theirs, our refused one, our retry
    assert wallets_repo.get_balance(CREATOR, "NGN").available == 3 * NET + 1
    assert wallets_repo.check_wallet(CREATOR) == []


# ---------------------------------------------------------------- money at the edges, in a batch as alone


def edge_case_orders(gateway: FakeGateway) -> dict[str, Any]:
    """One creator's orders for each edge of settlement: a late success (paid after it expired), a
    capture of another amount (returned, never settled), a payment on a checkout attempt the order
    replaced (returned), two plain sales by one buyer (both take that buyer's open count down), and
    their payment events."""
    from market.repositories import orders as orders_repo

    late = a_pending_order(creator_id=CREATOR, buyer_id="usr_late")
    assert orders_repo.close_pending(late, "expired", reason="unpaid after the payment window")
    gateway.pay(late)
    short = a_pending_order(creator_id=CREATOR, buyer_id="usr_short")
    gateway.pay(short, amount=PRICE - 50_000)
    replaced = a_pending_order(creator_id=CREATOR, buyer_id="usr_replaced")
    old_reference = replaced.reference
    assert orders_repo.new_checkout_attempt(replaced, lambda subject: "mkt-" + subject.replace("_", "-")) is not None
    gateway.report(old_reference, PRICE)
    twice = [a_pending_order(creator_id=CREATOR, buyer_id="usr_twice") for _ in range(2)]
    for order in twice:
        gateway.pay(order)
    references = [late.reference, short.reference, old_reference, *(order.reference for order in twice)]
    return {"late": late, "short": short, "replaced": replaced, "twice": twice, "references": references}


def settled_state(cases: dict[str, Any], gateway: FakeGateway) -> dict[str, Any]:
    from market.models.order import OPEN_ORDERS_SK, OpenOrdersItem, open_orders_pk

    def open_orders(buyer_id: str) -> int:
        return int(OpenOrdersItem.get(open_orders_pk(buyer_id), OPEN_ORDERS_SK, consistent_read=True).open)

    late, short, replaced, twice = cases["late"], cases["short"], cases["replaced"], cases["twice"]
    return {
        "statuses": [stored_order(order.id).status for order in (late, short, replaced, *twice)],
        "sale_entries": [len(sale_entries(CREATOR, order.id)) for order in (late, short, replaced, *twice)],
        "returned": sorted((r.transaction_reference == short.reference, r.amount) for r in gateway.refunds),
        "available": wallets_repo.get_balance(CREATOR, "NGN").available,
        "wallet_problems": wallets_repo.check_wallet(CREATOR),
        "delivered": sorted({m["order_id"] for m in delivery_messages()}),
        "open_orders": [open_orders(buyer) for buyer in ("usr_late", "usr_short", "usr_twice")],
    }


@pytest.mark.parametrize("path", ["one batch", "one message at a time"])
def test_a_batch_settles_late_successes_and_returns_mismatched_captures_as_the_single_path_does(
    gateway: FakeGateway, queue: PaymentsQueue, path: str
) -> None:
    cases = edge_case_orders(gateway)
    late, short, twice = cases["late"], cases["short"], cases["twice"]

    if path == "one batch":
        for reference in cases["references"]:
            queue.send(event_message(reference))
        assert failed_ids(consume(queue.batch())) == []
    else:
        for reference in cases["references"]:
            queue.send(event_message(reference))
            assert failed_ids(consume(queue.batch())) == []

    state = settled_state(cases, gateway)
    # The same end, whichever path: the late success paid and credited once, the short capture failed
    # and returned, the replaced attempt's payment returned with its order left pending, both of one
    # buyer's sales paid.
    assert state == {
        "statuses": ["paid", "failed", "pending", "paid", "paid"],
        "sale_entries": [1, 0, 0, 1, 1],
        "returned": [(False, PRICE), (True, PRICE - 50_000)],
        "available": 3 * NET,
        "wallet_problems": [],
        "delivered": sorted([late.id, *(order.id for order in twice)]),
        "open_orders": [0, 0, 0],
    }
    assert stored_order(short.id).failure_reason == f"amount {PRICE - 50_000} != {PRICE}"


def test_one_buyers_two_pending_orders_in_a_batch_settle_in_one_transaction_and_count_down_twice(
    gateway: FakeGateway, queue: PaymentsQueue, aws_calls: AwsCalls
) -> None:
    # Each takes the buyer's open-order count down, and a transaction may touch an item only once:
    # the count goes down by two in one update.
    from market.models.order import OPEN_ORDERS_SK, OpenOrdersItem, open_orders_pk

    orders = [a_pending_order(creator_id=CREATOR, buyer_id="usr_twice") for _ in range(2)]
    orders.append(a_pending_order(creator_id=CREATOR, buyer_id="usr_once"))
    for order in orders:
        gateway.pay(order)
        queue.send(event_message(order.reference))
    mark = len(aws_calls.made)

    assert failed_ids(consume(queue.batch())) == []

    assert transactions(aws_calls, mark) == 1
    assert [stored_order(order.id).status for order in orders] == ["paid"] * 3
    assert wallets_repo.get_balance(CREATOR, "NGN").available == 3 * NET
    assert wallets_repo.check_wallet(CREATOR) == []
    for buyer in ("usr_twice", "usr_once"):
        assert int(OpenOrdersItem.get(open_orders_pk(buyer), OPEN_ORDERS_SK, consistent_read=True).open) == 0
