"""What each gateway event on the payments queue leads to.

The message only says which event happened to which reference (in the neutral words of
``market.gateways.events``); every handler asks the gateway's API for the facts before changing
anything.
"""

from __future__ import annotations

from collections.abc import Callable

from market.messages import GatewayEventMessage
from market.observability import logger
from market.services import payments

EventHandler = Callable[[GatewayEventMessage], object]


def _payment(message: GatewayEventMessage) -> object:
    # A success or a failure alike: the gateway's API says which (and a failure fails the order).
    return payments.settle_reference(message.gateway, message.reference, message.transaction_id)


def _transfer(message: GatewayEventMessage) -> object:
    # The gateway's own record of the transfer decides (success, failure or reversal).
    from market.services import payouts

    return payouts.sync_transfer(message.gateway, message.reference)


def _refund(message: GatewayEventMessage) -> object:
    # ``reference`` is the order's payment; every open refund of it is checked with the gateway.
    from market.services import refunds

    return refunds.on_refund_event(message.gateway, message.reference, message.refund_id, message.event)


def _refund_progress(message: GatewayEventMessage) -> object:
    logger.info("refund in progress", gateway_event=message.gateway_event, reference=message.reference)
    return None


HANDLERS: dict[str, EventHandler] = {
    "payment.succeeded": _payment,
    "payment.failed": _payment,
    "transfer.succeeded": _transfer,
    "transfer.failed": _transfer,
    "transfer.reversed": _transfer,
    "refund.processed": _refund,
    "refund.failed": _refund,
    "refund.needs_attention": _refund,
    "refund.pending": _refund_progress,
}


def handle(message: GatewayEventMessage) -> object:
    handler = HANDLERS.get(message.event)
    if handler is None:
        logger.info("gateway event ignored", gateway_event=message.gateway_event, reference=message.reference)
        return None
    return handler(message)
