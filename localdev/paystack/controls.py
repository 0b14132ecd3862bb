"""The checkout page and the control routes of transactions (no auth)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from localdev.paystack import checkout_page
from localdev.paystack.common import PaystackError
from localdev.paystack.http import control_values, ok, route, seconds, times, truthy, with_query
from localdev.paystack.transactions import Transaction
from localdev.paystack.webhook_controls import Controls, queued, resend

_HTML = "text/html; charset=utf-8"


class TransactionControls(Controls):
    """Pay, decline or abandon a transaction (from the checkout page or a test), and send its webhooks again."""

    @route("GET", "/checkout/<access_code>")
    def checkout(self, request: Request, access_code: str) -> Response:
        txn = self._store.transactions.by_access_code(access_code)
        if txn is None:
            return Response(checkout_page.render_not_found(), 404, content_type=_HTML)
        with self._store.lock:
            page = checkout_page.render_checkout(txn)
        return Response(page, content_type=_HTML)

    def _answer(
        self,
        values: Mapping[str, Any],
        reference: str,
        data: dict[str, Any],
        message: str,
        outcome: str,
        *,
        cancelled: bool = False,
    ) -> Response:
        """The transaction for a test; for the checkout page's buttons (``via=checkout``), the buyer's next page."""
        if values.get("via") == "checkout":
            return self._after_checkout(self._store.transactions.get(reference), outcome, cancelled=cancelled)
        return ok(message, data)

    def _after_checkout(self, txn: Transaction, outcome: str, *, cancelled: bool = False) -> Response:
        """Where the buyer's browser goes after a button on the checkout page."""
        target = txn.cancel_action if cancelled else None
        if target is None and txn.callback_url:
            target = with_query(txn.callback_url, {"trxref": txn.reference, "reference": txn.reference})
        if target is None:
            return Response(checkout_page.render_result(txn, outcome), content_type=_HTML)
        response = Response("", 302)
        response.headers["Location"] = target
        return response

    @route("GET", "/_emulator/transactions")
    def control_transactions(self, request: Request) -> Response:
        """Every transaction (``?status=success``, ``?currency=``): reference, amount and currency charged,
        requested amount, refunded amount; ``meta`` counts them and sums the amounts per currency."""
        items = self._store.transactions.summaries(request.args)
        totals: dict[str, dict[str, int]] = {}
        for item in items:
            total = totals.setdefault(item["currency"], {"count": 0, "amount": 0, "refunded_amount": 0})
            total["count"] += 1
            total["amount"] += item["amount"]
            total["refunded_amount"] += item["refunded_amount"]
        return ok("Transactions", items, meta={"total": len(items), "by_currency": totals})

    @route("GET", "/_emulator/transactions/<reference>")
    def control_transaction(self, request: Request, reference: str) -> Response:
        return ok("Transaction", self._store.transactions.verify(reference))

    @route("POST", "/_emulator/transactions/<reference>/pay")
    def control_pay(self, request: Request, reference: str) -> Response:
        values = control_values(request)
        # webhook=false records the payment but sends no charge.success (a missed webhook, for the reconciler);
        # delay_seconds sends it that much later, hold=true holds it until /_emulator/webhooks/{id}/release.
        send_webhook = str(values.get("webhook", "true")).lower() not in {"false", "0", "no"}
        delay, hold = seconds(values.get("delay_seconds")), truthy(values.get("hold"))
        late = send_webhook and (delay > 0 or hold)
        data = self._store.transactions.pay(
            reference,
            amount=values.get("amount"),
            currency=values.get("currency"),
            send_webhook=send_webhook and not late,
        )
        if late:
            self._webhooks.emit(
                "charge.success", data, subject="transaction", reference=reference, delay=delay, hold=hold
            )
        return self._answer(values, reference, data, "Transaction paid", "successful")

    @route("POST", "/_emulator/transactions/<reference>/decline")
    def control_decline(self, request: Request, reference: str) -> Response:
        data = self._store.transactions.decline(reference)
        return self._answer(control_values(request), reference, data, "Transaction declined", "declined")

    @route("POST", "/_emulator/transactions/<reference>/abandon")
    def control_abandon(self, request: Request, reference: str) -> Response:
        data = self._store.transactions.abandon(reference)
        values = control_values(request)
        return self._answer(values, reference, data, "Transaction abandoned", "cancelled", cancelled=True)

    @route("POST", "/_emulator/transactions/<reference>/webhook")
    def control_transaction_webhook(self, request: Request, reference: str) -> Response:
        """Send the last webhook for this transaction again (``?times=N``, ``?signature=bad``, ``?event=``).

        ``?forge=true`` sends a correctly signed ``charge.success`` for a transaction that was
        never paid (the state stays as it is): what a receiver that trusts bodies would fall for.
        """
        values = control_values(request)
        count = times(values.get("times"))
        bad = values.get("signature") == "bad"
        self._store.transactions.get(reference)  # 404 for an unknown reference
        if truthy(values.get("forge")):
            data = self._store.transactions.charge_event_data(reference)
            first = self._webhooks.emit("charge.success", data, subject="transaction", reference=reference)
            if bad or count > 1:
                return queued([first, *self._webhooks.resend(first, times=count - 1, bad_signature=bad)])
            return queued([first])
        last = self._webhooks.last_for("transaction", reference, values.get("event") or None)
        if last is None:
            raise PaystackError(409, "No webhook has been sent for this transaction yet (pay it, or pass forge=true)")
        return resend(self._webhooks, last, values)
