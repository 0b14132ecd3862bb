"""The checkout page at ``authorization_url``: the amount, Pay, Decline and Cancel.

The buttons are plain forms that POST to the emulator's control routes with
``via=checkout``; those answer with a 302 to the merchant's ``callback_url`` (with
``trxref`` and ``reference``) as Paystack's checkout does, or to ``metadata.cancel_action``
for Cancel.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from localdev.paystack.transactions import Transaction

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0;padding:2rem}
main{max-width:26rem;margin:auto;background:#fff;border-radius:8px;padding:1.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.1rem;margin:0 0 1rem}.amount{font-size:2rem;font-weight:600;margin:.5rem 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem;font-size:.9rem}dt{color:#667}
form{display:inline}button{font-size:1rem;padding:.6rem 1.2rem;margin:.25rem .25rem 0 0;border:0;border-radius:4px}
.pay{background:#0ba4db;color:#fff}.decline{background:#e24c4b;color:#fff}.cancel{background:#dde}
details{margin-top:1rem;font-size:.85rem}input{width:7rem}.note{color:#889;font-size:.8rem;margin-top:1rem}
"""


def format_amount(amount: int, currency: str) -> str:
    return f"{currency} {amount // 100:,}.{amount % 100:02d}"


def _page(title: str, body: str, status_note: str = "") -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><main>{body}{status_note}</main></body></html>"
    )


def render_checkout(txn: Transaction) -> str:
    ref = escape(txn.reference)
    action = "/_emulator/transactions/" + quote(txn.reference, safe="")
    details = (
        f"<dl><dt>Email</dt><dd>{escape(txn.customer.email)}</dd>"
        f"<dt>Reference</dt><dd><code>{ref}</code></dd>"
        f"<dt>Currency</dt><dd>{escape(txn.currency)}</dd>"
        f"<dt>Status</dt><dd id=status>{escape(txn.public_status)}</dd></dl>"
    )
    header = (
        "<h1>Paystack checkout (local emulator)</h1>"
        f"<div class=amount id=amount>{escape(format_amount(txn.amount, txn.currency))}</div>{details}"
    )
    if txn.status in {"success", "reversed"}:
        return _page("Paid", header + "<p>This transaction has already been paid.</p>")
    hidden = "<input type=hidden name=via value=checkout>"
    buttons = (
        f"<form method=post action='{escape(action)}/pay'>{hidden}"
        f"<details><summary>Pay another amount or currency (tests)</summary>"
        f"<label>Amount <input name=amount value='{txn.amount}' inputmode=numeric></label> "
        f"<label>Currency <input name=currency value='{escape(txn.currency)}' size=3></label></details>"
        "<button class=pay type=submit>Pay</button></form>"
        f"<form method=post action='{escape(action)}/decline'>{hidden}"
        "<button class=decline type=submit>Decline</button></form>"
        f"<form method=post action='{escape(action)}/abandon'>{hidden}"
        "<button class=cancel type=submit>Cancel</button></form>"
    )
    note = "<p class=note>Test mode: no card is charged. Pay sends a signed charge.success webhook.</p>"
    return _page(f"Pay {format_amount(txn.amount, txn.currency)}", header + buttons + note)


def render_result(txn: Transaction, outcome: str) -> str:
    """Shown when the merchant gave no callback URL to return to."""
    return _page(
        f"Payment {outcome}",
        f"<h1>Payment {escape(outcome)}</h1><p>Reference <code>{escape(txn.reference)}</code>: "
        f"{escape(txn.public_status)}.</p><p>You may close this page.</p>",
    )


def render_not_found() -> str:
    return _page("Not found", "<h1>Checkout not found</h1><p>This payment link is invalid or has been reset.</p>")
