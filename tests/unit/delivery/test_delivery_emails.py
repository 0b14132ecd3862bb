"""Pure pieces of delivery: money in emails, the MIME message, and Content-Disposition for any file name."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.emails import DeliveryEmail, delivery_email, format_amount
from market.storage import content_disposition


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (250000, "NGN", "NGN 2,500.00"),
        (5, "USD", "USD 0.05"),
        (123456789, "kes", "KES 1,234,567.89"),
        (1500, "XOF", "XOF 1,500"),
        (-1050, "GHS", "GHS -10.50"),
    ],
)
def test_amounts_show_the_currencys_decimals(amount: int, currency: str, expected: str) -> None:
    assert format_amount(amount, currency) == expected


def _mail(**overrides: object) -> DeliveryEmail:
    fields: dict[str, object] = {
        "to": "ada@example.com",
        "sender": "no-reply@market.test",
        "order_id": "ord_1",
        "product_title": "Jollof & <Friends>",
        "amount": 250000,
        "currency": "NGN",
        "download_url": "https://api.market.test/downloads/abc_DEF-123",
        "expires_at": datetime(2026, 1, 2, 10, 30, tzinfo=UTC),
        "uses": 1,
        "library_url": "https://api.market.test/library",
        "sent_at": datetime(2026, 1, 1, 10, 30, tzinfo=UTC),
    }
    fields.update(overrides)
    return DeliveryEmail(**fields)  # type: ignore[arg-type]


def test_the_delivery_email_is_multipart_alternative_with_text_and_html() -> None:
    raw = delivery_email(_mail()).as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)

    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["To"] == "ada@example.com"
    assert parsed["From"] == "no-reply@market.test"
    assert parsed["Subject"] == "Your purchase: Jollof & <Friends>"
    assert parsed["Message-ID"].endswith("@market.test>")
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    text_content, html_content = text.get_content(), html.get_content()
    assert "https://api.market.test/downloads/abc_DEF-123" in text_content
    assert "2026-01-02 10:30 UTC" in text_content
    assert "NGN 2,500.00" in text_content
    assert "Jollof &amp; &lt;Friends&gt;" in html_content  # escaped in HTML
    assert "<Friends>" not in html_content
    assert 'href="https://api.market.test/downloads/abc_DEF-123"' in html_content
    assert 'href="https://api.market.test/library"' in html_content


def test_a_title_with_line_breaks_cannot_add_headers() -> None:
    raw = delivery_email(_mail(product_title="Book\r\nBcc: victim@example.com")).as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)

    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Your purchase: Book Bcc: victim@example.com"


def test_a_non_ascii_title_survives_the_round_trip() -> None:
    raw = delivery_email(_mail(product_title="Ọbẹ̀ Ata — Yorùbá stews")).as_bytes()
    raw.decode("ascii")  # SES raw messages are 7-bit clean
    parsed = email.message_from_bytes(raw, policy=email.policy.default)

    assert parsed["Subject"] == "Your purchase: Ọbẹ̀ Ata — Yorùbá stews"


def test_content_disposition_has_an_ascii_fallback_and_the_exact_name() -> None:
    assert content_disposition('Ọbẹ̀ Ata "recipes".pdf') == (
        'attachment; filename="Obe Ata _recipes_.pdf"; '
        "filename*=UTF-8''%E1%BB%8Cb%E1%BA%B9%CC%80%20Ata%20%22recipes%22.pdf"
    )
    assert content_disposition("日本.pdf").startswith('attachment; filename=".pdf"')
    assert content_disposition("日本") == "attachment; filename=\"download\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC"


@given(st.text(min_size=1, max_size=80))
def test_content_disposition_is_a_safe_header_for_any_name(name: str) -> None:
    value = content_disposition(name)

    assert value.isascii()
    assert "\r" not in value
    assert "\n" not in value
    fallback = value.split('filename="', 1)[1].split('"; filename*=', 1)[0]
    assert '"' not in fallback
    assert "\\" not in fallback
    assert unquote(value.split("filename*=UTF-8''", 1)[1]) == name
