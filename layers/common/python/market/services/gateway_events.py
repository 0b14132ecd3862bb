"""What each gateway event on the payments queue leads to.

The message only says which event happened to which reference; every handler asks the
gateway's API for the facts before changing anything. Payout and refund handlers are
registered here by the wallet code as they land.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from market.observability import logger
from market.services import payments


class GatewayEventMessage(BaseModel):
    """A payments-queue message, as the webhook receiver writes it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    gateway: Literal["paystack"]
    event: str
    reference: str
    received_at: str
    refund_id: str | None = None


EventHandler = Callable[[GatewayEventMessage], object]


def _charge_success(message: GatewayEventMessage) -> object:
    return payments.settle_reference(message.gateway, message.reference)


def _transfer_event(message: GatewayEventMessage) -> object:
    # transfer.success / failed / reversed: the gateway's own record of the transfer decides.
    from market.services import payouts

    return payouts.sync_transfer(message.gateway, message.reference)


def _refund_event(message: GatewayEventMessage) -> object:
    # refund.processed / failed: ``reference`` is the order's; every open refund is checked with the gateway.
    from market.services import refunds

    return refunds.on_refund_event(message.gateway, message.reference, message.refund_id)


def _refund_progress(message: GatewayEventMessage) -> object:
    logger.info("refund in progress", gateway_event=message.event, reference=message.reference)
    return None


HANDLERS: dict[str, EventHandler] = {
    "charge.success": _charge_success,
    "transfer.success": _transfer_event,
    "transfer.failed": _transfer_event,
    "transfer.reversed": _transfer_event,
    "refund.processed": _refund_event,
    "refund.failed": _refund_event,
    "refund.pending": _refund_progress,
    "refund.processing": _refund_progress,
}


def register(event_name: str, handler: EventHandler) -> None:
    HANDLERS[event_name] = handler


def handle(message: GatewayEventMessage) -> object:
    handler = HANDLERS.get(message.event)
    if handler is None:
        logger.info("gateway event ignored", gateway_event=message.event, reference=message.reference)
        return None
    return handler(message)
