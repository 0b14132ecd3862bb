"""Two POST /orders with one Idempotency-Key at the same moment, as real DynamoDB answers them
(``tests.fixtures.conflicts`` injects the cancellations moto cannot show; everything else is moto)."""

from __future__ import annotations

import pytest

from market.domain.user import Caller
from market.services import checkout
from tests.fixtures.checkout import Api, assert_problem
from tests.fixtures.conflicts import Conflicts, conflicts  # noqa: F401 - the fixture
from tests.fixtures.payments import FakeGateway, a_product, a_user, order_items_of_buyer


def test_a_conflict_on_the_idempotency_key_answers_the_winners_order(
    conflicts: Conflicts,  # noqa: F811 - the fixture
    gateway: FakeGateway,
) -> None:
    creator, buyer = a_user("creator"), a_user("customer")
    product = a_product(creator)
    winner: list[checkout.Checkout] = []
    # The winner's request commits during the loser's attempt, and the key's item stays contended for every
    # retry the transaction helper would make (before: 503 after its retries, 500 before it had them).
    conflicts.left = 10
    conflicts.on_first = lambda: winner.append(
        checkout.create_order(Caller(user_id=buyer, role="customer"), product.id, "same-key")
    )

    status, body, _ = Api().buy((buyer, "customer"), product.id, key="same-key")

    assert status == 201, body
    assert conflicts.seen >= 1
    assert body["order"]["id"] == winner[0].order.id
    assert [item.id for item in order_items_of_buyer(buyer)] == [winner[0].order.id]


@pytest.mark.parametrize("code", ["TransactionConflict", "ConditionalCheckFailed"])
def test_a_key_held_by_a_request_whose_order_never_shows_is_409_not_a_500(
    conflicts: Conflicts,  # noqa: F811 - the fixture
    gateway: FakeGateway,
    code: str,
) -> None:
    creator, buyer = a_user("creator"), a_user("customer")
    product = a_product(creator)
    conflicts.left = 100
    conflicts.code = code

    status, body, headers = Api().buy((buyer, "customer"), product.id, key="held-key")

    assert_problem(status, body, headers, 409)
    assert body["type"].endswith("idempotency-key-in-use")
    assert headers["retry-after"] == "1"
    assert order_items_of_buyer(buyer) == []  # the cancelled transactions wrote nothing
