"""``make demo``: the whole story of the marketplace, played over HTTP against a running local stack.

A creator and a buyer register; the creator uploads a generated PDF straight to the presigned S3
POST and publishes it; the buyer orders it, pays on the Paystack emulator's checkout page (the Pay
form, submitted as a browser would), and gets the delivery email, whose link gives back the very
same bytes; the creator sees the sale in the wallet, ledger and dashboard, and is paid out.

    make run                        # in one terminal: the local stack
    make demo                       # in another: python -m localdev.demo
    python -m localdev.demo --api http://127.0.0.1:7400 --gateway http://127.0.0.1:7401

Each step prints the request and the key fields of the answer (never a token or a secret in
full). The demo stops at the first step that misbehaves and exits 1 naming the step, the status
and the problem body; 2 when the stack cannot be reached at all.
"""

from __future__ import annotations

import argparse
import hashlib
import http
import json
import os
import re
import secrets
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import IO, Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

PRICE = 350_000  # NGN 3,500.00, in kobo
CURRENCY = "NGN"
# One of the Paystack emulator's fixture banks and an account number it resolves (any 10 digits but 0000000000).
PAYOUT_BANK_CODE = "058"
PAYOUT_ACCOUNT_NUMBER = "0123456789"
HTTP_TIMEOUT = 60.0  # the first request to a function starts it cold
DEFAULT_WAIT = 60.0
POLL_INTERVAL = 0.25
SECRET_FIELDS = {"password", "access_token", "refresh_token", "guest_token", "policy", "signature"}


