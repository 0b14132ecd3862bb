"""The Paystack emulator's checkout page behind authorization_url."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.localdev.paystack_fixtures import (
    Emulator,
    paystack_fixture,  # noqa: F401 (fixtures)
    receiver_fixture,  # noqa: F401 (fixtures)
)


def checkout(paystack: Emulator, **extra: Any) -> tuple[dict[str, Any], str]:
    data = paystack.initialize(123_456, "NGN", **extra)
    path = urlsplit(data["authorization_url"]).path
    page = paystack.client.get(path)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    return data, page.get_data(as_text=True)


def form_action(page: str, button: str) -> str:
    match = re.search(rf"action='([^']+/{button})'", page)
    assert match, f"no {button} form"
    return match.group(1)


def test_the_checkout_page_shows_amount_email_reference_and_buttons(paystack: Emulator) -> None:
    data, page = checkout(paystack)

    assert "NGN 1,234.56" in page
    assert "buyer@example.com" in page
    assert data["reference"] in page
    for button in ("Pay", "Decline", "Cancel"):
        assert f">{button}</button>" in page


def test_pay_on_the_checkout_page_redirects_to_the_callback_with_the_reference(paystack: Emulator) -> None:
    data, page = checkout(paystack, callback_url="http://127.0.0.1:3000/return?order=o1")

    response = paystack.client.post(form_action(page, "pay"), data={"via": "checkout"})

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert (location.netloc, location.path) == ("127.0.0.1:3000", "/return")
    assert parse_qs(location.query) == {
        "order": ["o1"],
        "trxref": [data["reference"]],
        "reference": [data["reference"]],
    }
    assert paystack.verify(data["reference"])["status"] == "success"


def test_decline_on_the_checkout_page_redirects_and_fails_the_payment(paystack: Emulator) -> None:
    data, page = checkout(paystack, callback_url="http://127.0.0.1:3000/return")

    response = paystack.client.post(form_action(page, "decline"), data={"via": "checkout"})

    assert response.status_code == 302
    assert f"reference={data['reference']}" in response.headers["Location"]
    assert paystack.verify(data["reference"])["status"] == "failed"


def test_cancel_on_the_checkout_page_goes_to_the_cancel_action(paystack: Emulator) -> None:
    data, page = checkout(paystack, callback_url="http://shop/return", metadata={"cancel_action": "http://shop/cart"})

    response = paystack.client.post(form_action(page, "abandon"), data={"via": "checkout"})

    assert (response.status_code, response.headers["Location"]) == (302, "http://shop/cart")
    assert paystack.verify(data["reference"])["status"] == "abandoned"


def test_without_a_callback_the_checkout_shows_the_result(paystack: Emulator) -> None:
    data, page = checkout(paystack)

    response = paystack.client.post(form_action(page, "pay"), data={"via": "checkout"})

    assert response.status_code == 200
    assert "Payment successful" in response.get_data(as_text=True)
    assert data["reference"] in response.get_data(as_text=True)


def test_an_unknown_checkout_link_is_not_found(paystack: Emulator) -> None:
    assert paystack.client.get("/checkout/nosuchcode").status_code == 404
