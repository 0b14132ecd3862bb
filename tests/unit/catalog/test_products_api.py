"""Products API in process (functions/upload/app.py) against moto: create, edit, archive, publish,
who sees what, and the catalog's cursor paging."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pytest

from market import clock
from market.auth.tokens import issue_access_token
from market.domain.errors import ValidationFailed
from market.domain.product import Product, ProductFile
from market.repositories import products as product_repo
from market.services import catalog
from tests.fixtures.events import http_event, json_body, lambda_context, load_function

PROBLEM_JSON = "application/problem+json"


class Api:
    """Calls the upload function's API handler with payload-2.0 events."""

    def __init__(self) -> None:
        self.module = load_function("functions/upload/app.py")

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        as_user: str | None = None,
        role: str = "creator",
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        all_headers = dict(headers or {})
        if as_user is not None:
            all_headers["authorization"] = f"Bearer {issue_access_token(as_user, role)[0]}"
        response = self.module.lambda_handler(
            http_event(method, path, body=body, headers=all_headers, query=query), lambda_context()
        )
        response_headers = {key.lower(): str(value) for key, value in (response.get("headers") or {}).items()}
        return response["statusCode"], json_body(response), response_headers

    def create(self, creator: str, **overrides: Any) -> dict[str, Any]:
        body = {"title": "The Lagos Cookbook", "description": "Recipes", "price": 250000, "currency": "NGN"}
        body.update(overrides)
        status, product, _ = self.call("POST", "/products", body=body, as_user=creator)
        assert status == 201, product
        return product  # type: ignore[no-any-return]


def attach_verified_file(product_id: str, name: str = "book.pdf") -> Product:
    """Give a product a verified file directly (the upload path has its own tests)."""
    product = product_repo.get(product_id, consistent=True)
    assert product is not None
    file = ProductFile(
        key=f"products/{product_id}/f{product.version}",
        name=name,
        content_type="application/pdf",
        size_bytes=1234,
        sha256=None,
        etag="etag",
        issued_at_ms=int(clock.now().timestamp() * 1000),
        attached_at=clock.now(),
    )
    return product_repo.save(replace(product, file=file))


def a_published_product(api: Api, creator: str, **overrides: Any) -> dict[str, Any]:
    product = api.create(creator, **overrides)
    attach_verified_file(product["id"])
    status, published, _ = api.call("POST", f"/products/{product['id']}/publish", as_user=creator)
    assert status == 200, published
    return published  # type: ignore[no-any-return]


@pytest.fixture
def api(aws_resources: Any) -> Api:
    return Api()


# ---------------------------------------------------------------- create


def test_creator_creates_a_draft_product(api: Api) -> None:
    status, product, headers = api.call(
        "POST",
        "/products",
        body={"title": "  Ankara Patterns  ", "description": "Twelve patterns", "price": 150000, "currency": "NGN"},
        as_user="creator-1",
    )

    assert status == 201
    assert headers["content-type"] == "application/json"
    assert product["id"]
    assert product["creator_id"] == "creator-1"
    assert product["title"] == "Ankara Patterns"
    assert product["description"] == "Twelve patterns"
    assert (product["price"], product["currency"]) == (150000, "NGN")
    assert product["status"] == "draft"
    assert product["file"] is None
    assert product["file_error"] is None
    assert product["created_at"].endswith("Z")
    assert product["updated_at"] == product["created_at"]
    stored = catalog.get_product(product["id"])
    assert stored is not None
    assert stored.status == "draft"


def test_customer_cannot_create_products(api: Api) -> None:
    status, problem, headers = api.call(
        "POST",
        "/products",
        body={"title": "x", "price": 10000, "currency": "NGN"},
        as_user="customer-1",
        role="customer",
    )

    assert status == 403
    assert headers["content-type"] == PROBLEM_JSON
    assert problem["status"] == 403


