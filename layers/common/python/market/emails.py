"""Emails as MIME: ``multipart/alternative`` with a plain-text and an HTML part, sent raw through SES.

Nothing here talks to AWS; ``market.services.delivery`` sends what ``delivery_email`` builds
through ``market.mailer``.
"""

from __future__ import annotations

import email.policy
import html
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from market.domain.money import minor_unit_exponent

# CRLF line ends and 7-bit bodies (quoted-printable or base64 for non-ASCII): any relay accepts it.
_POLICY = email.policy.SMTP.clone(cte_type="7bit")


def format_amount(amount: int, currency: str) -> str:
    """``150000, "NGN"`` -> ``"NGN 1,500.00"``: minor units shown with the currency's decimals."""
    exponent = minor_unit_exponent(currency)
    sign = "-" if amount < 0 else ""
    units, minor = divmod(abs(amount), 10**exponent)
    text = f"{units:,}"
    if exponent:
        text += f".{minor:0{exponent}d}"
    return f"{currency.upper()} {sign}{text}"


def format_time(moment: datetime) -> str:
    """``2026-01-02 10:00 UTC``: how emails show a time."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class DeliveryEmail:
    to: str
    sender: str
    order_id: str
    product_title: str
    amount: int
    currency: str
    download_url: str
    expires_at: datetime
    uses: int
    library_url: str | None  # None for a guest order: no library; ``resend_url`` instead
    sent_at: datetime
    resend_url: str | None = None


def _fresh_link_text(mail: DeliveryEmail) -> str:
    if mail.library_url is not None:
        return f"Your library always has a fresh link:\n{mail.library_url}"
    return f"Need a fresh link later? Ask for this email again with your address (POST {mail.resend_url})."


def _fresh_link_html(mail: DeliveryEmail) -> str:
    e = html.escape
    if mail.library_url is not None:
        return f'Your <a href="{e(mail.library_url)}">library</a> always has a fresh link.'
    return f"Need a fresh link later? Ask for this email again with your address (POST {e(mail.resend_url or '')})."


def delivery_email(mail: DeliveryEmail) -> EmailMessage:
    """The purchase email: what was bought, what was paid, the download link and when it expires."""
    paid = format_amount(mail.amount, mail.currency)
    expires = format_time(mail.expires_at)
    uses = "once" if mail.uses == 1 else f"{mail.uses} times"
    text = (
        f"Thank you for your purchase.\n\n"
        f"Product: {mail.product_title}\n"
        f"Amount paid: {paid}\n"
        f"Order: {mail.order_id}\n\n"
        f"Download your file (the link works {uses} and expires {expires}):\n"
        f"{mail.download_url}\n\n"
        f"{_fresh_link_text(mail)}\n"
    )
    e = html.escape
    body = (
        "<!doctype html>\n<html><body>\n"
        "<p>Thank you for your purchase.</p>\n"
        "<table>\n"
        f"<tr><th align='left'>Product</th><td>{e(mail.product_title)}</td></tr>\n"
        f"<tr><th align='left'>Amount paid</th><td>{e(paid)}</td></tr>\n"
        f"<tr><th align='left'>Order</th><td>{e(mail.order_id)}</td></tr>\n"
        "</table>\n"
        f'<p><a href="{e(mail.download_url)}">Download your file</a> '
        f"(the link works {uses} and expires {e(expires)}).</p>\n"
        f"<p>{_fresh_link_html(mail)}</p>\n"
        "</body></html>\n"
    )
    message = EmailMessage(policy=_POLICY)
    message["From"] = mail.sender
    message["To"] = mail.to
    message["Subject"] = "Your purchase: " + " ".join(mail.product_title.split())  # no line breaks in a header
    message["Date"] = format_datetime(mail.sent_at)
    message["Message-ID"] = make_msgid(domain=mail.sender.rpartition("@")[2] or None)
    message.set_content(text)
    message.add_alternative(body, subtype="html")
    return message
