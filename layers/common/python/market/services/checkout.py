"""Checkout: turn a published product into a pending order and a gateway payment page.

- Abuse bounds: a buyer has at most ``max_pending_orders_per_buyer`` orders pending at once (409
  ``too-many-pending-orders``: pay one or let it expire); the rate limits per IP and per account
  are ``market.services.limits``. A replay creates nothing, so it counts against neither.
- Recovery: each initialize attempt has its own reference, recorded (order and ``REF#`` pointer)
  before the gateway is called. A replay of an order whose payment page was never stored (the
  initialize failed or its answer was lost) starts the next attempt, so it answers the same order
  with a usable ``authorization_url`` instead of repeating a reference the gateway already holds
  (``duplicate_reference``). A page is stored only while its attempt is the order's current one.
- Pricing (DESIGN part 2, ``market.domain.pricing``): the pay-what-you-want amount, the discount code
  (its use reserved in the order's transaction), the free order (paid at once, gateway ``none``, no
  payment page, delivered through the delivery queue). A guest order (no account) gets a guest token
  and counts against the guest-checkout limits per address and per IP.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from market import clock, ids
from market.domain.discount import CODE_PATTERN, Discount, normalise_code
from market.domain.errors import FieldError, GatewayError, NotFound, TransientError, ValidationFailed
from market.domain.guest import guest_email_key, new_guest_token
from market.domain.order import Order
from market.domain.pricing import new_order, price_order
from market.domain.product import Product
from market.domain.user import Caller, User
from market.gateways import choice
from market.gateways.profiles import DEFAULT_GATEWAY, profile
from market.gateways.registry import get_gateway
from market.observability import logger
from market.repositories import discounts as discounts_repo
from market.repositories import orders as orders_repo
from market.repositories.idempotency import IdempotentRequest
from market.repositories.orders import IDEMPOTENCY_SCOPE, OrderPage
from market.repositories.transactions import OperationRejected, TxOp
from market.services import catalog, limits
from market.services.payments import enqueue_delivery, settle_order
from market.settings import get_settings


@dataclass(frozen=True)
class Checkout:
    order: Order
    authorization_url: str | None
    guest_token: str | None = None  # a guest order's token, shown once per answer


def create_order(
    caller: Caller | None,
    product_id: str,
    idempotency_key: str | None,
    gateway: str | None = None,
    source_ip: str | None = None,
    *,
    amount: int | None = None,
    discount_code: str | None = None,
    email: str | None = None,
) -> Checkout:
    """An order for ``product_id`` at its price (DESIGN part 2): pending with the page of ``gateway`` (the
    default one if none) to pay it on, or paid at once when there is nothing to charge.

    ``caller`` ``None``: a guest order for ``email`` (its ``guest_token`` is in the answer). 422 on
    ``gateway`` for an unknown gateway, one the product does not accept, or one that cannot take the
    product's currency; on ``amount`` and ``discount_code`` as ``market.domain.pricing`` says; on
    ``email`` when a guest gives none or a signed-in caller gives one. A new order (not a replay)
    counts against the rate limits of ``source_ip`` and of the caller's account (a guest's address).
    """
    _check_buyer_email(caller, email)
    fingerprint = {
        "product_id": product_id,
        "gateway": gateway or DEFAULT_GATEWAY,
        "amount": amount,
        "discount_code": discount_code,
        "email": email,
    }
    idempotency = (
        IdempotentRequest(IDEMPOTENCY_SCOPE, _idempotency_owner(caller, email), idempotency_key, fingerprint)
        if idempotency_key
        else None
    )
    if idempotency is not None:
        existing = orders_repo.replayed_order(idempotency)
        if existing is not None:
            return _answer(existing)
    counters = limits.slots(*_rate_checks(caller, email, source_ip))
    with counters.counting() as rate_ops:  # in the order's transaction; a refused order is counted after it
        order, stored, token = _place_order(
            caller, product_id, email, gateway, amount, discount_code, idempotency, rate_ops
        )
    if stored.id != order.id:  # the same key's request made its order a moment ago
        return _answer(stored)
    logger.info(
        "order created",
        order_id=stored.id,
        product_id=stored.product_id,
        amount=stored.amount,
        gateway=stored.gateway,
        guest=stored.is_guest,
        discount_code=stored.discount_code,
    )
    if stored.is_free:
        enqueue_delivery(stored)
    return replace(_with_payment_page(stored), guest_token=token)


def _rate_checks(caller: Caller | None, email: str | None, source_ip: str | None) -> tuple[limits.RateCheck, ...]:
    if not source_ip:
        return ()
    if caller is not None:
        return limits.order_checks(caller.user_id, source_ip)
    return limits.guest_checkout_checks(email or "", source_ip)


def _place_order(
    caller: Caller | None,
    product_id: str,
    email: str | None,
    gateway: str | None,
    amount: int | None,
    discount_code: str | None,
    idempotency: IdempotentRequest | None,
    rate_ops: list[TxOp],
) -> tuple[Order, Order, str | None]:
    """The new order, the one stored (another when the same key's request made its order a moment
    ago) and the guest token; the transaction also takes ``rate_ops``."""
    settings = get_settings()
    product, buyer = _product_and_buyer(caller, product_id)
    if product is None:
        raise NotFound("No product has this id.")
    product.check_purchasable_by(caller.user_id if caller else None)
    chosen = choice.for_product(gateway, product.currency, product.gateways)
    now = clock.now()
    discount = _discount_named(product.creator_id, discount_code)
    pricing = price_order(product, amount=amount, discount_code=discount_code, discount=discount, now=now)
    token, token_hash = new_guest_token() if caller is None else (None, None)
    order_id = ids.new_id("ord_")
    order = new_order(
        order_id=order_id,
        buyer_id=caller.user_id if caller else None,
        buyer_email=buyer.email if buyer else email or "",
        product=product,
        pricing=pricing,
        gateway=chosen.name,
        reference=chosen.new_reference(order_id),
        created_at=clock.iso(now),
        guest_token_hash=token_hash,
    )
    extra = [discounts_repo.reserve_use_op(pricing.discount, now)] if pricing.discount else []
    try:
        stored = orders_repo.create_order(
            order,
            idempotency=idempotency,
            max_open=settings.max_pending_orders_per_buyer,
            extra_ops=[*extra, *rate_ops],
        )
    except OperationRejected as rejected:
        if "discount" in rejected.failed:  # the last use went to another order a moment ago (or it just ended)
            raise ValidationFailed([FieldError("discount_code", "This discount code can no longer be used.")]) from None
        raise
    return order, stored, token


def _product_and_buyer(caller: Caller | None, product_id: str) -> tuple[Product | None, User | None]:
    """The product and the signed-in buyer, in one read (the product alone for a guest)."""
    if not catalog.is_product_id(product_id):
        return None, None
    if caller is None:
        return catalog.get_product(product_id), None
    product, buyer = orders_repo.get_product_and_buyer(product_id, caller.user_id)
    if buyer is None:
        raise NotFound("The signed-in user no longer exists.")
    return product, buyer


def _check_buyer_email(caller: Caller | None, email: str | None) -> None:
    if caller is None and email is None:
        raise ValidationFailed([FieldError("email", "is required to order without signing in")])
    if caller is not None and email is not None:
        raise ValidationFailed([FieldError("email", "goes with guest checkout only: the order goes to your account")])


def _idempotency_owner(caller: Caller | None, email: str | None) -> str:
    return caller.user_id if caller else f"GUEST-{guest_email_key(email or '')}"


def _discount_named(creator_id: str, code: str | None) -> Discount | None:
    """The product's creator's code of that name (any case), or ``None``."""
    if code is None or not CODE_PATTERN.match(code.strip()):
        return None
    return discounts_repo.get(creator_id, normalise_code(code))


def _answer(order: Order) -> Checkout:
    """A replay answers the order its key made: a free one is delivered again (idempotent), a guest one gets a
    fresh token (only a hash is kept, so the first cannot be shown twice; it stops working)."""
    token = None
    if order.is_guest:
        token, token_hash = new_guest_token()
        orders_repo.set_guest_token_hash(order.id, token_hash)
    if order.is_free:
        enqueue_delivery(order)  # covers a crash between the order and its delivery message
    return replace(_with_payment_page(order, replay=True), guest_token=token)


def _with_payment_page(order: Order, *, replay: bool = False) -> Checkout:
    """Initialize the payment at the gateway once per attempt; a replay reuses the stored page, or starts
    the next attempt when none was stored."""
    if order.authorization_url or order.status != "pending" or order.is_free:
        return Checkout(order, order.authorization_url)
    if replay:
        attempt = orders_repo.new_checkout_attempt(order, profile(order.gateway).new_reference)
        if attempt is None:
            current = orders_repo.get_order(order.id) or order
            if current.authorization_url or current.status != "pending":
                return Checkout(current, current.authorization_url)
            raise TransientError("The payment page of this order is being prepared; try again.")
        logger.info("checkout attempt started", order_id=order.id, attempt=attempt.checkout_attempt)
        order = attempt
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
    except (GatewayError, TransientError):
        logger.warning("gateway initialize failed", order_id=order.id, attempt=order.checkout_attempt)
        raise
    refreshed = orders_repo.set_authorization_url(order.id, payment.authorization_url, order.reference)
    if refreshed is None:
        current = orders_repo.get_order(order.id) or order
        if current.authorization_url:
            return Checkout(current, current.authorization_url)
        raise TransientError("The payment page of this order is being prepared; try again.")
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
