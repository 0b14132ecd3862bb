"""``POST /orders`` in its fewest DynamoDB round trips (README, "Performance"): the product and the
buyer in one read, one transaction for the order and its rate counters, and the payment page's URL
written with the order it returns (no read of the order after it). The gateway is an in-memory fake
of our port.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from market.gateways.registry import override_gateway, reset_gateways
from market.schemas.orders import OrderOut
from tests.fixtures.aws import AwsCalls, AwsResources
from tests.fixtures.checkout import Api
from tests.fixtures.payments import FakeGateway, a_product, a_user, stored_order


@pytest.fixture
def api(aws_resources: AwsResources) -> Iterator[Api]:
    override_gateway("paystack", FakeGateway(name="paystack"))
    yield Api()
    reset_gateways()


def test_an_order_is_written_once_and_never_read_back(api: Api, aws_calls: AwsCalls) -> None:
    product = a_product(a_user("creator"))
    buyer = (a_user("customer"), "customer")
    api.buy(buyer, a_product(a_user("creator")).id)  # warm: the first request also reads the signing key
    mark = len(aws_calls.made)

    status, body, _ = api.buy(buyer, product.id)

    assert status == 201, body
    assert sorted(aws_calls.since(mark)) == sorted(
        [
            "dynamodb.BatchGetItem",  # the product and the buyer
            "dynamodb.TransactWriteItems",  # the order, its reference, its pending marker, the rate counters
            "dynamodb.UpdateItem",  # the payment page's URL, answered with the order as written
        ]
    )
    stored = stored_order(body["order"]["id"])
    assert stored.authorization_url is not None
    assert body["order"] == OrderOut.model_validate(stored).model_dump(mode="json")
    assert body["payment"]["authorization_url"] == stored.authorization_url