class DemoFailure(Exception):
    """A step misbehaved: what was expected, and what came back."""

    def __init__(self, message: str, response: requests.Response | None = None, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.response = response
        self.unreachable = unreachable


# ---------------------------------------------------------------- showing things without their secrets


def masked(value: str, keep: int = 6) -> str:
    """The first few characters of a secret and its length: enough to tell two apart, never to use one."""
    return value if len(value) <= keep else f"{value[:keep]}…({len(value)} chars)"


def shown_url(url: str, api: str = "") -> str:
    """A URL without its query string (presigned signatures) and with a token in its path masked."""
    parts = urlsplit(url)
    path = re.sub(r"/downloads/([^/?#]+)", lambda m: f"/downloads/{masked(m.group(1))}", parts.path)
    base = f"{parts.scheme}://{parts.netloc}"
    shown = path if api and base == api.rstrip("/") else f"{base}{path}"
    if parts.query:
        names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
        signed = any(name.lower().startswith("x-amz-") for name in names)
        shown += "?<presigned query>" if signed else "?" + "&".join(f"{name}=…" for name in names)
    return shown


def shown_body(body: Any) -> str:
    if isinstance(body, Mapping):
        return json.dumps(
            {key: ("•••" if key.lower() in SECRET_FIELDS else value) for key, value in body.items()},
            ensure_ascii=False,
        )
    return json.dumps(body, ensure_ascii=False)


def money(amount: int, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}{currency} {abs(amount) // 100:,}.{abs(amount) % 100:02d}"


def without_secrets(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: masked(str(item)) if key.lower() in SECRET_FIELDS else without_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value


def status_line(response: requests.Response) -> str:
    try:
        return f"{response.status_code} {http.HTTPStatus(response.status_code).phrase}"
    except ValueError:
        return f"{response.status_code} {response.reason}"


def problem_text(response: requests.Response) -> str:
    try:
        return json.dumps(without_secrets(response.json()), ensure_ascii=False, indent=2)
    except ValueError:
        return response.text[:2000] or "(empty body)"


# ---------------------------------------------------------------- the product: a real PDF, built here


def _pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def demo_pdf(title: str, run_id: str) -> bytes:
    """A small, valid one-page PDF (correct xref offsets), unique to this run."""
    lines = [title, f"Demo run {run_id}", "Thank you for buying from the local marketplace."]
    text = " ".join(
        f"BT /F1 {18 if i == 0 else 12} Tf 72 {720 - 28 * i} Td ({_pdf_text(line)}) Tj ET"
        for i, line in enumerate(lines)
    ).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
    ]
    pdf = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(pdf)


# ---------------------------------------------------------------- the checkout page's forms, read as a browser would


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)


class FormParser(HTMLParser):
    """Every ``<form>`` with its inputs (name → value) and the text of its submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = Form(values.get("action", ""), values.get("method", "get").lower())
            self.forms.append(self._form)
        elif self._form is not None and tag == "input" and values.get("name"):
            self._form.fields[values["name"]] = values.get("value", "")
        elif self._form is not None and tag == "button":
            self._in_button = True
            self._form.buttons.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "button":
            self._in_button = False

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._in_button:
            self._form.buttons[-1] += data.strip()


def form_with_button(html: str, label: str) -> Form:
    parser = FormParser()
    parser.feed(html)
    for form in parser.forms:
        if label in form.buttons:
            return form
    raise DemoFailure(f"the checkout page has no form with a {label!r} button (found {len(parser.forms)} forms)")


# ---------------------------------------------------------------- the demo


@dataclass
class Config:
    api: str
    gateway: str
    helpers: str
    paystack_secret_key: str
    wait: float = DEFAULT_WAIT


@dataclass
class Demo:
    config: Config
    out: IO[str]
    session: requests.Session = field(default_factory=requests.Session)
    step_number: int = 0
    step_title: str = ""
    last_response: requests.Response | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    # ------------------------------------------------------------ printing
    def step(self, title: str) -> None:
        self.step_number += 1
        self.step_title = title
        self.out.write(f"\n{self.step_number:>2}. {title}\n")
        self.out.flush()

    def say(self, text: str) -> None:
        self.out.write(f"    {text}\n")
        self.out.flush()

    def fields(self, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            self.say(f"  {key}: {value}")

    # ------------------------------------------------------------ HTTP
    def call(
        self,
        method: str,
        url: str,
        *,
        expect: Iterable[int] = (200,),
        token: str | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        quiet: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        sent = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        line = f"{method} {shown_url(url, self.config.api)}"
        if json_body is not None:
            line += f" {shown_body(json_body)}"
        if not quiet:
            notes = [f"{name}: {value}" for name, value in (headers or {}).items() if name != "Authorization"]
            self.say(f"→ {line}" + (f"  [{', '.join(notes)}]" if notes else ""))
        try:
            response = self.session.request(
                method, url, json=json_body, headers=sent, timeout=HTTP_TIMEOUT, allow_redirects=False, **kwargs
            )
        except requests.RequestException as error:
            raise DemoFailure(f"{line} did not answer: {error}", unreachable=True) from error
        self.last_response = response
        expected = tuple(expect)
        if response.status_code not in expected:
            raise DemoFailure(
                f"{line} answered {status_line(response)}, expected {' or '.join(map(str, expected))}",
                response,
            )
        if not quiet:
            self.say(f"← {status_line(response)}")
        return response

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.call(method, f"{self.config.api}{path}", **kwargs)

    def wait_for[T](self, what: str, check: Callable[[], tuple[bool, T]], *, show: Callable[[T], str]) -> T:
        """Poll ``check`` until it reports done, or fail once the deadline passes, showing the last value."""
        started = time.monotonic()
        deadline = started + self.config.wait
        done, value = check()
        seen = show(value)
        self.say(f"… waiting for {what}: {seen}")
        while not done:
            if time.monotonic() > deadline:
                raise DemoFailure(f"timed out after {self.config.wait:.0f}s waiting for {what}; last seen: {seen}")
            time.sleep(POLL_INTERVAL)
            done, value = check()
            if show(value) != seen:
                seen = show(value)
                self.say(f"… {seen}")
        self.say(f"✓ {what} after {time.monotonic() - started:.1f}s")
        return value

    # ------------------------------------------------------------ the story
    def run(self) -> None:
        config = self.config
        self.out.write(
            f"Marketplace demo (run {self.run_id})\n"
            f"  local API          {config.api}\n"
            f"  Paystack emulator  {config.gateway}\n"
        )
        if config.helpers != config.api:
            self.out.write(f"  local helpers      {config.helpers}\n")

        self.step("The local stack is up")
        health = self.api("GET", "/health").json()
        self.fields({"api": health.get("status")})
        self.call("GET", f"{config.gateway}/health")

        creator_email = f"demo-creator-{self.run_id}@example.com"
        buyer_email = f"demo-buyer-{self.run_id}@example.com"
        creator = self.register_and_log_in("creator", creator_email, "Adaeze (creator)")
        buyer = self.register_and_log_in("customer", buyer_email, "Kofi (buyer)")

        product, pdf = self.publish_a_product(creator)
        order, payment = self.buy(buyer, product)
        self.pay_on_checkout_page(payment)
        self.wait_until_paid(buyer, order)
        self.deliver(buyer_email, order, pdf)
        net = self.show_earnings(creator, product)
        self.pay_out(creator, net)

        self.out.write(f"\nDemo complete: {self.step_number} steps, every one as expected.\n")

    def register_and_log_in(self, role: str, email: str, display_name: str) -> str:
        password = secrets.token_urlsafe(16)
        who = "creator" if role == "creator" else "buyer"
        self.step(f"Register a {who}")
        user = self.api(
            "POST",
            "/auth/register",
            json_body={"email": email, "password": password, "role": role, "display_name": display_name},
            expect=(201,),
        ).json()
        self.fields({"id": user["id"], "email": user["email"], "role": user["role"]})

        self.step(f"The {who} logs in")
        pair = self.api("POST", "/auth/login", json_body={"email": email, "password": password}).json()
        token: str = pair["access_token"]
        self.fields(
            {
                "access_token": masked(token),
                "refresh_token": masked(pair["refresh_token"]),
                "expires_in": f"{pair['expires_in']} s",
            }
        )
        me = self.api("GET", "/me", token=token).json()
        self.fields({"signed in as": f"{me['email']} ({me['role']})"})
        return token

    def publish_a_product(self, creator: str) -> tuple[dict[str, Any], bytes]:
        title = f"Suya at Home, demo {self.run_id}"
        filename = "suya-at-home.pdf"
        pdf = demo_pdf(title, self.run_id)

        self.step("The creator creates a product (a draft)")
        product = self.api(
            "POST",
            "/products",
            token=creator,
            json_body={
                "title": title,
                "description": "Grill-side recipes",
                "price": PRICE,
                "currency": CURRENCY,
            },
            expect=(201,),
        ).json()
        self.fields(
            {"id": product["id"], "status": product["status"], "price": money(product["price"], product["currency"])}
        )
        product_id = product["id"]

        self.step("The creator gets an upload ticket (a presigned S3 POST)")
        ticket = self.api(
            "POST",
            f"/products/{product_id}/upload",
            token=creator,
            json_body={"filename": filename, "content_type": "application/pdf", "size_bytes": len(pdf)},
        ).json()
        self.fields(
            {
                "url": shown_url(ticket["url"]),
                "fields": ", ".join(sorted(ticket["fields"])),
                "key": ticket["key"],
                "expires_in": f"{ticket['expires_in']} s",
            }
        )

        self.step(f"Upload the generated PDF ({len(pdf):,} bytes) straight to S3, as a browser would")
        self.say(f"  file: {filename}, starts {pdf[:8]!r}, sha256 {hashlib.sha256(pdf).hexdigest()[:16]}…")
        self.call(
            "POST",
            ticket["url"],
            expect=(200, 201, 204),
            data=ticket["fields"],
            files={"file": (filename, pdf, ticket["fields"].get("Content-Type", "application/pdf"))},
        )

        def verified() -> tuple[bool, dict[str, Any]]:
            view = self.api("GET", f"/products/{product_id}", token=creator, quiet=True).json()
            return view.get("file") is not None, view

        self.step("Wait until the upload function has verified the file")
        view = self.wait_for(
            "the file to be verified",
            verified,
            show=lambda view: f"file {json.dumps(view['file'], ensure_ascii=False) if view.get('file') else 'not yet'}",
        )
        if view["file"]["size_bytes"] != len(pdf):
            raise DemoFailure(f"the product's file has {view['file']['size_bytes']} bytes, {len(pdf)} were uploaded")

        self.step("The creator publishes the product")
        published = self.api("POST", f"/products/{product_id}/publish", token=creator).json()
        self.fields({"status": published["status"]})
        listed = self.api("GET", f"/products/{product_id}").json()
        self.fields({"in the public catalog": f"{listed['title']} at {money(listed['price'], listed['currency'])}"})
        return published, pdf

    def buy(self, buyer: str, product: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        self.step("The buyer creates an order (with an Idempotency-Key)")
        key = f"demo-order-{self.run_id}"
        body = {"product_id": product["id"]}
        checkout = self.api(
            "POST", "/orders", token=buyer, json_body=body, headers={"Idempotency-Key": key}, expect=(201,)
        ).json()
        order, payment = checkout["order"], checkout["payment"]
        self.fields(
            {
                "order": f"{order['id']} ({order['status']}, {money(order['amount'], order['currency'])})",
                "payment": f"{payment['gateway']}, reference {payment['reference']}",
                "authorization_url": shown_url(payment["authorization_url"]),
            }
        )
        replay = self.api(
            "POST", "/orders", token=buyer, json_body=body, headers={"Idempotency-Key": key}, expect=(200, 201)
        ).json()
        if replay["order"]["id"] != order["id"]:
            raise DemoFailure(f"the same Idempotency-Key made a second order {replay['order']['id']}")
        self.fields({"the same key again": f"the same order {replay['order']['id']}"})
        return order, payment

    def pay_on_checkout_page(self, payment: dict[str, Any]) -> None:
        self.step("The buyer pays on the Paystack checkout page")
        page_url = payment["authorization_url"]
        page = self.call("GET", page_url)
        amount = re.search(r"id=amount>([^<]*)<", page.text)
        form = form_with_button(page.text, "Pay")
        self.fields(
            {
                "page": f"{len(page.text):,} bytes of HTML, amount {amount.group(1) if amount else '?'}",
                "Pay form": f"{form.method.upper()} {form.action}  fields {sorted(form.fields)}",
            }
        )
        self.say("  clicking Pay (the form's own fields, as a browser submits them)")
        submitted = self.call(
            form.method.upper(),
            urljoin(page_url, form.action),
            expect=(302, 303),
            data=form.fields,
        )
        location = submitted.headers.get("Location", "")
        self.fields({"redirected to the shop's callback": shown_url(location, self.config.api)})
        query = dict(parse_qsl(urlsplit(location).query))
        if query.get("reference") != payment["reference"]:
            raise DemoFailure(f"the callback URL carries reference {query.get('reference')!r}", submitted)

    def wait_until_paid(self, buyer: str, order: dict[str, Any]) -> None:
        self.step("The signed webhook settles the order (GET /orders/{id} until paid)")

        def paid() -> tuple[bool, dict[str, Any]]:
            view = self.api("GET", f"/orders/{order['id']}", token=buyer, quiet=True).json()
            if view["status"] in ("failed", "expired"):
                raise DemoFailure(f"the order became {view['status']} instead of paid")
            return view["status"] == "paid", view

        view = self.wait_for("the order to be paid", paid, show=lambda view: f"status {view['status']}")
        self.fields({"status": view["status"], "paid_at": view["paid_at"]})

    def deliver(self, buyer_email: str, order: dict[str, Any], pdf: bytes) -> None:
        self.step("The delivery email reaches the buyer (the local outbox)")

        def mail() -> tuple[bool, list[dict[str, Any]]]:
            items = self.call("GET", f"{self.config.helpers}/_local/outbox", params={"to": buyer_email}, quiet=True)
            found: list[dict[str, Any]] = items.json()["items"]
            return bool(found), found

        self.say(f"→ GET {shown_url(self.config.helpers, self.config.api)}/_local/outbox?to={buyer_email}")
        [email, *_] = self.wait_for("the email", mail, show=lambda found: f"{len(found)} email(s)")
        links = re.findall(r"https?://[^\s\"'<>]+/downloads/[A-Za-z0-9_-]+", email["text"])
        self.fields(
            {
                "to": ", ".join(email["to"]),
                "subject": email["subject"],
                "download link": shown_url(links[0]) if links else "none!",
            }
        )
        if order["id"] not in email["text"]:
            raise DemoFailure(f"the email does not name order {order['id']}")
        if not links:
            raise DemoFailure("the delivery email has no download link")

        self.step("Follow the download link and compare the bytes")
        redirect = self.call("GET", links[0], expect=(302,))
        location = redirect.headers["Location"]
        self.fields({"302 to": shown_url(location)})
        file = self.call("GET", location)
        digest = hashlib.sha256(file.content).hexdigest()
        self.fields(
            {
                "received": f"{len(file.content):,} bytes, {file.headers.get('Content-Type')}, sha256 {digest[:16]}…",
            }
        )
        if file.content != pdf:
            raise DemoFailure(f"the downloaded file ({len(file.content)} bytes) is not the uploaded PDF ({len(pdf)})")
        self.say("  ✓ the same bytes as the generated PDF")

    def show_earnings(self, creator: str, product: dict[str, Any]) -> int:
        self.step("The creator's wallet")
        balances = self.api("GET", "/wallet", token=creator).json()["balances"]
        row = next((row for row in balances if row["currency"] == CURRENCY), None)
        if row is None:
            raise DemoFailure(f"the wallet has no {CURRENCY} balance after the sale: {balances}")
        for name in ("available", "pending", "on_hold_for_payouts", "lifetime_gross", "lifetime_fees", "lifetime_net"):
            self.say(f"  {name:<20} {money(row[name], CURRENCY):>16}")

        self.step("The creator's ledger")
        entries = self.api("GET", "/wallet/ledger", token=creator).json()["items"]
        for entry in entries:
            self.say(
                f"  {entry['type']:<8} {money(entry['amount'], entry['currency']):>16}"
                f"  balance after {money(entry['balance_after'], entry['currency'])}"
            )
        if sorted(entry["type"] for entry in entries) != ["fee", "sale"]:
            raise DemoFailure(f"expected a sale and a fee entry, the ledger has {[e['type'] for e in entries]}")
        if sum(entry["amount"] for entry in entries) != row["available"] + row["pending"] + row["on_hold_for_payouts"]:
            raise DemoFailure("the ledger does not sum to the balance")

        self.step("The creator's dashboard")
        dashboard = self.api("GET", "/creator/dashboard", token=creator).json()
        for total in dashboard["totals"]:
            cur = total["currency"]
            self.say(
                f"  {cur}: {total['sales']} sale(s), gross {money(total['gross'], cur)},"
                f" fees {money(total['fees'], cur)}, net {money(total['net'], cur)}"
            )
        for line in dashboard["by_product"]:
            self.say(f"  {line['title']}: {line['sales']} sale(s), net {money(line['net'], line['currency'])}")
        if not any(line["product_id"] == product["id"] for line in dashboard["by_product"]):
            raise DemoFailure("the dashboard does not list the product that sold")
        return int(row["available"])

    def pay_out(self, creator: str, available: int) -> None:
        self.step("The creator sets a payout account (one of the emulator's fixture banks)")
        banks = self.call(
            "GET",
            f"{self.config.gateway}/bank",
            params={"currency": CURRENCY},
            headers={"Authorization": f"Bearer {self.config.paystack_secret_key}"},
            quiet=True,
        ).json()["data"]
        self.say(f"→ GET {self.config.gateway}/bank?currency={CURRENCY}  (Paystack's bank list, test key)")
        self.say("  banks: " + ", ".join(f"{bank['name']} ({bank['code']})" for bank in banks))
        account = self.api(
            "PUT",
            "/wallet/payout-account",
            token=creator,
            json_body={"bank_code": PAYOUT_BANK_CODE, "account_number": PAYOUT_ACCOUNT_NUMBER, "currency": CURRENCY},
        ).json()
        self.fields(
            {
                "account": f"{account['account_name']}, {account.get('bank_name') or account['bank_code']}",
                "number": account["account_number"],
            }
        )

        self.step(f"The creator requests a payout of everything available ({money(available, CURRENCY)})")
        payout = self.api(
            "POST",
            "/wallet/payouts",
            token=creator,
            json_body={"amount": available, "currency": CURRENCY},
            headers={"Idempotency-Key": f"demo-payout-{self.run_id}"},
            expect=(202,),
        ).json()
        self.fields({"payout": f"{payout['id']} ({payout['status']}, {money(payout['amount'], payout['currency'])})"})

        self.step("The transfer settles (GET /wallet/payouts until paid)")

        def settled() -> tuple[bool, dict[str, Any]]:
            items = self.api("GET", "/wallet/payouts", token=creator, quiet=True).json()["items"]
            mine = next((item for item in items if item["id"] == payout["id"]), {"status": "missing"})
            if mine["status"] in ("failed", "reversed", "missing"):
                raise DemoFailure(f"the payout is {mine['status']}: {mine}")
            return mine["status"] == "paid", mine

        self.wait_for("the payout to be paid", settled, show=lambda item: f"status {item['status']}")
        row = next(
            row for row in self.api("GET", "/wallet", token=creator).json()["balances"] if row["currency"] == CURRENCY
        )
        self.fields(
            {
                "available": money(row["available"], CURRENCY),
                "on hold": money(row["on_hold_for_payouts"], CURRENCY),
                "paid out so far": money(row["lifetime_paid_out"], CURRENCY),
            }
        )
        if row["lifetime_paid_out"] < available:
            raise DemoFailure(f"lifetime_paid_out is {row['lifetime_paid_out']}, the payout was {available}")


# ---------------------------------------------------------------- command line


def parse_config(argv: list[str] | None, env: Mapping[str, str]) -> Config:
    api_port = env.get("LOCAL_API_PORT", "3000")
    gateway_port = env.get("LOCAL_GATEWAY_PORT", "3001")
    parser = argparse.ArgumentParser(
        prog="python -m localdev.demo", description="Play the marketplace's story against a running local stack."
    )
    parser.add_argument(
        "--api",
        default=env.get("DEMO_API_URL", f"http://127.0.0.1:{api_port}"),
        help="the local API (default: DEMO_API_URL, or 127.0.0.1:$LOCAL_API_PORT, 3000)",
    )
    parser.add_argument(
        "--gateway",
        default=env.get("DEMO_GATEWAY_URL", f"http://127.0.0.1:{gateway_port}"),
        help="the Paystack emulator (default: DEMO_GATEWAY_URL, or 127.0.0.1:$LOCAL_GATEWAY_PORT, 3001)",
    )
    parser.add_argument(
        "--helpers",
        default=env.get("LOCAL_HELPERS_URL"),
        help="where /_local/outbox answers (default: LOCAL_HELPERS_URL, or the API; sam-local mode: :3003)",
    )
    parser.add_argument(
        "--wait", type=float, default=DEFAULT_WAIT, help=f"seconds to wait for each async step (default {DEFAULT_WAIT})"
    )
    args = parser.parse_args(argv)
    api = args.api.rstrip("/")
    return Config(
        api=api,
        gateway=args.gateway.rstrip("/"),
        helpers=(args.helpers or api).rstrip("/"),
        paystack_secret_key=env.get("PAYSTACK_SECRET_KEY", "sk_test_local"),
        wait=args.wait,
    )


def report_failure(demo: Demo, problem: str, response: requests.Response | None, out: IO[str], err: IO[str]) -> None:
    out.flush()
    err.write(f"\nDEMO FAILED at step {demo.step_number} ({demo.step_title}):\n  {problem}\n")
    if response is not None:
        err.write(f"  last answer: {status_line(response)} from {shown_url(response.url)}\n")
        err.write(f"  content-type: {response.headers.get('Content-Type', '?')}\n")
        err.write("  body:\n" + "".join(f"    {line}\n" for line in problem_text(response).splitlines()))
    err.flush()


def main(argv: list[str] | None = None, out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    demo = Demo(parse_config(argv, os.environ), out)
    started = time.monotonic()
    try:
        demo.run()
    except DemoFailure as failure:
        report_failure(demo, str(failure), failure.response, out, err)
        if failure.unreachable:
            err.write("  Is the local stack running? Start it with `make run` in another terminal.\n")
        return 2 if failure.unreachable and demo.step_number == 1 else 1
    except (KeyError, IndexError, TypeError, ValueError) as error:  # an answer without the fields the contract names
        problem = f"unexpected answer ({type(error).__name__}: {error})"
        report_failure(demo, problem, demo.last_response, out, err)
        return 1
    out.write(f"({time.monotonic() - started:.1f}s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
