"""Payments consumer in process (functions/webhook/payments.py): real messages from the payments queue
(moto SQS), turned into the Lambda event the way the local stack's pump does, with partial batch failures.
"""

from __future__ import annotations

from market.repositories import wallets as wallets_repo
from tests.fixtures.payments import (
    NET,
    FakeGateway,
    a_pending_order,
    delivery_messages,
    sale_entries,
    stored_order,
)
from tests.fixtures.payments_queue import PaymentsQueue, consume, event_message, failed_ids

CREATOR = "cr_ada"


def test_a_gateway_outage_fails_only_its_own_record(gateway: FakeGateway, queue: PaymentsQueue) -> None:
    paid = a_pending_order(creator_id=CREATOR)
    stuck = a_pending_order(creator_id="cr_bola")
    gateway.pay(paid)
    gateway.pay(stuck)
    gateway.make_unavailable(stuck.reference)
    queue.send(event_message(paid.reference))
    stuck_id = queue.send(event_message(stuck.reference))
    batch = queue.batch()
    assert len(batch["Records"]) == 2

    response = consume(batch)

    assert failed_ids(response) == [stuck_id]
    assert stored_order(paid.id).status == "paid"
    assert stored_order(stuck.id).status == "pending"
    assert wallets_repo.get_balance(CREATOR, "NGN").available == NET
    assert wallets_repo.get_balance("cr_bola", "NGN").available == 0
    assert delivery_messages() == [{"order_id": paid.id, "product_id": paid.product_id}]


def test_a_retried_record_settles_once_the_gateway_recovers(gateway: FakeGateway, queue: PaymentsQueue) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    gateway.make_unavailable(order.reference, times=1)
    message_id = queue.send(event_message(order.reference))
    batch = queue.batch()

    first = consume(batch)
    queue.redeliver(batch, failed_ids(first))
    second = consume(queue.batch())

    assert failed_ids(first) == [message_id]
    assert failed_ids(second) == []
    assert stored_order(order.id).status == "paid"
    assert len(sale_entries(CREATOR, order.id)) == 1


def test_the_same_event_twice_in_one_batch_credits_once(gateway: FakeGateway, queue: PaymentsQueue) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    queue.send(event_message(order.reference))
    queue.send(event_message(order.reference))

    response = consume(queue.batch())

    assert failed_ids(response) == []
    assert wallets_repo.get_balance(CREATOR, "NGN").available == NET
    assert len(sale_entries(CREATOR, order.id)) == 1
    assert delivery_messages() == [{"order_id": order.id, "product_id": order.product_id}] * 2


def test_settled_mismatched_and_unknown_records_are_all_done(gateway: FakeGateway, queue: PaymentsQueue) -> None:
    paid = a_pending_order(creator_id=CREATOR)
    underpaid = a_pending_order(creator_id=CREATOR)
    gateway.pay(paid)
    gateway.pay(underpaid, amount=underpaid.amount - 100)
    queue.send(event_message(paid.reference))
    queue.send(event_message(underpaid.reference))
    queue.send(event_message("mkt-nobody-has-this"))

    response = consume(queue.batch())

    assert failed_ids(response) == []  # nothing here gets better by retrying
    assert stored_order(paid.id).status == "paid"
    assert stored_order(underpaid.id).status == "failed"


def test_an_event_without_a_handler_is_done_without_asking_the_gateway(
    gateway: FakeGateway, queue: PaymentsQueue
) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    # A kind a newer receiver could queue that this consumer has no handler for.
    queue.send({**event_message(order.reference), "event": "dispute.opened", "gateway_event": "charge.dispute.create"})

    response = consume(queue.batch())

    assert failed_ids(response) == []
    assert gateway.verified == []
    assert stored_order(order.id).status == "pending"


def test_a_malformed_message_fails_its_record_only(gateway: FakeGateway, queue: PaymentsQueue) -> None:
    order = a_pending_order(creator_id=CREATOR)
    gateway.pay(order)
    queue.send(event_message(order.reference))
    bad_id = queue.send('{"event": "charge.success"}')

    response = consume(queue.batch())

    assert failed_ids(response) == [bad_id]
    assert stored_order(order.id).status == "paid"
