"""A product may restrict the payment gateways buyers may pay it with (``gateways``; null: every gateway).

Names are checked against the gateways' profiles, and each named gateway must take the product's
currency, when the product is created and whenever its currency or its list changes (422 on ``gateways``).
"""

from __future__ import annotations

from typing import Any

import pytest

from market.repositories import products as product_repo
from market.settings import get_settings
from tests.unit.catalog.test_products_api import Api, a_published_product


@pytest.fixture
def api(aws_resources: Any) -> Api:
    return Api()


def errors(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body["errors"]]


def test_a_product_accepts_every_gateway_unless_it_names_some(api: Api) -> None:
    every = api.create("creator-1")
    only = api.create("creator-1", gateways=["flutterwave", "flutterwave"])

    assert every["gateways"] is None
    assert only["gateways"] == ["flutterwave"]  # repeats dropped
    stored = product_repo.get(only["id"], consistent=True)
    assert stored is not None
    assert stored.gateways == ("flutterwave",)
    assert stored.accepts_gateway("flutterwave")
    assert not stored.accepts_gateway("paystack")


def test_buyers_see_which_gateways_a_product_accepts(api: Api) -> None:
    product = a_published_product(api, "creator-1", gateways=["paystack"])

    status, public, _ = api.call("GET", f"/products/{product['id']}", as_user="customer-1", role="customer")

    assert status == 200
    assert public["gateways"] == ["paystack"]


@pytest.mark.parametrize("gateways", [["bitcoin"], [], ["paystack", "cash"]], ids=["unknown", "empty", "one-bad"])
def test_an_unknown_name_or_an_empty_list_is_422_on_gateways(api: Api, gateways: list[str]) -> None:
    body = {"title": "Book", "description": "", "price": 250000, "currency": "NGN", "gateways": gateways}

    status, problem, _ = api.call("POST", "/products", body=body, as_user="creator-1")

    assert status == 422, problem
    assert set(errors(problem)) == {"gateways"}


def test_a_gateway_that_cannot_take_the_currency_is_422(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTED_CURRENCIES", "NGN,UGX")
    get_settings.cache_clear()
    body = {"title": "Book", "description": "", "price": 500000, "currency": "UGX"}

    refused = api.call("POST", "/products", body={**body, "gateways": ["paystack"]}, as_user="creator-1")
    accepted = api.call("POST", "/products", body={**body, "gateways": ["flutterwave"]}, as_user="creator-1")
    restricted = api.create("creator-1", gateways=["paystack"])
    moved = api.call("PATCH", f"/products/{restricted['id']}", body={"currency": "UGX"}, as_user="creator-1")

    assert (refused[0], errors(refused[1])) == (422, ["gateways"])
    assert refused[1]["errors"][0]["message"] == "paystack cannot take UGX"
    assert accepted[0] == 201
    assert (moved[0], errors(moved[1])) == (422, ["gateways"])  # a new currency its gateways cannot take


def test_patch_changes_or_lifts_the_restriction_and_leaves_it_when_not_named(api: Api) -> None:
    product = api.create("creator-1", gateways=["paystack"])
    path = f"/products/{product['id']}"

    retitled = api.call("PATCH", path, body={"title": "New title"}, as_user="creator-1")
    changed = api.call("PATCH", path, body={"gateways": ["flutterwave"]}, as_user="creator-1")
    lifted = api.call("PATCH", path, body={"gateways": None}, as_user="creator-1")

    assert (retitled[0], retitled[1]["gateways"]) == (200, ["paystack"])
    assert (changed[0], changed[1]["gateways"]) == (200, ["flutterwave"])
    assert (lifted[0], lifted[1]["gateways"]) == (200, None)
    assert api.call("PATCH", path, body={"gateways": ["x"]}, as_user="creator-1")[0] == 422
