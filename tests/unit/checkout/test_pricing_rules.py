"""The pricing rules of an order (market.domain.pricing, DESIGN part 2), with no AWS: list price,
pay-what-you-want amounts, discount codes (half-up, never below 0, one currency for fixed amounts),
the currency's minimum charge, and the free order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from market.domain.discount import Discount
from market.domain.errors import ValidationFailed
from market.domain.pricing import Pricing, new_order, price_order
from market.domain.product import Product

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FIXED = Product(
    id="prd_fixed",
    creator_id="usr_creator",
    title="A book",
    description="",
    price=333300,
    currency="NGN",
    status="published",
    created_at=NOW,
    updated_at=NOW,
)
PWYW = replace(FIXED, id="prd_pwyw", price=100000, pay_what_you_want=True, suggested_price=300000)
FREE = replace(FIXED, id="prd_free", price=0, pay_what_you_want=True)
CODE = Discount(
    creator_id="usr_creator",
    code="THIRD",
    product_ids=("prd_fixed", "prd_pwyw", "prd_free"),
    created_at=NOW,
    percent_off=33,
)


def fields(error: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return sorted(entry.field for entry in error.value.errors)


def priced(
    product: Product, amount: int | None = None, code: Discount | None = None, sent: str | None = None
) -> Pricing:
    return price_order(product, amount=amount, discount_code=sent, discount=code, now=NOW)


def test_a_fixed_price_is_the_list_price_and_takes_no_other_amount() -> None:
    assert priced(FIXED).charge.amount == 333300
    assert priced(FIXED, amount=333300).charge.amount == 333300
    with pytest.raises(ValidationFailed) as error:
        priced(FIXED, amount=333301)
    assert fields(error) == ["amount"]


def test_pay_what_you_want_lists_the_buyers_amount_from_the_minimum_up() -> None:
    assert priced(PWYW, amount=420000).list_price.amount == 420000
    assert priced(PWYW).list_price.amount == 100000  # no amount sent: the minimum, not the suggestion
    with pytest.raises(ValidationFailed) as error:
        priced(PWYW, amount=99999)
    assert fields(error) == ["amount"]


def test_a_zero_minimum_takes_0_or_at_least_the_currencys_minimum_charge() -> None:
    assert priced(FREE).is_free
    assert priced(FREE, amount=10000).charge.amount == 10000
    with pytest.raises(ValidationFailed) as error:
        priced(FREE, amount=50)  # NGN 0.50: no gateway charges that
    assert fields(error) == ["amount"]


def test_a_percentage_is_taken_off_half_up_and_stored_on_the_order() -> None:
    pricing = priced(FIXED, code=CODE, sent="third")

    assert (pricing.list_price.amount, pricing.discount_amount, pricing.charge.amount) == (333300, 109989, 223311)
    order = new_order(
        order_id="ord_1",
        buyer_id="usr_buyer",
        buyer_email="b@example.com",
        product=FIXED,
        pricing=pricing,
        gateway="paystack",
        reference="mkt-ord_1",
        created_at="2026-12-01T12:00:00.000Z",
    )
    assert (order.list_price, order.discount_code, order.discount_amount, order.amount) == (
        333300,
        "THIRD",
        109989,
        223311,
    )
    assert (order.status, order.gateway, order.reference) == ("pending", "paystack", "mkt-ord_1")


def test_a_percentage_applies_to_a_pay_what_you_want_amount() -> None:
    assert priced(PWYW, amount=200001, code=CODE, sent="THIRD").discount_amount == 66000  # 66000.33 -> 66000
    assert priced(PWYW, amount=150000, code=replace(CODE, percent_off=1), sent="THIRD").discount_amount == 1500


def test_a_fixed_amount_is_at_most_the_price_and_only_in_its_currency() -> None:
    off = replace(CODE, percent_off=None, amount_off=500000, currency="NGN")

    assert priced(FIXED, code=off, sent="THIRD").charge.amount == 0  # min(amount_off, list_price): free
    with pytest.raises(ValidationFailed) as error:
        priced(FIXED, code=replace(off, currency="GHS"), sent="THIRD")
    assert fields(error) == ["discount_code"]


def test_a_code_that_would_leave_less_than_the_minimum_charge_is_422() -> None:
    off = replace(CODE, percent_off=None, amount_off=333300 - 50, currency="NGN")  # NGN 0.50 left

    with pytest.raises(ValidationFailed) as error:
        priced(FIXED, code=off, sent="THIRD")
    assert fields(error) == ["discount_code"]
    assert priced(FIXED, code=replace(off, amount_off=333300 - 10000), sent="THIRD").charge.amount == 10000


@pytest.mark.parametrize(
    "code",
    [
        None,  # unknown
        replace(CODE, active=False),
        replace(CODE, expires_at=NOW - timedelta(seconds=1)),
        replace(CODE, max_redemptions=3, redemptions=3),
        replace(CODE, product_ids=("prd_other",)),
    ],
)
def test_a_code_that_does_not_apply_is_422_on_discount_code(code: Discount | None) -> None:
    with pytest.raises(ValidationFailed) as error:
        priced(FIXED, code=code, sent="THIRD")
    assert fields(error) == ["discount_code"]


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(ValidationFailed) as error:
        priced(PWYW, amount=1, code=None, sent="NOPE")
    assert fields(error) == ["amount", "discount_code"]


def test_nothing_to_charge_makes_a_paid_order_with_no_gateway_no_fee_and_no_net() -> None:
    order = new_order(
        order_id="ord_free",
        buyer_id=None,
        buyer_email="guest@example.com",
        product=FIXED,
        pricing=priced(FIXED, code=replace(CODE, percent_off=100), sent="third"),
        gateway="paystack",
        reference="mkt-ord_free",
        created_at="2026-12-01T12:00:00.000Z",
        guest_token_hash="ab" * 32,
    )

    assert (order.status, order.gateway, order.amount, order.discount_amount) == ("paid", "none", 0, 333300)
    assert (order.paid_at, order.platform_fee, order.net_amount) == (order.created_at, 0, 0)
    assert order.reference == "ord_free"  # no payment reference: nothing was sent to a gateway
    assert order.is_guest