def test_creating_without_a_token_is_401(api: Api) -> None:
    status, problem, headers = api.call("POST", "/products", body={"title": "x", "price": 10000, "currency": "NGN"})

    assert status == 401
    assert headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert problem["status"] == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "", "price": 10000, "currency": "NGN"}, "title"),
        ({"title": "   ", "price": 10000, "currency": "NGN"}, "title"),
        ({"title": "t" * 201, "price": 10000, "currency": "NGN"}, "title"),
        ({"title": "ok", "description": "d" * 10_001, "price": 10000, "currency": "NGN"}, "description"),
        ({"title": "ok", "price": 10000.0, "currency": "NGN"}, "price"),
        ({"title": "ok", "price": "10000", "currency": "NGN"}, "price"),
        ({"title": "ok", "price": True, "currency": "NGN"}, "price"),
        ({"title": "ok", "price": 9999, "currency": "NGN"}, "price"),
        ({"title": "ok", "price": 99, "currency": "USD"}, "price"),
        ({"title": "ok", "price": 10000, "currency": "EUR"}, "currency"),
        ({"title": "ok", "price": 10000, "currency": "ngn"}, "currency"),
        ({"title": "ok", "price": 10000}, "currency"),
        ({"title": "ok", "price": 10000, "currency": "NGN", "status": "published"}, "status"),
    ],
)
def test_invalid_product_fields_are_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    status, problem, headers = api.call("POST", "/products", body=body, as_user="creator-1")

    assert status == 422
    assert headers["content-type"] == PROBLEM_JSON
    assert field in [error["field"] for error in problem["errors"]]


def test_price_at_the_currency_minimum_is_accepted(api: Api) -> None:
    product = api.create("creator-1", price=100, currency="USD")

    assert (product["price"], product["currency"]) == (100, "USD")


# ---------------------------------------------------------------- edit


def test_creator_edits_own_product(api: Api) -> None:
    product = api.create("creator-1")

    status, edited, _ = api.call(
        "PATCH", f"/products/{product['id']}", body={"title": "New title", "price": 300000}, as_user="creator-1"
    )

    assert status == 200
    assert edited["title"] == "New title"
    assert edited["price"] == 300000
    assert edited["description"] == product["description"]
    assert edited["updated_at"] >= product["updated_at"]
    stored = catalog.get_product(product["id"])
    assert stored is not None
    assert (stored.title, stored.price) == ("New title", 300000)


def test_changing_currency_checks_the_price_against_its_minimum(api: Api) -> None:
    product = api.create("creator-1", price=10000, currency="NGN")

    ok, _, _ = api.call("PATCH", f"/products/{product['id']}", body={"currency": "USD"}, as_user="creator-1")
    too_low, problem, _ = api.call(
        "PATCH", f"/products/{product['id']}", body={"currency": "NGN", "price": 500}, as_user="creator-1"
    )

    assert ok == 200
    assert too_low == 422
    assert [error["field"] for error in problem["errors"]] == ["price"]


@pytest.mark.parametrize("body", [{"title": None}, {"price": 1.5}, {"unknown": 1}, {}])
def test_invalid_edits_are_422(api: Api, body: dict[str, Any]) -> None:
    product = api.create("creator-1")

    status, problem, _ = api.call("PATCH", f"/products/{product['id']}", body=body, as_user="creator-1")

    assert status == 422
    assert problem["errors"]


def test_another_creator_cannot_edit_a_published_product(api: Api) -> None:
    product = a_published_product(api, "creator-1")

    status, problem, headers = api.call(
        "PATCH", f"/products/{product['id']}", body={"title": "Mine now"}, as_user="creator-2"
    )

    assert status == 403
    assert headers["content-type"] == PROBLEM_JSON
    assert problem["status"] == 403
    stored = catalog.get_product(product["id"])
    assert stored is not None
    assert stored.title == product["title"]


