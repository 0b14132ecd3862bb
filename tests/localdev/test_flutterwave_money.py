"""Major units on the wire, int minor units inside: exact both ways, never through a rounding float."""

from __future__ import annotations

import json
import os
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localdev.flutterwave.money import MAX_MINOR, AmountError, format_amount, to_major, to_minor


def test_kobo_and_naira_convert_exactly_both_ways() -> None:
    assert to_minor(Decimal("12345.67"), "NGN") == 1_234_567
    assert to_major(1_234_567, "NGN") == 12345.67
    assert json.dumps(to_major(1_234_567, "NGN")) == "12345.67"


def test_whole_amounts_go_out_as_integers() -> None:
    assert to_major(750_000, "NGN") == 7500
    assert isinstance(to_major(750_000, "NGN"), int)
    assert json.dumps({"amount": to_major(750_000, "NGN")}) == '{"amount": 7500}'


@pytest.mark.parametrize(
    ("value", "minor"),
    [(7500, 750_000), ("7500", 750_000), (" 12.5 ", 1_250), (Decimal("0.01"), 1), ("1e2", 10_000), (12.34, 1_234)],
)
def test_amounts_are_read_from_numbers_and_numeric_strings(value: object, minor: int) -> None:
    assert to_minor(value, "GHS") == minor


@pytest.mark.parametrize(
    "value", [0, -5, "0.00", "abc", "", None, True, Decimal("NaN"), "Infinity", Decimal("12.345"), 0.1 + 0.2, [1]]
)
def test_amounts_that_are_not_a_positive_number_of_cents_are_refused(value: object) -> None:
    with pytest.raises(AmountError):
        to_minor(value, "NGN")


def test_amounts_past_the_exact_range_are_refused() -> None:
    assert to_minor(to_major(MAX_MINOR, "USD"), "USD") == MAX_MINOR
    with pytest.raises(AmountError):
        to_minor(Decimal(MAX_MINOR + 1).scaleb(-2), "USD")


def test_amounts_are_shown_with_their_decimals() -> None:
    assert format_amount(1_234_567, "NGN") == "NGN 12,345.67"
    assert format_amount(500, "KES") == "KES 5.00"


@settings(max_examples=300, derandomize=bool(os.environ.get("CI")), database=None)
@given(st.integers(min_value=1, max_value=MAX_MINOR), st.sampled_from(["NGN", "GHS", "KES", "ZAR", "USD"]))
def test_every_minor_amount_survives_the_wire_exactly(minor: int, currency: str) -> None:
    wire = json.dumps({"amount": to_major(minor, currency)})

    back = json.loads(wire, parse_float=Decimal)["amount"]

    assert to_minor(back, currency) == minor
    assert Decimal(wire.split(": ")[1].rstrip("}")) == Decimal(minor).scaleb(-2)
