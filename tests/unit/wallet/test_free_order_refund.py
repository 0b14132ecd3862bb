"""A free order (amount 0, gateway none) took no payment: POST /orders/{id}/refund is 409 not-refundable and no
gateway is asked (wallet API in process, moto, the template's IAM enforced)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from market import clock, ids
from market.domain.money import Money
from market.domain.pricing import Pricing, new_order
from market.domain.product import Product
from market.gateways.registry import reset_gateways
from market.repositories import orders as orders_repo
from tests.fixtures.aws import AwsResources
from tests.fixtures.wallet import FakeGateway, WalletApi, install_fake_gateway

CREATOR = "cr_ada"


@pytest.fixture
def gateway(aws_resources: AwsResources) -> Iterator[FakeGateway]:
    yield install_fake_gateway()
    reset_gateways()


def test_a_free_order_cannot_be_refunded_and_no_gateway_is_asked(gateway: FakeGateway) -> None:
    now = clock.now()
    product = Product(
        id="prd_free",
        creator_id=CREATOR,
        title="A free zine",
        description="",
        price=0,
        currency="NGN",
        status="published",
        created_at=now,
        updated_at=now,
        pay_what_you_want=True,
    )
    order_id = ids.new_id("ord_")
    order = orders_repo.create_order(
        new_order(
            order_id=order_id,
            buyer_id="cu_bola",
            buyer_email="bola@example.com",
            product=product,
            pricing=Pricing(list_price=Money(0, "NGN")),
            gateway="paystack",
            reference=f"mkt-{order_id}",
            created_at=clock.iso(now),
        )
    )
    assert (order.status, order.gateway) == ("paid", "none")

    for role, user in (("creator", CREATOR), ("admin", "usr_admin")):
        status, body = WalletApi().call("POST", f"/orders/{order.id}/refund", as_user=user, role=role, body=None)
        assert status == 409, body
        assert body["type"].endswith("/not-refundable")
    assert gateway.calls == []