def test_another_creators_draft_is_404_so_its_existence_does_not_leak(api: Api) -> None:
    product = api.create("creator-1")

    edit, _, _ = api.call("PATCH", f"/products/{product['id']}", body={"title": "x"}, as_user="creator-2")
    publish, _, _ = api.call("POST", f"/products/{product['id']}/publish", as_user="creator-2")
    archive, _, _ = api.call("DELETE", f"/products/{product['id']}", as_user="creator-2")
    missing, _, _ = api.call("PATCH", "/products/no-such-product", body={"title": "x"}, as_user="creator-2")

    assert (edit, publish, archive, missing) == (404, 404, 404, 404)


def test_customer_cannot_edit_products(api: Api) -> None:
    product = a_published_product(api, "creator-1")

    status, _, _ = api.call(
        "PATCH", f"/products/{product['id']}", body={"title": "x"}, as_user="customer-1", role="customer"
    )

    assert status == 403


# ---------------------------------------------------------------- publish


def test_publishing_without_a_verified_file_is_409(api: Api) -> None:
    product = api.create("creator-1")

    status, problem, headers = api.call("POST", f"/products/{product['id']}/publish", as_user="creator-1")

    assert status == 409
    assert headers["content-type"] == PROBLEM_JSON
    assert "file" in problem["detail"]
    stored = catalog.get_product(product["id"])
    assert stored is not None
    assert stored.status == "draft"


def test_publishing_with_a_verified_file_makes_the_product_public(api: Api) -> None:
    product = api.create("creator-1")
    attach_verified_file(product["id"], name="cookbook.pdf")

    status, published, _ = api.call("POST", f"/products/{product['id']}/publish", as_user="creator-1")
    public_status, public, _ = api.call("GET", f"/products/{product['id']}")

    assert status == 200
    assert published["status"] == "published"
    assert public_status == 200
    assert public["file"] == {"name": "cookbook.pdf", "content_type": "application/pdf", "size_bytes": 1234}
    assert "file_error" not in public


def test_publishing_twice_is_harmless(api: Api) -> None:
    product = a_published_product(api, "creator-1")

    status, again, _ = api.call("POST", f"/products/{product['id']}/publish", as_user="creator-1")

    assert status == 200
    assert again["status"] == "published"


# ---------------------------------------------------------------- archive


def test_archiving_hides_the_product_but_buyers_keep_it(api: Api) -> None:
    product = a_published_product(api, "creator-1")

    status, body, _ = api.call("DELETE", f"/products/{product['id']}", as_user="creator-1")
    public_status, _, _ = api.call("GET", f"/products/{product['id']}")
    _, catalog_page, _ = api.call("GET", "/products")
    _, by_creator, _ = api.call("GET", "/products", query={"creator_id": "creator-1"})
    owner_status, owner_view, _ = api.call("GET", f"/products/{product['id']}", as_user="creator-1")

    assert status == 204
    assert body is None
    assert public_status == 404
    assert catalog_page["items"] == []
    assert by_creator["items"] == []
    assert owner_status == 200
    assert owner_view["status"] == "archived"
    kept = catalog.get_product(product["id"])  # what checkout and delivery read
    assert kept is not None
    assert kept.status == "archived"
    assert kept.file is not None
    assert kept.file.name == "book.pdf"


def test_archived_product_cannot_be_changed_or_republished(api: Api) -> None:
    product = a_published_product(api, "creator-1")
    api.call("DELETE", f"/products/{product['id']}", as_user="creator-1")

    edit, _, _ = api.call("PATCH", f"/products/{product['id']}", body={"title": "x"}, as_user="creator-1")
    publish, _, _ = api.call("POST", f"/products/{product['id']}/publish", as_user="creator-1")
    archive_again, _, _ = api.call("DELETE", f"/products/{product['id']}", as_user="creator-1")

    assert (edit, publish, archive_again) == (409, 409, 204)


# ---------------------------------------------------------------- single product visibility


