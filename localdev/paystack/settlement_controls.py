"""Control routes that settle money after the API answered: transfers and refunds (no auth)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from localdev.paystack.common import PaystackError
from localdev.paystack.http import control_values, ok, route
from localdev.paystack.webhook_controls import Controls, resend


def _marked(existed: bool, data: dict[str, Any] | None, done: str, later: str) -> Response:
    """200 with the transfer when it existed; 202 when the reference was only marked for when it is initiated."""
    if not existed:
        return ok(f"The transfer with this reference will {later} when it is initiated", None, 202)
    return ok(done, data)


class SettlementControls(Controls):
    """Fail, reverse, succeed or hold transfers for an OTP; process or fail refunds."""

    @route("POST", "/_emulator/transfers/<reference>/fail")
    def control_transfer_fail(self, request: Request, reference: str) -> Response:
        reason = control_values(request).get("reason")
        existed, data = self._store.transfers.fail(reference, reason if isinstance(reason, str) else None)
        return _marked(existed, data, "Transfer failed", "fail")

    @route("POST", "/_emulator/transfers/<reference>/<any(reverse, succeed):action>")
    def control_transfer_settle(self, request: Request, reference: str, action: str) -> Response:
        """``reverse`` a successful transfer (sends ``transfer.reversed``); ``succeed`` a pending one."""
        transfers = self._store.transfers
        actions = {
            "reverse": ("Transfer reversed", transfers.reverse),
            "succeed": ("Transfer succeeded", transfers.succeed),
        }
        message, act = actions[action]
        return ok(message, act(reference))

    @route("POST", "/_emulator/transfers/<reference>/require-otp")
    def control_transfer_otp(self, request: Request, reference: str) -> Response:
        existed, data = self._store.transfers.require_otp(reference)
        return _marked(existed, data, "Transfer requires OTP to continue", "require an OTP")

    @route("POST", "/_emulator/transfers/<reference>/webhook")
    def control_transfer_webhook(self, request: Request, reference: str) -> Response:
        values = control_values(request)
        self._store.transfers.get(reference)
        last = self._webhooks.last_for("transfer", reference, values.get("event") or None)
        if last is None:
            raise PaystackError(409, "No webhook has been sent for this transfer yet")
        return resend(self._webhooks, last, values)

    @route("POST", "/_emulator/refunds/<int:refund_id>/<any(process, fail, 'needs-attention'):action>")
    def control_refund_settle(self, request: Request, refund_id: int, action: str) -> Response:
        """``process`` (``refund.processed``), ``fail`` (``refund.failed``) or hold for the customer's account
        details (``needs-attention``, ``refund.needs-attention``) a refund that is not settled yet."""
        refunds = self._store.refunds
        actions = {
            "process": ("Refund processed", refunds.process),
            "fail": ("Refund failed", refunds.fail),
            "needs-attention": ("Refund needs attention", refunds.needs_attention),
        }
        message, act = actions[action]
        return ok(message, act(refund_id))
