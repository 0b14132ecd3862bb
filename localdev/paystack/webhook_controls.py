"""Control routes of webhooks (no auth): the delivery log, replays, holds and releases; and the helpers every
control module shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from localdev.paystack.common import PaystackError
from localdev.paystack.deliveries import Delivery
from localdev.paystack.http import control_values, json_response, ok, route, seconds, times, truthy
from localdev.paystack.state import Store
from localdev.paystack.webhooks import WebhookDispatcher


def queued(sent: list[Delivery]) -> Response:
    return ok("Webhook queued", {"deliveries": [item.id for item in sent]}, 202)


def resend(webhooks: WebhookDispatcher, original: Delivery, values: Mapping[str, Any]) -> Response:
    """The same bytes again, ``times`` times: ``signature=bad`` signs them with the wrong key, ``delay_seconds``
    sends them later, ``concurrent=true`` lets all the copies go at the same moment, each on its own thread."""
    sent = webhooks.resend(
        original,
        times=times(values.get("times")),
        bad_signature=values.get("signature") == "bad",
        delay=seconds(values.get("delay_seconds")),
        concurrent=truthy(values.get("concurrent")),
    )
    return queued(sent)


class Controls:
    """Control routes work on the store and the webhook dispatcher."""

    def __init__(self, store: Store, webhooks: WebhookDispatcher) -> None:
        self._store = store
        self._webhooks = webhooks


class WebhookControls(Controls):
    """The delivery log; replay a delivery; hold new deliveries and release them, in order or out of it."""

    @route("GET", "/_emulator/webhooks")
    def control_webhooks(self, request: Request) -> Response:
        items = self._webhooks.log(reference=request.args.get("reference"), event=request.args.get("event"))
        return json_response({"items": items})

    @route("POST", "/_emulator/webhooks/<int:delivery_id>/replay")
    def control_replay(self, request: Request, delivery_id: int) -> Response:
        values = control_values(request)
        original = self._webhooks.get(delivery_id)
        if original is None:
            raise PaystackError(404, "Webhook delivery not found")
        return resend(self._webhooks, original, values)

    @route(("GET", "POST", "DELETE"), "/_emulator/webhooks/holds")
    def control_holds(self, request: Request) -> Response:
        """POST ``{"event"?, "reference"?}`` holds every new matching delivery; DELETE stops holding new ones."""
        if request.method == "POST":
            values = control_values(request)
            self._webhooks.hold_matching(event=values.get("event") or None, reference=values.get("reference") or None)
        elif request.method == "DELETE":
            self._webhooks.stop_holding()
        return ok("Webhook holds", self._webhooks.hold_rules())

    @route("POST", "/_emulator/webhooks/<int:delivery_id>/release")
    def control_release(self, request: Request, delivery_id: int) -> Response:
        return queued([self._webhooks.release(delivery_id)])

    @route("POST", "/_emulator/webhooks/release")
    def control_release_all(self, request: Request) -> Response:
        """Send every held delivery one after the other: oldest first, or ``order=newest`` first."""
        values = control_values(request)
        order = values.get("order", "oldest")
        if order not in {"oldest", "newest"}:
            raise PaystackError(400, "order must be oldest or newest")
        held = self._webhooks.held(newest_first=order == "newest")
        if values.get("reference"):
            held = [delivery for delivery in held if delivery.reference == values["reference"]]
        self._webhooks.release_all(held)
        return queued(held)