def test_drafts_are_404_to_the_public_and_other_users(api: Api) -> None:
    product = api.create("creator-1")

    anonymous, problem, headers = api.call("GET", f"/products/{product['id']}")
    other, _, _ = api.call("GET", f"/products/{product['id']}", as_user="creator-2")
    customer, _, _ = api.call("GET", f"/products/{product['id']}", as_user="customer-1", role="customer")

    assert (anonymous, other, customer) == (404, 404, 404)
    assert headers["content-type"] == PROBLEM_JSON
    assert problem["status"] == 404


def test_creator_sees_own_draft_with_file_error(api: Api) -> None:
    product = api.create("creator-1")

    status, draft, _ = api.call("GET", f"/products/{product['id']}", as_user="creator-1")

    assert status == 200
    assert draft["status"] == "draft"
    assert "file_error" in draft


def test_a_creators_view_does_not_leak_into_the_next_anonymous_request(api: Api) -> None:
    product = api.create("creator-1")

    owner, _, _ = api.call("GET", f"/products/{product['id']}", as_user="creator-1")
    anonymous, _, _ = api.call("GET", f"/products/{product['id']}")

    assert (owner, anonymous) == (200, 404)


def test_a_bad_token_on_a_public_route_is_401(api: Api) -> None:
    product = a_published_product(api, "creator-1")

    status, _, headers = api.call("GET", f"/products/{product['id']}", headers={"authorization": "Bearer nope"})

    assert status == 401
    assert headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_public_product_json_has_exactly_the_contract_fields(api: Api) -> None:
    product = a_published_product(api, "creator-1")

    _, public, _ = api.call("GET", f"/products/{product['id']}", as_user="customer-1", role="customer")

    assert set(public) == {
        "id",
        "creator_id",
        "title",
        "description",
        "price",
        "currency",
        "status",
        "pay_what_you_want",
        "suggested_price",
        "file",
        "gateways",  # the payment gateways the product accepts (null: every one); beyond DESIGN.md's table
        "created_at",
        "updated_at",
    }


# ---------------------------------------------------------------- listings


def _all_pages(
    api: Api, path: str, limit: int, *, query: dict[str, str] | None = None, as_user: str | None = None
) -> tuple[list[str], int]:
    """Follow next_cursor to the end: the ids in order and the number of pages."""
    ids: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        params = {"limit": str(limit), **(query or {})}
        if cursor:
            params["cursor"] = cursor
        status, page, _ = api.call("GET", path, query=params, as_user=as_user)
        assert status == 200, page
        assert len(page["items"]) <= limit
        pages += 1
        ids.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages


def test_catalog_pages_return_each_published_product_exactly_once(api: Api) -> None:
    published = [a_published_product(api, f"creator-{n % 3}", title=f"Book {n}")["id"] for n in range(23)]
    drafts = [api.create("creator-0", title=f"Draft {n}")["id"] for n in range(4)]
    archived = a_published_product(api, "creator-1", title="Archived")["id"]
    api.call("DELETE", f"/products/{archived}", as_user="creator-1")

    ids, pages = _all_pages(api, "/products", limit=5)

    assert pages == 5
    assert len(ids) == len(set(ids))
    assert set(ids) == set(published)
    assert not set(ids) & {*drafts, archived}
    assert ids == list(reversed(published))  # newest publication first


def test_catalog_filters_by_creator(api: Api) -> None:
    mine = [a_published_product(api, "creator-1", title=f"Mine {n}")["id"] for n in range(7)]
    api.create("creator-1", title="My draft")
    for n in range(3):
        a_published_product(api, "creator-2", title=f"Theirs {n}")

    ids, pages = _all_pages(api, "/products", limit=3, query={"creator_id": "creator-1"})

    assert sorted(ids) == sorted(mine)
    assert len(ids) == len(set(ids))
    assert pages == 3


