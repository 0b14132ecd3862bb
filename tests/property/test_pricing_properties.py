"""Pricing properties (market.domain.pricing, no AWS): whatever the price, amount and code, the order's
amount is list_price - discount_amount, never below 0, 0 or at least the currency's minimum charge, and
a percentage rounds half-up exactly as Decimal's ROUND_HALF_UP does."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from market.domain.discount import Discount, percent_of
from market.domain.errors import ValidationFailed
from market.domain.money import MINIMUM_PRICE
from market.domain.pricing import new_order, price_order
from market.domain.product import Product

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CURRENCIES = st.sampled_from(["NGN", "GHS", "KES"])


def product(price: int, currency: str, pay_what_you_want: bool) -> Product:
    return Product(
        id="prd_1",
        creator_id="usr_creator",
        title="A book",
        description="",
        price=price,
        currency=currency,
        status="published",
        created_at=NOW,
        updated_at=NOW,
        pay_what_you_want=pay_what_you_want,
    )


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=1, max_value=100))
def test_a_percentage_rounds_half_up_in_integers(amount: int, percent: int) -> None:
    exact = (Decimal(amount) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert percent_of(amount, percent) == int(exact)


@given(
    currency=CURRENCIES,
    price=st.integers(min_value=0, max_value=10**9),
    pay_what_you_want=st.booleans(),
    extra=st.one_of(st.none(), st.integers(min_value=0, max_value=10**9)),
    percent_off=st.one_of(st.none(), st.integers(min_value=1, max_value=100)),
    amount_off=st.integers(min_value=1, max_value=10**9),
)
def test_the_charge_is_the_list_price_less_the_discount_never_negative_and_chargeable(
    currency: str, price: int, pay_what_you_want: bool, extra: int | None, percent_off: int | None, amount_off: int
) -> None:
    assume(price >= MINIMUM_PRICE[currency] or (pay_what_you_want and price == 0))  # what the catalog lets be
    item = product(price, currency, pay_what_you_want)
    amount = None if extra is None else price + extra
    code = Discount(
        creator_id="usr_creator",
        code="CODE",
        product_ids=("prd_1",),
        created_at=NOW,
        percent_off=percent_off,
        amount_off=None if percent_off else amount_off,
        currency=None if percent_off else currency,
    )
    try:
        pricing = price_order(item, amount=amount, discount_code="code", discount=code, now=NOW)
    except ValidationFailed as failed:
        assert {error.field for error in failed.errors} <= {"amount", "discount_code"}  # noqa: PT017 - one outcome of many
        return
    order = new_order(
        order_id="ord_1",
        buyer_id="usr_buyer",
        buyer_email="b@example.com",
        product=item,
        pricing=pricing,
        gateway="paystack",
        reference="ref",
        created_at="2026-12-01T12:00:00.000Z",
    )
    assert order.amount == pricing.list_price.amount - order.discount_amount >= 0
    assert order.list_price == pricing.list_price.amount
    assert 0 <= order.discount_amount <= pricing.list_price.amount
    assert order.amount == 0 or order.amount >= MINIMUM_PRICE[currency]
    assert (order.status, order.gateway) == (("paid", "none") if order.amount == 0 else ("pending", "paystack"))
