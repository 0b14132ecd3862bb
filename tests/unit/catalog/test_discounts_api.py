"""Discount codes in process (functions/upload/app.py) against moto: create, list, delete, and the
rules of the contract (DESIGN.md part 2, "Discount codes")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from market import clock
from market.domain.discount import Discount, percent_of
from market.domain.money import Money
from market.repositories import discounts as discounts_repo
from market.repositories.transactions import OperationRejected, write
from tests.unit.catalog.test_products_api import PROBLEM_JSON, Api

CREATOR = "creator-disc"


@pytest.fixture
def api(aws_resources: Any) -> Api:
    return Api()


def create(api: Api, body: dict[str, Any], creator: str = CREATOR) -> tuple[int, Any]:
    status, answer, _ = api.call("POST", "/discounts", body=body, as_user=creator)
    return status, answer


def field_errors(answer: dict[str, Any]) -> list[str]:
    return sorted(error["field"] for error in answer["errors"])


def test_a_percent_code_defaults_to_all_the_creators_products_and_is_stored_upper_case(api: Api) -> None:
    first = api.create(CREATOR)
    second = api.create(CREATOR, title="Second")
    api.create("someone-else")

    status, discount = create(api, {"code": "launch-20", "percent_off": 20})

    assert status == 201, discount
    assert discount["code"] == "LAUNCH-20"
    assert sorted(discount["product_ids"]) == sorted([first["id"], second["id"]])
    assert {key: discount[key] for key in ("percent_off", "amount_off", "currency", "max_redemptions")} == {
        "percent_off": 20,
        "amount_off": None,
        "currency": None,
        "max_redemptions": None,
    }
    assert (discount["redemptions"], discount["active"], discount["expires_at"]) == (0, True, None)
    assert discount["created_at"].endswith("Z")


def test_an_amount_code_names_its_currency_products_limit_and_expiry(api: Api) -> None:
    product = api.create(CREATOR)
    expires = clock.iso(clock.now() + timedelta(days=7))

    status, discount = create(
        api,
        {
            "code": "NAIRA500",
            "amount_off": 50000,
            "currency": "NGN",
            "product_ids": [product["id"]],
            "max_redemptions": 3,
            "expires_at": expires,
        },
    )

    assert status == 201, discount
    assert (discount["amount_off"], discount["currency"], discount["product_ids"]) == (50000, "NGN", [product["id"]])
    assert (discount["max_redemptions"], discount["expires_at"]) == (3, expires)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"code": "BOTH", "percent_off": 10, "amount_off": 100, "currency": "NGN"}, ["percent_off"]),
        ({"code": "NEITHER"}, ["percent_off"]),
        ({"code": "ab", "percent_off": 10}, ["code"]),
        ({"code": "has space", "percent_off": 10}, ["code"]),
        ({"code": "X" * 33, "percent_off": 10}, ["code"]),
        ({"code": "ZERO", "percent_off": 0}, ["percent_off"]),
        ({"code": "OVER", "percent_off": 101}, ["percent_off"]),
        ({"code": "NOCUR", "amount_off": 100}, ["currency"]),
        ({"code": "CURPCT", "percent_off": 10, "currency": "NGN"}, ["currency"]),
        ({"code": "BADCUR", "amount_off": 100, "currency": "EUR"}, ["currency"]),
        ({"code": "MAX0", "percent_off": 10, "max_redemptions": 0}, ["max_redemptions"]),
        ({"code": "PAST", "percent_off": 10, "expires_at": "2020-01-01T00:00:00Z"}, ["expires_at"]),
        ({"code": "a b", "percent_off": 0, "max_redemptions": 0}, ["code", "max_redemptions", "percent_off"]),
        ({"code": "STR", "percent_off": "10"}, ["percent_off"]),
        ({"code": "EXTRA", "percent_off": 10, "colour": "red"}, ["colour"]),
    ],
)
def test_a_bad_code_is_422_naming_every_bad_field(api: Api, body: dict[str, Any], fields: list[str]) -> None:
    status, answer = create(api, body)

    assert status == 422, answer
    assert answer["type"].endswith("validation-error")
    assert field_errors(answer) == fields


def test_a_product_that_is_not_the_callers_is_422(api: Api) -> None:
    mine = api.create(CREATOR)
    theirs = api.create("someone-else")

    status, answer = create(api, {"code": "MIXED", "percent_off": 10, "product_ids": [mine["id"], theirs["id"]]})

    assert status == 422
    assert field_errors(answer) == ["product_ids"]
    assert theirs["id"] in answer["errors"][0]["message"]


def test_the_same_code_twice_for_one_creator_is_409_whatever_its_case(api: Api) -> None:
    api.create(CREATOR)
    assert create(api, {"code": "SUMMER", "percent_off": 10})[0] == 201

    status, answer = create(api, {"code": "summer", "percent_off": 15})

    assert status == 409
    assert answer["type"].endswith("discount-code-taken")
    # Another creator may have the same code.
    assert create(api, {"code": "SUMMER", "percent_off": 10}, creator="another-creator")[0] == 201


def test_only_creators_manage_codes(api: Api) -> None:
    status, _, headers = api.call(
        "POST", "/discounts", body={"code": "NOPE", "percent_off": 5}, as_user="buyer-1", role="customer"
    )
    assert status == 403
    assert headers["content-type"] == PROBLEM_JSON
    assert api.call("GET", "/discounts")[0] == 401


def test_the_list_holds_the_callers_codes_only_paged(api: Api) -> None:
    api.create(CREATOR)
    for code in ("AAA", "BBB", "CCC"):
        assert create(api, {"code": code, "percent_off": 5})[0] == 201
    assert create(api, {"code": "ZZZ", "percent_off": 5}, creator="another-creator")[0] == 201

    status, first, _ = api.call("GET", "/discounts", as_user=CREATOR, query={"limit": "2"})
    assert status == 200
    assert len(first["items"]) == 2
    status, rest, _ = api.call(
        "GET", "/discounts", as_user=CREATOR, query={"limit": "2", "cursor": first["next_cursor"]}
    )
    assert status == 200
    assert sorted(d["code"] for d in first["items"] + rest["items"]) == ["AAA", "BBB", "CCC"]


def test_deleting_a_code_makes_it_inactive_and_an_unknown_one_is_404(api: Api) -> None:
    api.create(CREATOR)
    create(api, {"code": "GONE", "percent_off": 5})

    status, _, _ = api.call("DELETE", "/discounts/gone", as_user=CREATOR)

    assert status == 204
    _, listing, _ = api.call("GET", "/discounts", as_user=CREATOR)
    assert [(d["code"], d["active"]) for d in listing["items"]] == [("GONE", False)]
    assert api.call("DELETE", "/discounts/NEVER", as_user=CREATOR)[0] == 404
    assert api.call("DELETE", "/discounts/GONE", as_user="another-creator")[0] == 404


# ---------------------------------------------------------------- the rules (no HTTP)


def a_discount(**overrides: Any) -> Discount:
    values: dict[str, Any] = {
        "creator_id": CREATOR,
        "code": "RULES",
        "product_ids": ("p1",),
        "created_at": clock.now(),
        "percent_off": 10,
    }
    values.update(overrides)
    return Discount(**values)


@pytest.mark.parametrize(("price", "percent", "off"), [(250000, 10, 25000), (333, 50, 167), (1, 50, 1), (999, 33, 330)])
def test_a_percentage_is_rounded_half_up(price: int, percent: int, off: int) -> None:
    assert percent_of(price, percent) == off
    assert a_discount(percent_off=percent).discount_on(Money(price, "NGN")) == Money(off, "NGN")


def test_a_fixed_amount_never_takes_more_than_the_price_and_only_in_its_currency() -> None:
    code = a_discount(percent_off=None, amount_off=50000, currency="NGN")

    assert code.discount_on(Money(30000, "NGN")) == Money(30000, "NGN")
    assert code.discount_on(Money(80000, "NGN")) == Money(50000, "NGN")
    assert code.discount_on(Money(80000, "GHS")) == Money(0, "GHS")
    assert code.unusable_reason("p1", "GHS", clock.now()) is not None
    assert code.unusable_reason("p1", "NGN", clock.now()) is None


def test_an_inactive_expired_used_up_or_foreign_code_takes_nothing_off() -> None:
    now = clock.now()
    assert a_discount(active=False).unusable_reason("p1", "NGN", now)
    assert a_discount(expires_at=now).unusable_reason("p1", "NGN", now)
    assert a_discount(max_redemptions=2, redemptions=2).unusable_reason("p1", "NGN", now)
    assert a_discount().unusable_reason("p2", "NGN", now)
    assert a_discount(max_redemptions=2, redemptions=1).unusable_reason("p1", "NGN", now) is None


@pytest.mark.usefixtures("aws_resources")
def test_a_use_is_reserved_only_while_the_code_holds_one_and_given_back() -> None:
    discount = discounts_repo.create(a_discount(code="ONCE", max_redemptions=1))

    write([discounts_repo.reserve_use_op(discount, clock.now())])
    with pytest.raises(OperationRejected):
        write([discounts_repo.reserve_use_op(discount, clock.now())])
    write([discounts_repo.give_back_use_op(CREATOR, "ONCE")])
    write([discounts_repo.reserve_use_op(discount, clock.now())])

    stored = discounts_repo.get(CREATOR, "ONCE")
    assert stored is not None
    assert stored.redemptions == 1


@pytest.mark.usefixtures("aws_resources")
def test_an_expired_or_inactive_code_cannot_be_reserved() -> None:
    expired = discounts_repo.create(a_discount(code="OLD", expires_at=clock.now() + timedelta(seconds=5)))
    inactive = discounts_repo.create(a_discount(code="OFF"))
    assert discounts_repo.deactivate(CREATOR, "OFF")

    with pytest.raises(OperationRejected):
        write([discounts_repo.reserve_use_op(expired, clock.now() + timedelta(seconds=10))])
    with pytest.raises(OperationRejected):
        write([discounts_repo.reserve_use_op(inactive, clock.now())])