def test_creator_lists_own_products_in_every_status(api: Api) -> None:
    draft = api.create("creator-1", title="Draft")["id"]
    published = a_published_product(api, "creator-1", title="Published")["id"]
    archived = a_published_product(api, "creator-1", title="Archived")["id"]
    api.call("DELETE", f"/products/{archived}", as_user="creator-1")
    api.create("creator-2", title="Someone else's")

    ids, _ = _all_pages(api, "/creator/products", limit=2, as_user="creator-1")
    _, first_page, _ = api.call("GET", "/creator/products", as_user="creator-1")

    assert ids == [archived, published, draft]  # newest first
    assert {item["status"] for item in first_page["items"]} == {"draft", "published", "archived"}
    assert all("file_error" in item for item in first_page["items"])


def test_customer_cannot_list_creator_products(api: Api) -> None:
    status, _, _ = api.call("GET", "/creator/products", as_user="customer-1", role="customer")

    assert status == 403


def _tampered(cursor: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-3] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


@pytest.mark.parametrize("make_bad", [_tampered, lambda cursor: "not-a-cursor", lambda cursor: cursor[:-4]])
def test_a_tampered_cursor_is_400_problem_json(api: Api, make_bad: Any) -> None:
    for n in range(3):
        a_published_product(api, "creator-1", title=f"Book {n}")
    _, page, _ = api.call("GET", "/products", query={"limit": "1"})
    assert page["next_cursor"]

    status, problem, headers = api.call(
        "GET", "/products", query={"limit": "1", "cursor": make_bad(page["next_cursor"])}
    )

    assert status == 400
    assert headers["content-type"] == PROBLEM_JSON
    assert problem["status"] == 400


def test_a_cursor_from_another_listing_is_refused(api: Api) -> None:
    for n in range(3):
        a_published_product(api, "creator-1", title=f"Book {n}")
    _, page, _ = api.call("GET", "/products", query={"limit": "1"})

    status, _, _ = api.call(
        "GET", "/creator/products", query={"limit": "1", "cursor": page["next_cursor"]}, as_user="creator-1"
    )

    assert status == 400


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_limit_outside_1_to_100_is_422(api: Api, limit: str) -> None:
    status, problem, _ = api.call("GET", "/products", query={"limit": limit})

    assert status == 422
    assert problem["errors"][0]["field"] == "limit"


def test_listing_defaults_to_20_per_page(api: Api) -> None:
    for n in range(21):
        a_published_product(api, "creator-1", title=f"Book {n}")

    _, page, _ = api.call("GET", "/products")

    assert len(page["items"]) == 20
    assert page["next_cursor"] is not None


def test_exact_last_page_has_no_next_cursor(api: Api) -> None:
    for n in range(4):
        a_published_product(api, "creator-1", title=f"Book {n}")

    _, first, _ = api.call("GET", "/products", query={"limit": "2"})
    _, second, _ = api.call("GET", "/products", query={"limit": "2", "cursor": first["next_cursor"]})

    assert len(second["items"]) == 2
    assert second["next_cursor"] is None


def test_get_product_returns_the_file_key_and_original_name_for_other_services(api: Api) -> None:
    product = a_published_product(api, "creator-1")

    found = catalog.get_product(product["id"])

    assert found is not None
    assert found.file is not None
    assert found.file.key.startswith(f"products/{product['id']}/")
    assert found.file.name == "book.pdf"
    assert catalog.get_product("does-not-exist") is None
    assert catalog.get_product("../etc/passwd") is None


# ---------------------------------------------------------------- pay what you want (DESIGN.md part 2)


def test_a_pay_what_you_want_product_may_have_a_minimum_of_zero_and_a_suggested_price(api: Api) -> None:
    product = api.create("creator-1", price=0, pay_what_you_want=True, suggested_price=500000)

    assert (product["price"], product["pay_what_you_want"], product["suggested_price"]) == (0, True, 500000)
    _, public, _ = api.call("GET", f"/products/{product['id']}", as_user="creator-1")
    assert (public["pay_what_you_want"], public["suggested_price"]) == (True, 500000)


