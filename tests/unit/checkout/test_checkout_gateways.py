"""``POST /orders {gateway}`` in process: the buyer picks Paystack (the default) or Flutterwave; an unknown
gateway, one the product does not accept, or one that cannot take the product's currency is a 422 on
``gateway`` and creates nothing. Each gateway is an in-memory fake of our own port.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from market.gateways.registry import override_gateway, reset_gateways
from market.settings import get_settings
from tests.fixtures.aws import AwsResources
from tests.fixtures.checkout import Api, assert_problem
from tests.fixtures.payments import FakeGateway, a_product, a_user, order_items_of_buyer, stored_order

Buyer = tuple[str, str]


@pytest.fixture
def gateways(aws_resources: AwsResources) -> Iterator[dict[str, FakeGateway]]:
    fakes = {"paystack": FakeGateway(name="paystack"), "flutterwave": FakeGateway(name="flutterwave", mode=None)}
    for name, fake in fakes.items():
        override_gateway(name, fake)
    yield fakes
    reset_gateways()


@pytest.fixture
def api(gateways: dict[str, FakeGateway]) -> Api:
    return Api()


@pytest.fixture
def creator() -> str:
    return a_user("creator")


@pytest.fixture
def buyer() -> Buyer:
    return (a_user("customer"), "customer")


def order(api: Api, buyer: Buyer, product_id: str, gateway: str | None = None, key: str | None = None) -> tuple:
    body = {"product_id": product_id, **({"gateway": gateway} if gateway is not None else {})}
    headers = {"Idempotency-Key": key} if key else None
    return api.call("POST", "/orders", as_user=buyer, body=body, headers=headers)


def test_an_order_paid_with_flutterwave_is_initialized_there(
    api: Api, gateways: dict[str, FakeGateway], creator: str, buyer: Buyer
) -> None:
    product = a_product(creator)

    status, body, _ = order(api, buyer, product.id, "flutterwave")

    assert status == 201, body
    placed = body["order"]
    assert placed["gateway"] == "flutterwave"
    assert body["payment"] == {
        "gateway": "flutterwave",
        "reference": placed["reference"],  # the tx_ref
        "authorization_url": f"https://checkout.fake-gateway.test/{placed['reference']}",
    }
    assert placed["reference"] == "mkt-" + placed["id"].replace("_", "-")
    assert gateways["flutterwave"].initialized == [placed["reference"]]
    assert gateways["paystack"].initialized == []
    assert stored_order(placed["id"]).gateway == "flutterwave"


def test_without_a_gateway_the_order_goes_to_paystack(
    api: Api, gateways: dict[str, FakeGateway], creator: str, buyer: Buyer
) -> None:
    status, body, _ = order(api, buyer, a_product(creator).id)

    assert status == 201, body
    assert (body["order"]["gateway"], body["payment"]["gateway"]) == ("paystack", "paystack")
    assert gateways["flutterwave"].initialized == []


@pytest.mark.parametrize("gateway", ["bitcoin", "Paystack", "FLUTTERWAVE", "none", ""])
def test_any_other_gateway_is_422_on_gateway_and_creates_nothing(
    api: Api, gateways: dict[str, FakeGateway], creator: str, buyer: Buyer, gateway: str
) -> None:
    status, body, headers = order(api, buyer, a_product(creator).id, gateway)

    assert_problem(status, body, headers, 422)
    assert [error["field"] for error in body["errors"]] == ["gateway"]
    assert order_items_of_buyer(buyer[0]) == []
    assert gateways["paystack"].initialized == gateways["flutterwave"].initialized == []


def test_a_gateway_the_product_does_not_accept_is_422_on_gateway(
    api: Api, gateways: dict[str, FakeGateway], creator: str, buyer: Buyer
) -> None:
    product = a_product(creator, gateways=("paystack",))

    refused = order(api, buyer, product.id, "flutterwave")
    accepted = order(api, buyer, product.id, "paystack")

    assert_problem(*refused, 422)
    assert refused[1]["errors"][0]["field"] == "gateway"
    assert "paystack" in refused[1]["errors"][0]["message"]
    assert accepted[0] == 201
    assert gateways["flutterwave"].initialized == []


def test_a_currency_the_gateway_cannot_take_is_422_on_gateway(
    api: Api, gateways: dict[str, FakeGateway], creator: str, buyer: Buyer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTED_CURRENCIES", "NGN,GHS,KES,ZAR,USD,UGX")
    get_settings.cache_clear()
    product = a_product(creator, price=500_000, currency="UGX")  # Flutterwave takes shillings, Paystack does not

    refused = order(api, buyer, product.id)  # the default gateway, Paystack
    accepted = order(api, buyer, product.id, "flutterwave")

    assert_problem(*refused, 422)
    assert refused[1]["errors"] == [{"field": "gateway", "message": "paystack cannot take UGX"}]
    assert accepted[0] == 201, accepted[1]
    assert accepted[1]["order"]["currency"] == "UGX"


def test_an_idempotency_key_replayed_for_another_gateway_is_422(
    api: Api, gateways: dict[str, FakeGateway], creator: str, buyer: Buyer
) -> None:
    product = a_product(creator)
    first = order(api, buyer, product.id, "flutterwave", key="checkout-gw-1")
    same = order(api, buyer, product.id, "flutterwave", key="checkout-gw-1")

    other = order(api, buyer, product.id, "paystack", key="checkout-gw-1")

    assert (first[0], same[0]) == (201, 201)
    assert same[1]["order"]["id"] == first[1]["order"]["id"]
    assert_problem(*other, 422)
    assert len(order_items_of_buyer(buyer[0])) == 1
    assert gateways["paystack"].initialized == []
