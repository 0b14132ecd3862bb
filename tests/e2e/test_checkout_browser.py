"""A real browser at the checkout: headless Chromium, driven by Playwright, opens an order's
``authorization_url`` on the Paystack emulator, clicks Pay, lands on the shop's callback URL, and
the order becomes paid through the signed webhook, as the API then shows.

Chromium is Debian's (``/usr/bin/chromium``; ``.ci/run`` installs it): Playwright's own browser
download cannot be had here. Where no Chromium is installed the test skips, saying so.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

from tests.helpers import wait_until
from tests.integration.factories import a_published_product, a_user, an_order, order_status
from tests.stackctl import LOG_DIR

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# No GPU, no sandbox (root), and none of Chromium's own traffic: this machine's network is closed.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = LOG_DIR / "e2e"
TIMEOUT = 30


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    """One headless Chromium with a fresh, empty profile for this module."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium), as .ci/run does")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context.set_default_timeout(TIMEOUT * 1000)
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def test_paying_on_the_checkout_page_in_a_real_browser_settles_the_order(stack: Any, page: Page) -> None:
    _, creator_token = a_user(stack, "creator")
    product = a_published_product(stack, creator_token, price=250000, title=f"Browser checkout {uuid.uuid4().hex[:6]}")
    _, buyer_token = a_user(stack, "customer")
    checkout = an_order(stack, buyer_token, product["id"], idempotency_key=f"browser-{uuid.uuid4().hex}")
    order_id, reference = checkout["order"]["id"], checkout["payment"]["reference"]
    callback = f"{stack.api}/orders/{order_id}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(checkout["payment"]["authorization_url"])
    expect(page.locator("#amount")).to_have_text("NGN 2,500.00")
    expect(page.get_by_text(reference)).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "checkout.png")
    assert order_status(stack, buyer_token, order_id) == "pending"
    with page.expect_navigation(url=lambda url: url.startswith(callback)):
        page.get_by_role("button", name="Pay", exact=True).click()

    landed = urlsplit(page.url)
    assert f"{landed.scheme}://{landed.netloc}{landed.path}" == callback
    assert dict(parse_qsl(landed.query)) == {"trxref": reference, "reference": reference}
    wait_until(lambda: order_status(stack, buyer_token, order_id) == "paid", timeout=TIMEOUT, what="the order paid")
    deliveries = requests.get(
        f"{stack.gateway}/_emulator/webhooks", params={"reference": reference}, timeout=TIMEOUT
    ).json()["items"]
    assert ("charge.success", "delivered") in [(d["event"], d["status"]) for d in deliveries]
