"""Checkout: turn a published product into a pending order and a gateway payment page."""

from __future__ import annotations

from dataclasses import dataclass

from market import clock, ids
from market.domain.errors import GatewayError, NotFound
from market.domain.order import Order
from market.domain.user import Caller
from market.gateways import choice
from market.gateways.profiles import DEFAULT_GATEWAY
from market.gateways.registry import get_gateway
from market.observability import logger
from market.repositories import orders as orders_repo
from market.repositories import users as users_repo
from market.repositories.idempotency import IdempotentRequest
from market.repositories.orders import IDEMPOTENCY_SCOPE, OrderPage
from market.services import catalog
from market.services.payments import settle_order
from market.settings import get_settings


@dataclass(frozen=True)
class Checkout:
    order: Order
    authorization_url: str | None


def create_order(caller: Caller, product_id: str, idempotency_key: str | None, gateway: str | None = None) -> Checkout:
    """A pending order for ``product_id`` and the page of ``gateway`` (the default one if none) to pay it on.

    422 on ``gateway`` for an unknown gateway, one the product does not accept, or one that cannot
    take the product's currency.
    """
    fingerprint = {"product_id": product_id, "gateway": gateway or DEFAULT_GATEWAY}
    idempotency = (
        IdempotentRequest(IDEMPOTENCY_SCOPE, caller.user_id, idempotency_key, fingerprint) if idempotency_key else None
    )
    if idempotency is not None:
        existing = orders_repo.replayed_order(idempotency)
        if existing is not None:
            return _with_payment_page(existing)
    product = catalog.get_product(product_id)
    if product is None:
        raise NotFound("No product has this id.")
    product.check_purchasable_by(caller.user_id)
    chosen = choice.for_product(gateway, product.currency, product.gateways)
    buyer = users_repo.get_user(caller.user_id)
    if buyer is None:
        raise NotFound("The signed-in user no longer exists.")
    now = clock.iso(clock.now())
    order_id = ids.new_id("ord_")
    order = Order.new_pending(
        order_id=order_id,
        buyer_id=caller.user_id,
        buyer_email=buyer.email,
        product_id=product.id,
        product_title=product.title,
        creator_id=product.creator_id,
        price=product.list_price,
        gateway=chosen.name,
        reference=chosen.new_reference(order_id),
        created_at=now,
    )
    stored = orders_repo.create_order(order, idempotency=idempotency)
    logger.info("order created", order_id=stored.id, product_id=product.id, amount=stored.amount, gateway=chosen.name)
    return _with_payment_page(stored)


def _with_payment_page(order: Order) -> Checkout:
    """Initialize the payment at the gateway once per order; a replay reuses the stored page."""
    if order.authorization_url or order.status != "pending":
        return Checkout(order, order.authorization_url)
    settings = get_settings()
    callback = f"{settings.public_api_url.rstrip('/')}/orders/{order.id}" if settings.public_api_url else None
    try:
        payment = get_gateway(order.gateway).initialize(
            reference=order.reference,
            amount=order.amount,
            currency=order.currency,
            email=order.buyer_email,
            callback_url=callback,
            metadata={"order_id": order.id, "product_id": order.product_id},
        )
    except GatewayError:
        logger.warning("gateway initialize failed", order_id=order.id)
        raise
    orders_repo.set_authorization_url(order.id, payment.authorization_url)
    refreshed = orders_repo.get_order(order.id) or order
    return Checkout(refreshed, payment.authorization_url)


def visible_order(caller: Caller, order_id: str) -> Order:
    """The order if the caller is its buyer, its creator or an admin; 404 for anyone else."""
    order = orders_repo.get_order(order_id)
    if order is None or not order.visible_to(caller):
        raise NotFound("No order with this id.")
    return order


def list_orders(caller: Caller, limit: int, cursor: str | None) -> OrderPage:
    """A creator sees the orders of their products; everyone else their own purchases."""
    if caller.is_creator:
        return orders_repo.list_creator_orders(caller.user_id, limit, cursor)
    return orders_repo.list_buyer_orders(caller.user_id, limit, cursor)


def verify_order(caller: Caller, order_id: str) -> Order:
    """Ask the gateway now and settle exactly as a webhook would (the buyer only)."""
    order = orders_repo.get_order(order_id)
    if order is None or order.buyer_id != caller.user_id:
        raise NotFound("No order with this id.")
    result = settle_order(order)
    return result.order or order