def test_a_fixed_price_product_is_not_pay_what_you_want_by_default(api: Api) -> None:
    product = api.create("creator-1")

    assert (product["pay_what_you_want"], product["suggested_price"]) == (False, None)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"price": 0}, ["price"]),  # a fixed price is > 0
        ({"price": 0, "pay_what_you_want": False, "suggested_price": 1000}, ["price", "suggested_price"]),
        ({"price": 200000, "pay_what_you_want": True, "suggested_price": 100000}, ["suggested_price"]),
        ({"price": 50, "pay_what_you_want": True}, ["price"]),  # 0, or at least the currency's minimum
        ({"price": -1, "pay_what_you_want": True}, ["price"]),
        (
            {"price": 0, "currency": "EUR", "pay_what_you_want": True, "suggested_price": -5},
            ["currency", "suggested_price"],
        ),
        ({"price": 0, "pay_what_you_want": "yes"}, ["pay_what_you_want"]),
    ],
)
def test_bad_pricing_is_422_naming_every_bad_field(api: Api, body: dict[str, Any], fields: list[str]) -> None:
    full = {"title": "Pricing", "price": 250000, "currency": "NGN", **body}

    status, answer, _ = api.call("POST", "/products", body=full, as_user="creator-1")

    assert status == 422, answer
    assert sorted(error["field"] for error in answer["errors"]) == fields


def test_a_product_can_become_pay_what_you_want_and_lose_its_suggested_price(api: Api) -> None:
    product = api.create("creator-1", price=150000)

    status, changed, _ = api.call(
        "PATCH",
        f"/products/{product['id']}",
        body={"pay_what_you_want": True, "price": 0, "suggested_price": 300000},
        as_user="creator-1",
    )
    assert status == 200, changed
    assert (changed["price"], changed["pay_what_you_want"], changed["suggested_price"]) == (0, True, 300000)

    status, cleared, _ = api.call(
        "PATCH", f"/products/{product['id']}", body={"suggested_price": None}, as_user="creator-1"
    )
    assert status == 200, cleared
    assert cleared["suggested_price"] is None

    status, back, _ = api.call(
        "PATCH", f"/products/{product['id']}", body={"pay_what_you_want": False}, as_user="creator-1"
    )
    assert status == 422  # a fixed price must be > 0, and this one is 0
    assert [error["field"] for error in back["errors"]] == ["price"]


@pytest.mark.parametrize(
    ("price", "amount", "charged"),
    [
        (0, None, 0),
        (0, 0, 0),
        (0, 10000, 10000),
        (150000, 150000, 150000),
        (150000, 999999, 999999),
        (150000, None, 150000),
    ],
)
def test_the_buyer_chooses_an_amount_at_least_the_minimum(price: int, amount: int | None, charged: int) -> None:
    product = replace(_a_product(), price=price, pay_what_you_want=True)

    assert product.buyer_price(amount).amount == charged


@pytest.mark.parametrize(("price", "amount"), [(150000, 149999), (0, 50), (0, -1)])
def test_an_amount_below_the_minimum_or_the_smallest_charge_is_422_on_amount(price: int, amount: int) -> None:
    product = replace(_a_product(), price=price, pay_what_you_want=True)

    with pytest.raises(ValidationFailed) as raised:
        product.buyer_price(amount)
    assert [error.field for error in raised.value.errors] == ["amount"]


def test_a_fixed_price_product_takes_no_other_amount() -> None:
    product = _a_product()

    assert product.buyer_price(None).amount == product.price
    assert product.buyer_price(product.price).amount == product.price
    with pytest.raises(ValidationFailed) as raised:
        product.buyer_price(product.price + 1)
    assert [error.field for error in raised.value.errors] == ["amount"]


def _a_product() -> Product:
    now = clock.now()
    return Product(
        id="p1",
        creator_id="c1",
        title="T",
        description="",
        price=250000,
        currency="NGN",
        status="published",
        created_at=now,
        updated_at=now,
    )
