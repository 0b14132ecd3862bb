"""Refunds at the edges (issue 13), in process (wallet API, payments consumer, refund reconciler; moto; a fake of
the gateway port): Idempotency-Key, lost gateway answers, who may refund (window, cover), the reservation that
keeps payouts off a refund's money, needs-attention, and events that match none of our refunds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from market import clock
from market.domain.order import Order
from market.gateways.registry import reset_gateways
from market.repositories import orders as orders_repo
from market.repositories import refunds as refunds_repo
from market.repositories import wallets as wallets_repo
from market.services import payouts, wallet
from market.services.payouts import PayoutRequest
from tests.fixtures.aws import AwsResources
from tests.fixtures.events import FakeLambdaContext, load_function
from tests.fixtures.wallet import FakeGateway, WalletApi, a_sale, deliver_gateway_event, install_fake_gateway

CREATOR = "cr_ada"
BUYER = "cu_bola"
ADMIN = "adm_1"
DAY = 24 * 3600
MINUTE = 60


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    yield install_fake_gateway()
    reset_gateways()


@pytest.fixture
def api() -> WalletApi:
    return WalletApi()


@pytest.fixture
def order(gateway: FakeGateway) -> Order:
    return a_sale(gateway, CREATOR, 500000, buyer_id=BUYER)  # fee 25000, net 475000


def refund(
    api: WalletApi,
    order: Order,
    body: Any = None,
    *,
    key: str | None = None,
    as_user: str = CREATOR,
    role: str = "creator",
) -> tuple[int, Any]:
    headers = {"Idempotency-Key": key} if key else None
    return api.call("POST", f"/orders/{order.id}/refund", as_user=as_user, role=role, body=body, headers=headers)


def balance() -> tuple[int, int]:
    b = wallets_repo.get_balance(CREATOR, "NGN")
    return b.available, b.reserved


def gateway_refunds_of(gateway: FakeGateway, order: Order) -> list[int]:
    return [r.amount for r in gateway.refunds.values() if r.transaction_reference == order.reference]


def finish_at_gateway(gateway: FakeGateway, status: str = "processed") -> None:
    for refund_id, result in list(gateway.refunds.items()):
        if result.status in ("pending", "needs_attention"):
            gateway.settle_refund(refund_id, status)


@dataclass
class Context(FakeLambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def run_refund_reconciler() -> dict[str, Any]:
    handler = load_function("functions/wallet/refund_reconciler.py").lambda_handler
    result: dict[str, Any] = handler({"source": "aws.events"}, Context(function_name="RefundReconcilerFunction"))
    return result


def paid_out_everything(amount: int) -> None:
    payouts.set_payout_account(CREATOR, bank_code="058", account_number="0123456789", currency="NGN")
    payouts.request_payout(PayoutRequest(CREATOR, amount, "NGN"))


# ---------------------------------------------------------------- Idempotency-Key


def test_the_same_key_and_body_answer_the_same_refund_and_refund_once(
    gateway: FakeGateway, api: WalletApi, order: Order
) -> None:
    # Defect 3 (issue 13): two identical partial refunds after a lost response paid the buyer back twice.
    body = {"amount": 100000}

    first = refund(api, order, body, key="refund-key-1")
    second = refund(api, order, body, key="refund-key-1")

    assert (first[0], second[0]) == (202, 202)
    assert second[1]["refund"]["id"] == first[1]["refund"]["id"]
    assert gateway_refunds_of(gateway, order) == [100000]
    assert len(refunds_repo.list_order_refunds(order.id)) == 1


def test_the_same_key_with_another_body_is_422(gateway: FakeGateway, api: WalletApi, order: Order) -> None:
    refund(api, order, {"amount": 100000}, key="refund-key-2")

    status, body = refund(api, order, {"amount": 120000}, key="refund-key-2")

    assert status == 422
    assert "Idempotency-Key" in body["detail"]
    assert gateway_refunds_of(gateway, order) == [100000]


def test_a_replay_after_a_lost_answer_finds_the_refund_the_gateway_made(
    gateway: FakeGateway, api: WalletApi, order: Order
) -> None:
    gateway.lose_refund_answers = 1
    gateway.listing_unavailable = 1  # the request's own look-up fails as well

    first_status, _ = refund(api, order, {"amount": 100000}, key="refund-key-3")
    second_status, second = refund(api, order, {"amount": 100000}, key="refund-key-3")

    assert first_status == 503
    assert second_status == 202
    assert second["refund"]["status"] == "pending"
    (stored,) = refunds_repo.list_order_refunds(order.id)
    assert stored.gateway_refund_id in gateway.refunds
    assert gateway_refunds_of(gateway, order) == [100000]


def test_a_lost_answer_is_recovered_within_the_request_when_the_gateway_lists_it(
    gateway: FakeGateway, api: WalletApi, order: Order
) -> None:
    gateway.lose_refund_answers = 1

    status, body = refund(api, order, {"amount": 100000})

    assert status == 202, body
    (stored,) = refunds_repo.list_order_refunds(order.id)
    assert (stored.status, stored.gateway_refund_id) == ("pending", next(iter(gateway.refunds)))


def test_a_retry_without_a_key_while_the_answer_is_unclear_is_409_not_a_second_refund(
    gateway: FakeGateway, api: WalletApi, order: Order
) -> None:
    gateway.lose_refund_answers = 1
    gateway.listing_unavailable = 1
    refund(api, order, {"amount": 100000})

    status, body = refund(api, order, {"amount": 100000})

    assert status == 409
    assert body["type"].endswith("/refund-in-progress")
    assert gateway_refunds_of(gateway, order) == [100000]


# ---------------------------------------------------------------- who may refund


def test_a_creator_refund_past_the_window_is_409_and_an_admin_may_still_refund(
    gateway: FakeGateway, api: WalletApi, order: Order
) -> None:
    clock.set_offset(31 * DAY)  # REFUND_WINDOW_DAYS defaults to 30

    creator_status, problem = refund(api, order)
    admin_status, _ = refund(api, order, as_user=ADMIN, role="admin")

    assert creator_status == 409
    assert problem["type"].endswith("/refund-not-allowed")
    assert admin_status == 202


def test_a_creator_who_was_paid_out_cannot_refund_what_the_wallet_no_longer_covers(
    gateway: FakeGateway, api: WalletApi, order: Order
) -> None:
    # Defect 4 (issue 13): paid out, then refunded: the wallet went to -net and the platform paid twice.
    paid_out_everything(475000)

    status, problem = refund(api, order)

    assert status == 409
    assert problem["type"].endswith("/refund-not-allowed")
    assert gateway_refunds_of(gateway, order) == []
    assert balance() == (0, 0)
    assert refunds_repo.get_totals(order.id).committed == 0


def test_a_refund_in_flight_keeps_its_money_from_a_payout(gateway: FakeGateway, api: WalletApi, order: Order) -> None:
    status, _ = refund(api, order)  # pending at the gateway: the debit comes when it is processed
    assert status == 202
    assert balance() == (475000, 475000)
    payouts.set_payout_account(CREATOR, bank_code="058", account_number="0123456789", currency="NGN")

    payout_status, problem = api.call(
        "POST", "/wallet/payouts", as_user=CREATOR, body={"amount": 100000, "currency": "NGN"}
    )

    assert payout_status == 409
    assert problem["type"].endswith("/insufficient-balance")
    finish_at_gateway(gateway)
    deliver_gateway_event("refund.processed", order.reference)
    assert balance() == (0, 0)
    assert wallet.audit(CREATOR) == []


def test_a_refund_the_gateway_fails_gives_its_reservation_back(
    gateway: FakeGateway, api: WalletApi, order: Order
) -> None:
    refund(api, order, {"amount": 200000})
    finish_at_gateway(gateway, "failed")

    deliver_gateway_event("refund.failed", order.reference)

    assert balance() == (475000, 0)
    assert refunds_repo.get_totals(order.id).committed == 0


# ---------------------------------------------------------------- needs attention


def test_a_refund_that_needs_attention_is_shown_as_such_then_settles(
    gateway: FakeGateway, api: WalletApi, order: Order
) -> None:
    _, accepted = refund(api, order)
    (gateway_refund_id,) = list(gateway.refunds)
    gateway.settle_refund(gateway_refund_id, "needs_attention")

    deliver_gateway_event("refund.needs-attention", order.reference, refund_id=gateway_refund_id)

    status, listed = api.call("GET", f"/orders/{order.id}/refunds", as_user=ADMIN, role="admin")
    assert status == 200
    (shown,) = listed["items"]
    assert (shown["id"], shown["status"], shown["kind"]) == (accepted["refund"]["id"], "needs_attention", "sale")
    assert api.call("GET", f"/orders/{order.id}/refunds", as_user=BUYER, role="customer")[0] == 403
    assert balance() == (475000, 475000)  # still reserved

    gateway.settle_refund(gateway_refund_id, "processed")
    deliver_gateway_event("refund.processed", order.reference)

    assert orders_repo.get_order(order.id).status == "refunded"  # type: ignore[union-attr]
    assert balance() == (0, 0)


# ---------------------------------------------------------------- the refund reconciler


def test_the_refund_reconciler_settles_a_refund_whose_answer_and_webhook_were_both_lost(
    gateway: FakeGateway, api: WalletApi, order: Order
) -> None:
    gateway.lose_refund_answers = 1
    gateway.listing_unavailable = 1
    refund(api, order, {"amount": 100000})
    finish_at_gateway(gateway)  # processed at the gateway; its webhook never came
    clock.set_offset(3 * MINUTE)

    report = run_refund_reconciler()

    assert report["settled"] == 1
    (stored,) = refunds_repo.list_order_refunds(order.id)
    assert stored.status == "processed"
    assert orders_repo.get_order(order.id).status == "partially_refunded"  # type: ignore[union-attr]
    assert balance() == (475000 - 95000, 0)
    assert wallet.audit(CREATOR) == []


def test_a_refund_that_never_reached_the_gateway_is_failed_later_and_frees_its_amount(
    gateway: FakeGateway, api: WalletApi, order: Order
) -> None:
    gateway.refunds_unreachable = 1
    gateway.listing_unavailable = 1
    refund(api, order)
    clock.set_offset(5 * MINUTE)
    assert run_refund_reconciler()["settled"] == 0  # not listed yet: it may still come
    clock.set_offset(20 * MINUTE)  # REFUND_UNCLEAR_AFTER_MINUTES defaults to 15

    run_refund_reconciler()

    (stored,) = refunds_repo.list_order_refunds(order.id)
    assert stored.status == "failed"
    assert balance() == (475000, 0)
    assert refund(api, order)[0] == 202  # the order can be refunded again


def test_a_refund_event_about_a_refund_none_of_ours_matches_is_recorded_as_early(
    gateway: FakeGateway, order: Order
) -> None:
    made_elsewhere = gateway.refund(reference=order.reference, amount=50000)  # e.g. from the gateway's dashboard

    response = deliver_gateway_event("refund.processed", order.reference)

    assert response == {"batchItemFailures": []}
    assert orders_repo.early_events("paystack", order.reference) == [("refund.processed", made_elsewhere.id)]
    assert balance() == (475000, 0)
