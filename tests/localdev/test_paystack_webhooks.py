"""The Paystack emulator's webhooks: signing, delivery, retries, resends and the delivery log."""

from __future__ import annotations

import hashlib
import hmac
import json

from market.gateways.paystack_webhook import verify_webhook_signature
from tests.fixtures.paystack import SECRET_KEY, WebhookReceiver, unused_port
from tests.helpers import wait_until
from tests.localdev.paystack_fixtures import (  # noqa: F401 (fixtures)
    Emulator,
    a_reference,
    paystack_fixture,
    received_for,
    receiver_fixture,
)


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


def events_received(receiver: WebhookReceiver, reference: str) -> list[str]:
    return [json.loads(item.body)["event"] for item in received_for(receiver, reference)]


def test_a_held_charge_success_arrives_after_the_refund_events(paystack: Emulator, receiver: WebhookReceiver) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.initialize(10_000)["reference"]
    paystack.control(f"transactions/{reference}/pay", {"hold": True})
    [held] = paystack.deliveries(reference=reference)
    refund_id = paystack.api("POST", "/refund", {"transaction": reference}).get_json()["data"]["id"]
    paystack.control(f"refunds/{refund_id}/process")
    wait_until(lambda: len(received_for(receiver, reference)) == 2, what="the refund events")

    released = paystack.control(f"webhooks/{held['id']}/release")

    assert (held["event"], held["status"], released.status_code) == ("charge.success", "held", 202)
    wait_until(lambda: len(received_for(receiver, reference)) == 3, what="the released charge.success")
    events = events_received(receiver, reference)
    assert sorted(events[:2]) == ["refund.pending", "refund.processed"]  # sent together: either may come first
    assert events[2] == "charge.success"
    assert paystack.control(f"webhooks/{held['id']}/release").status_code == 409


def test_held_deliveries_are_released_newest_first_one_after_the_other(
    paystack: Emulator, receiver: WebhookReceiver
) -> None:
    paystack.control("config", {"auto_process_refunds": False})
    reference = paystack.initialize(10_000)["reference"]
    paystack.control("webhooks/holds", {"reference": reference})
    paystack.control(f"transactions/{reference}/pay")
    refund_id = paystack.api("POST", "/refund", {"transaction": reference}).get_json()["data"]["id"]
    paystack.control(f"refunds/{refund_id}/process")
    assert {item["status"] for item in paystack.deliveries(reference=reference)} == {"held"}

    paystack.control("webhooks/release", {"order": "newest", "reference": reference})

    wait_until(lambda: len(received_for(receiver, reference)) == 3, what="three released webhooks")
    assert events_received(receiver, reference) == ["refund.processed", "refund.pending", "charge.success"]


def test_hold_rules_are_listed_and_stopped_and_what_they_held_stays_held(paystack: Emulator) -> None:
    paystack.control("webhooks/holds", {"event": "charge.success"})
    held = paystack.paid()

    rules = paystack.client.get("/_emulator/webhooks/holds").get_json()["data"]
    stopped = paystack.client.delete("/_emulator/webhooks/holds").get_json()["data"]
    sent = paystack.paid()

    assert (rules, stopped) == ([{"event": "charge.success", "reference": None}], [])
    assert paystack.deliveries(reference=held)[0]["status"] == "held"
    assert paystack.delivered(sent)[0]["status"] == "delivered"


def test_a_delayed_charge_success_is_sent_that_much_later(paystack: Emulator, receiver: WebhookReceiver) -> None:
    reference = paystack.initialize()["reference"]

    paystack.control(f"transactions/{reference}/pay", query_string={"delay_seconds": "0.5"})

    [delivery] = paystack.deliveries(reference=reference)
    assert (delivery["status"], delivery["delay_seconds"], delivery["attempts"]) == ("pending", 0.5, [])
    assert received_for(receiver, reference) == []
    assert paystack.delivered(reference)[0]["status"] == "delivered"


def test_concurrent_duplicates_are_all_in_flight_at_once(paystack: Emulator, receiver: WebhookReceiver) -> None:
    reference = paystack.paid()
    paystack.delivered(reference)
    receiver.gate.clear()
    try:
        response = paystack.control(f"transactions/{reference}/webhook", {"times": 12, "concurrent": True})

        assert response.status_code == 202
        wait_until(lambda: receiver.waiting == 12, what="twelve copies in flight together (more than the pool's 8)")
    finally:
        receiver.gate.set()
    wait_until(lambda: len(received_for(receiver, reference)) == 13, what="the original and twelve copies")
    assert len({item.body for item in received_for(receiver, reference)}) == 1
