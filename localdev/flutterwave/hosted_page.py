"""The hosted payment page at ``data.link``: the amount, Pay, Decline and Cancel.

The buttons are plain forms that POST to the emulator's control routes with ``via=hosted``;
those answer with a 302 to the merchant's ``redirect_url`` with
``status=successful|failed&tx_ref=…&transaction_id=…`` as Flutterwave's page does
(``status=cancelled&tx_ref=…`` and no transaction for Cancel).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from localdev.flutterwave.money import as_decimal, format_amount
from localdev.flutterwave.payments import Payment

_STYLE = """
body{font-family:system-ui,sans-serif;background:#fff8ef;margin:0;padding:2rem}
main{max-width:26rem;margin:auto;background:#fff;border-radius:8px;padding:1.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.1rem;margin:0 0 1rem}.amount{font-size:2rem;font-weight:600;margin:.5rem 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem;font-size:.9rem}dt{color:#667}
form{display:inline}button{font-size:1rem;padding:.6rem 1.2rem;margin:.25rem .25rem 0 0;border:0;border-radius:4px}
.pay{background:#f5a623;color:#fff}.decline{background:#e24c4b;color:#fff}.cancel{background:#dde}
details{margin-top:1rem;font-size:.85rem}input{width:7rem}.note{color:#889;font-size:.8rem;margin-top:1rem}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><main>{body}</main></body></html>"
    )


def render(payment: Payment) -> str:
    title = (payment.customizations or {}).get("title") or "Flutterwave checkout (local emulator)"
    action = "/_emulator/transactions/" + quote(payment.tx_ref, safe="")
    amount = format_amount(payment.amount, payment.currency)
    header = (
        f"<h1>{escape(str(title))}</h1><div class=amount id=amount>{escape(amount)}</div>"
        f"<dl><dt>Email</dt><dd>{escape(payment.customer.email)}</dd>"
        f"<dt>Reference</dt><dd><code>{escape(payment.tx_ref)}</code></dd>"
        f"<dt>Currency</dt><dd>{escape(payment.currency)}</dd>"
        f"<dt>Status</dt><dd id=status>{escape(payment.state)}</dd></dl>"
    )
    if payment.successful is not None:
        return _page("Paid", header + "<p>This payment has already been completed.</p>")
    hidden = "<input type=hidden name=via value=hosted>"
    buttons = (
        f"<form method=post action='{escape(action)}/pay'>{hidden}"
        "<details><summary>Pay another amount or currency (tests)</summary>"
        f"<label>Amount <input name=amount value='{as_decimal(payment.amount, payment.currency)}' inputmode=decimal>"
        f"</label> <label>Currency <input name=currency value='{escape(payment.currency)}' size=3></label></details>"
        "<button class=pay type=submit>Pay</button></form>"
        f"<form method=post action='{escape(action)}/decline'>{hidden}"
        "<button class=decline type=submit>Decline</button></form>"
        f"<form method=post action='{escape(action)}/cancel'>{hidden}"
        "<button class=cancel type=submit>Cancel</button></form>"
    )
    note = "<p class=note>Test mode: no card is charged. Pay and Decline send a charge.completed webhook.</p>"
    return _page(f"Pay {amount}", header + buttons + note)


def render_not_found() -> str:
    return _page("Not found", "<h1>Payment link not found</h1><p>This link is invalid or has been reset.</p>")
