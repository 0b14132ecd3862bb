"""Two POST /orders with one Idempotency-Key at the same moment, as real DynamoDB answers them.

On DynamoDB the loser's TransactWriteItems is cancelled with ``TransactionConflict`` on the key's
item while the winner's transaction holds it; moto serialises transactions, so this test injects
that cancellation through a patch of pynamodb's connection call (the real botocore ``ClientError``
shape, turned into pynamodb's ``TransactWriteError`` by pynamodb's own code). Everything else is moto.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from pynamodb.connection.base import Connection

from market.domain.user import Caller
from market.gateways.registry import reset_gateways
from market.services import checkout
from tests.fixtures.aws import AwsResources
from tests.fixtures.payments import FakeGateway, a_product, a_user, install_fake_gateway, order_items_of_buyer
from tests.unit.checkout.test_checkout_api import Api, assert_problem

_original_call = Connection._make_api_call


@dataclass
class Conflicts:
    """Cancel the next ``left`` transactions that claim an Idempotency-Key with TransactionConflict."""

    left: int = 0
    seen: int = 0
    on_first: Callable[[], None] | None = None
    winning: bool = False  # the winner's own transaction goes through

    def holds_key(self, kwargs: dict[str, Any]) -> bool:
        return any(_is_key_item(item) for item in kwargs.get("TransactItems", []))


def _is_key_item(item: dict[str, Any]) -> bool:
    for op in item.values():
        pk = (op.get("Item") or op.get("Key") or {}).get("PK", {}).get("S", "")
        if pk.startswith("IDEMPOTENCY#"):
            return True
    return False


@pytest.fixture
def conflicts(aws_resources: AwsResources) -> Iterator[Conflicts]:
    state = Conflicts()

    def call(self: Connection, operation_name: str, kwargs: dict[str, Any]) -> Any:
        if state.winning or operation_name != "TransactWriteItems" or state.left <= 0 or not state.holds_key(kwargs):
            return _original_call(self, operation_name, kwargs)
        state.left -= 1
        state.seen += 1
        if state.seen == 1 and state.on_first is not None:
            state.winning = True
            try:
                state.on_first()  # the winner commits while the loser's transaction is being refused
            finally:
                state.winning = False
        reasons = [
            {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            if _is_key_item(item)
            else {"Code": "None"}
            for item in kwargs["TransactItems"]
        ]
        error = ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                "CancellationReasons": reasons,
            },
            operation_name,
        )
        with mock.patch.object(self.client, "_make_api_call", side_effect=error):
            return _original_call(self, operation_name, kwargs)

    with mock.patch.object(Connection, "_make_api_call", call):
        yield state


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    fake = install_fake_gateway()
    yield fake
    reset_gateways()


def test_a_conflict_on_the_idempotency_key_answers_the_winners_order(
    conflicts: Conflicts, gateway: FakeGateway
) -> None:
    creator, buyer = a_user("creator"), a_user("customer")
    product = a_product(creator)
    winner: list[checkout.Checkout] = []
    # The winner's request commits during the loser's attempt, and the key's item stays contended for every
    # retry the transaction helper would make (on main: 503 after its retries, or 500 before them).
    conflicts.left = 10
    conflicts.on_first = lambda: winner.append(
        checkout.create_order(Caller(user_id=buyer, role="customer"), product.id, "same-key")
    )

    status, body, _ = Api().buy((buyer, "customer"), product.id, key="same-key")

    assert status == 201, body
    assert conflicts.seen >= 1
    assert body["order"]["id"] == winner[0].order.id
    assert [item.id for item in order_items_of_buyer(buyer)] == [winner[0].order.id]


def test_a_key_held_by_a_request_that_never_shows_its_order_is_409_not_a_500(
    conflicts: Conflicts, gateway: FakeGateway
) -> None:
    creator, buyer = a_user("creator"), a_user("customer")
    product = a_product(creator)
    conflicts.left = 100

    status, body, headers = Api().buy((buyer, "customer"), product.id, key="held-key")

    assert_problem(status, body, headers, 409)
    assert body["type"].endswith("idempotency-key-in-use")
    assert headers["retry-after"] == "1"
    assert order_items_of_buyer(buyer) == []  # the cancelled transactions wrote nothing
