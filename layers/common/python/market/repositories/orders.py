"""Orders, payment references, verified transactions and the reconciler's worklist.

Keys are documented in ``market.models.order``. Creating an order writes the order, its
reference, its pending marker, the buyer's open-order count and (when given) its idempotency key
in one transaction; every move out of ``pending`` takes the count down in its own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.transactions import TransactWrite

from market import clock
from market.cursors import decode_cursor, encode_cursor
from market.domain.errors import TransientError
from market.domain.guest import guest_email_key
from market.domain.order import CLOSED_UNPAID, Order, OrderStatus, TooManyPendingOrders, attempt_subject, moves_from
from market.domain.product import Product
from market.domain.user import User
from market.models.base import from_domain, to_domain
from market.models.order import (
    OPEN_ORDERS_SK,
    ORDER_SK,
    REF_SK,
    TXN_SK,
    EarlyEventItem,
    OpenOrdersItem,
    OrderItem,
    PendingOrderMarker,
    ReferenceItem,
    TransactionItem,
    early_event_pk,
    guest_orders_pk,
    open_orders_pk,
    order_pk,
    pending_pk,
    reference_pk,
    transaction_pk,
)
from market.models.product import ProductItem
from market.models.user import USER_SK, UserItem, user_pk
from market.repositories.discounts import give_back_use_op, retake_use_op
from market.repositories.idempotency import (
    IdempotencyKeyInUse,
    IdempotentRequest,
    idempotency_op,
    replayed_resource_id,
)
from market.repositories.products import PRODUCT_SK, product_pk
from market.repositories.reads import ItemKey, get_many
from market.repositories.transactions import OperationRejected, TxOp, backoff, condition_failed, write

IDEMPOTENCY_SCOPE = "orders"
# How often a create whose Idempotency-Key another request holds at the same moment looks for that
# request's order (or tries again) before answering 409.
_IDEMPOTENT_CREATE_ATTEMPTS = 5


@dataclass(frozen=True)
class OrderPage:
    items: list[Order]
    next_cursor: str | None


def _order(item: OrderItem) -> Order:
    return to_domain(item, Order)


def order_key(order_id: str) -> OrderItem:
    return OrderItem(order_pk(order_id), ORDER_SK)


def buyer_index_pk(order: Order) -> str:
    """GSI1 partition: the buyer's history, or for a guest order its address's (never a buyer's history)."""
    if order.buyer_id is None:
        return guest_orders_pk(guest_email_key(order.buyer_email))
    return f"BUYER#{order.buyer_id}"


def pending_marker_key(order: Order) -> PendingOrderMarker:
    return PendingOrderMarker(pending_pk(order.created_at[:10]), f"{order.created_at}#{order.id}")


def _open_orders_key(buyer_id: str) -> OpenOrdersItem:
    return OpenOrdersItem(open_orders_pk(buyer_id), OPEN_ORDERS_SK)


def _open_orders_op(buyer_id: str, max_open: int | None) -> TxOp:
    """One more pending order for the buyer, refused (``open_orders``) when that would pass ``max_open``."""
    actions: list[Any] = [OpenOrdersItem.open.add(1)]
    if max_open is None:
        return TxOp("open_orders", lambda tx: tx.update(_open_orders_key(buyer_id), actions=actions))
    condition = OpenOrdersItem.open.does_not_exist() | (OpenOrdersItem.open < max_open)
    return TxOp("open_orders", lambda tx: tx.update(_open_orders_key(buyer_id), actions=actions, condition=condition))


def _reference_op(order: Order, reference: str) -> TxOp:
    item = ReferenceItem(
        reference_pk(order.gateway, reference), REF_SK, order_id=order.id, gateway=order.gateway, reference=reference
    )
    return TxOp("reference", lambda tx: tx.save(item, condition=ReferenceItem.PK.does_not_exist()))


# ---------------------------------------------------------------- create


def create_order(
    order: Order,
    *,
    idempotency: IdempotentRequest | None = None,
    max_open: int | None = None,
    extra_ops: Sequence[TxOp] = (),
) -> Order:
    """Write a new pending order with its reference and pending marker in one transaction.

    With ``idempotency``, a replay of the same request returns the order it created; the same key
    with another request raises ``IdempotencyKeyReused``. With ``max_open``, a buyer who already has
    that many pending orders gets ``TooManyPendingOrders``. ``extra_ops`` ride in the same transaction
    (a discount code's use: ``OperationRejected`` names it when its condition fails). A free order
    (paid at once, gateway ``none``) has no payment reference and no pending marker.
    """
    item = from_domain(
        OrderItem(
            order_pk(order.id),
            ORDER_SK,
            GSI1PK=buyer_index_pk(order),
            GSI1SK=f"{order.created_at}#{order.id}",
            GSI2PK=f"CREATOR_ORDERS#{order.creator_id}",
            GSI2SK=f"{order.created_at}#{order.id}",
        ),
        order,
    )
    marker = pending_marker_key(order)
    marker.order_id = order.id
    marker.created_at = order.created_at
    ops = [
        TxOp("order", lambda tx: tx.save(item, condition=OrderItem.PK.does_not_exist())),
        _reference_op(order, order.reference),
        TxOp("marker", lambda tx: tx.save(marker)),
    ]
    if order.is_free:
        ops = ops[:1]  # nothing to pay: no reference to match a payment, nothing for the reconciler
    if order.buyer_id and order.status == "pending":
        ops.append(_open_orders_op(order.buyer_id, max_open))
    ops.extend(extra_ops)
    if idempotency is None:
        try:
            write(ops)
        except OperationRejected as rejected:
            _raise_for_open_orders(rejected, max_open)
            raise
        return order
    ops.append(idempotency_op(idempotency, resource_id=order.id, created_at=order.created_at))
    return _create_idempotently(order, ops, idempotency, max_open)


def _raise_for_open_orders(rejected: OperationRejected, max_open: int | None) -> None:
    if "open_orders" in rejected.failed:
        raise TooManyPendingOrders(
            f"You already have {max_open} unpaid orders open: pay one, or wait until one expires."
        ) from None


def _create_idempotently(order: Order, ops: list[TxOp], idempotency: IdempotentRequest, max_open: int | None) -> Order:
    """Write the order and claim its key, or answer the order of the request that claimed the key first.

    Two requests with one key at the same moment: on real DynamoDB the loser's transaction is cancelled
    with ``TransactionConflict`` (moto serialises, so it only ever sees the failed condition). Either way
    the winner's order is read and answered; while the winner's write is not visible yet, try again.
    """
    for attempt in range(_IDEMPOTENT_CREATE_ATTEMPTS):
        try:
            write(ops, conflict_retries=0)
        except OperationRejected as rejected:
            if "idempotency" not in rejected.failed:
                _raise_for_open_orders(rejected, max_open)
                raise
        except TransientError:
            pass  # a TransactionConflict: the other request's transaction holds the key right now
        else:
            return order
        existing = replayed_order(idempotency)  # raises IdempotencyKeyReused for another body
        if existing is not None:
            return existing
        backoff(attempt, base=0.02)
    raise IdempotencyKeyInUse


def new_checkout_attempt(order: Order, reference_for: Any) -> Order | None:
    """Start checkout attempt ``order.checkout_attempt + 1`` with a fresh reference (and its ``REF#`` pointer),
    before the gateway is asked; ``None`` when the order moved meanwhile (another attempt, a page, a payment).

    ``reference_for(subject)`` is the gateway's reference format (``market.gateways.profiles``).
    """
    attempt = order.checkout_attempt + 1
    reference = str(reference_for(attempt_subject(order.id, attempt)))
    now = clock.iso(clock.now())
    same_attempt = (
        OrderItem.checkout_attempt.does_not_exist() | (OrderItem.checkout_attempt == 1)
        if order.checkout_attempt <= 1
        else OrderItem.checkout_attempt == order.checkout_attempt
    )
    condition = (OrderItem.status == "pending") & OrderItem.authorization_url.does_not_exist() & same_attempt
    actions: list[Any] = [
        OrderItem.reference.set(reference),
        OrderItem.checkout_attempt.set(attempt),
        OrderItem.updated_at.set(now),
    ]
    ops = [
        TxOp("order", lambda tx: tx.update(order_key(order.id), actions=actions, condition=condition)),
        _reference_op(order, reference),
    ]
    try:
        write(ops)
    except OperationRejected:
        return None
    return get_order(order.id)


def replayed_order(request: IdempotentRequest) -> Order | None:
    """The order an earlier request with this key created; raises if the request differs."""
    order_id = replayed_resource_id(request)
    return get_order(order_id) if order_id else None


# ---------------------------------------------------------------- reads


def get_order(order_id: str) -> Order | None:
    try:
        return _order(OrderItem.get(order_pk(order_id), ORDER_SK, consistent_read=True))
    except DoesNotExist:
        return None


def get_order_and_product(order_id: str, product_id: str) -> tuple[Order | None, Product | None]:
    """An order and a product in one strongly consistent ``BatchGetItem`` (the delivery consumer's
    message names both, so it need not read the order first to learn which product to read)."""
    order, product = get_many(
        [(OrderItem, order_pk(order_id), ORDER_SK), (ProductItem, product_pk(product_id), PRODUCT_SK)]
    )
    return (
        _order(order) if isinstance(order, OrderItem) else None,
        to_domain(product, Product) if isinstance(product, ProductItem) else None,
    )


def get_product_and_buyer(product_id: str, buyer_id: str) -> tuple[Product | None, User | None]:
    """The product an order is for and its signed-in buyer, in one strongly consistent ``BatchGetItem``."""
    product, buyer = get_many(
        [(ProductItem, product_pk(product_id), PRODUCT_SK), (UserItem, user_pk(buyer_id), USER_SK)]
    )
    return (
        to_domain(product, Product) if isinstance(product, ProductItem) else None,
        to_domain(buyer, User) if isinstance(buyer, UserItem) else None,
    )


def order_for_reference(gateway: str, reference: str) -> Order | None:
    try:
        pointer = ReferenceItem.get(reference_pk(gateway, reference), REF_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return get_order(pointer.order_id)


def transaction_exists(gateway: str, reference: str) -> bool:
    try:
        TransactionItem.get(transaction_pk(gateway, reference), TXN_SK, consistent_read=True, attributes_to_get=["PK"])
    except DoesNotExist:
        return False
    return True


@dataclass(frozen=True)
class PaymentLookup:
    """What a batch of payments needs to know first: the order behind each ``(gateway, reference)``
    (unknown references are left out) and which of them have their verified transaction (settled)."""

    orders: dict[tuple[str, str], Order]
    settled: set[tuple[str, str]]


def look_up_payments(payments: list[tuple[str, str]]) -> PaymentLookup:
    """Two batched reads for any number of payments: their references and transaction records
    together, then the orders the references point to."""
    unique = list(dict.fromkeys(payments))
    if not unique:
        return PaymentLookup({}, set())
    keys: list[ItemKey] = []
    for gateway, reference in unique:
        keys.append((ReferenceItem, reference_pk(gateway, reference), REF_SK))
        keys.append((TransactionItem, transaction_pk(gateway, reference), TXN_SK))
    found = get_many(keys)
    pointers: dict[tuple[str, str], str] = {}
    settled: set[tuple[str, str]] = set()
    for payment, pointer, record in zip(unique, found[0::2], found[1::2], strict=True):
        if isinstance(pointer, ReferenceItem):
            pointers[payment] = pointer.order_id
        if isinstance(record, TransactionItem):
            settled.add(payment)
    orders = get_orders(list(pointers.values()))
    return PaymentLookup(
        orders={payment: orders[order_id] for payment, order_id in pointers.items() if order_id in orders},
        settled=settled,
    )


def _page(index_name: str, partition: str, limit: int, cursor: str | None) -> OrderPage:
    scope = f"orders:{index_name}:{partition}"
    start = decode_cursor(cursor, scope)
    index = OrderItem.gsi1 if index_name == "GSI1" else OrderItem.gsi2
    result = index.query(partition, scan_index_forward=False, limit=limit, last_evaluated_key=start)
    items = [_order(item) for item in result]
    return OrderPage(items=items, next_cursor=encode_cursor(result.last_evaluated_key, scope))


def list_buyer_orders(buyer_id: str, limit: int, cursor: str | None) -> OrderPage:
    return _page("GSI1", f"BUYER#{buyer_id}", limit, cursor)


def guest_orders(email: str, max_orders: int) -> list[Order]:
    """The newest ``max_orders`` guest orders made with this address (any status)."""
    partition = guest_orders_pk(guest_email_key(email))
    return [_order(item) for item in OrderItem.gsi1.query(partition, scan_index_forward=False, limit=max_orders)]


def list_creator_orders(creator_id: str, limit: int, cursor: str | None) -> OrderPage:
    return _page("GSI2", f"CREATOR_ORDERS#{creator_id}", limit, cursor)


def pending_orders(day: str, created_before: str) -> list[tuple[str, str]]:
    """``(order_id, created_at)`` of the orders still pending that were created on ``day`` before a time."""
    markers = PendingOrderMarker.query(pending_pk(day), PendingOrderMarker.SK < created_before, consistent_read=True)  # noqa: SIM300 - a pynamodb condition
    return [(marker.order_id, marker.created_at) for marker in markers]


def get_orders(order_ids: list[str]) -> dict[str, Order]:
    """Several orders by id in batched strongly consistent reads; missing ids are left out."""
    keys = [(order_pk(order_id), ORDER_SK) for order_id in dict.fromkeys(order_ids)]
    if not keys:
        return {}
    return {order.id: order for order in map(_order, OrderItem.batch_get(keys, consistent_read=True))}


# ---------------------------------------------------------------- status changes


def set_guest_token_hash(order_id: str, token_hash: str) -> None:
    """A guest order's new token (an Idempotency-Key replay shows a fresh one): the one before stops working."""
    order_key(order_id).update(
        actions=[OrderItem.guest_token_hash.set(token_hash)],
        condition=OrderItem.PK.exists() & OrderItem.buyer_id.does_not_exist(),
    )


def set_authorization_url(order_id: str, url: str, reference: str | None = None) -> Order | None:
    """Keep the payment page of the attempt with ``reference``: the order as it is after the write (the
    update returns it: no re-read), or None when the order has moved to another attempt."""
    condition = OrderItem.PK.exists() if reference is None else OrderItem.reference == reference
    item = order_key(order_id)
    try:
        item.update(
            actions=[OrderItem.authorization_url.set(url), OrderItem.updated_at.set(clock.iso(clock.now()))],
            condition=condition,
        )
    except UpdateError as error:
        if condition_failed(error):
            return None
        raise
    return _order(item)


def add_close_pending(
    tx: TransactWrite,
    order: Order,
    new_status: OrderStatus,
    *,
    reason: str | None = None,
    paid_at: datetime | None = None,
    platform_fee: int | None = None,
    net_amount: int | None = None,
    count_open: bool = True,
) -> None:
    """In ``tx``: move the order to ``new_status`` from the status it was read in (one the domain allows), and
    drop its pending marker; leaving ``pending`` takes the buyer's open-order count down (unless
    ``count_open`` is False: the caller does it once per buyer, ``add_open_orders``).

    Conditioned on the status read: a caller that loses a race reads the order again.
    """
    if order.status not in moves_from(new_status):
        raise ValueError(f"an order that is {order.status} does not move to {new_status}")
    now = clock.iso(clock.now())
    actions: list[Any] = [OrderItem.status.set(new_status), OrderItem.updated_at.set(now)]
    if reason is not None:
        actions.append(OrderItem.failure_reason.set(reason))
    if paid_at is not None:
        actions.append(OrderItem.paid_at.set(clock.iso(paid_at)))
    if platform_fee is not None:
        actions.append(OrderItem.platform_fee.set(platform_fee))
    if net_amount is not None:
        actions.append(OrderItem.net_amount.set(net_amount))
    tx.update(order_key(order.id), actions=actions, condition=OrderItem.status == order.status)
    if order.status == "pending":
        tx.delete(pending_marker_key(order))
        if order.buyer_id and count_open:
            tx.update(_open_orders_key(order.buyer_id), actions=[OpenOrdersItem.open.add(-1)])
    _move_discount_use(tx, order, new_status)


def _move_discount_use(tx: TransactWrite, order: Order, new_status: OrderStatus) -> None:
    """In the transaction that moves the order (conditioned on the status read): a failed or expired order gives
    its code's use back, and a late payment of one takes it again (even past ``max_redemptions``: the order keeps
    its price)."""
    if order.discount_code is None:
        return
    if order.status == "pending" and new_status in CLOSED_UNPAID:
        give_back_use_op(order.creator_id, order.discount_code).add(tx)
    elif order.status in CLOSED_UNPAID and new_status == "paid":
        retake_use_op(order.creator_id, order.discount_code).add(tx)


def add_open_orders(tx: TransactWrite, buyer_id: str, delta: int) -> None:
    """In ``tx``: change the buyer's open-order count by ``delta`` (several orders at once: a
    transaction may touch the count only once)."""
    tx.update(_open_orders_key(buyer_id), actions=[OpenOrdersItem.open.add(delta)])


def close_pending(order: Order, new_status: OrderStatus, *, reason: str | None = None) -> bool:
    """Move a pending order to ``failed`` or ``expired``; False when it was no longer pending."""
    if order.status != "pending":
        return False
    try:
        write([TxOp("order", lambda tx: add_close_pending(tx, order, new_status, reason=reason))])
    except OperationRejected:
        return False
    return True


def transaction_record(
    order: Order,
    *,
    gateway_transaction_id: str,
    gateway_fee: int | None,
    platform_fee: int,
    net_amount: int,
    paid_at: datetime | None,
) -> TransactionItem:
    return TransactionItem(
        transaction_pk(order.gateway, order.reference),
        TXN_SK,
        order_id=order.id,
        gateway=order.gateway,
        reference=order.reference,
        gateway_transaction_id=gateway_transaction_id,
        amount=order.amount,
        currency=order.currency,
        gateway_fee=gateway_fee,
        platform_fee=platform_fee,
        net_amount=net_amount,
        paid_at=clock.iso(paid_at) if paid_at else None,
        verified_at=clock.iso(clock.now()),
    )


# ---------------------------------------------------------------- early events


EARLY_EVENT_TTL_SECONDS = 30 * 24 * 3600


def record_early_event(gateway: str, reference: str, event: str, subject: str | None) -> None:
    """Remember that ``event`` about ``reference`` came before the record it concerns (kept 30 days)."""
    received = clock.iso(clock.now())
    EarlyEventItem(
        early_event_pk(gateway, reference),
        f"{event}#{subject or '-'}",
        gateway=gateway,
        reference=reference,
        event=event,
        subject=subject,
        received_at=received,
        expires_at=clock.epoch_seconds() + EARLY_EVENT_TTL_SECONDS,
    ).save()


def early_events(gateway: str, reference: str) -> list[tuple[str, str | None]]:
    """``(event, subject)`` of the events about ``reference`` that came before their record."""
    items = EarlyEventItem.query(early_event_pk(gateway, reference), consistent_read=True)
    return [(item.event, item.subject) for item in items]


def clear_early_events(gateway: str, reference: str) -> None:
    """Forget the early events of ``reference`` (their subject appeared and was applied)."""
    for item in EarlyEventItem.query(early_event_pk(gateway, reference), consistent_read=True):
        item.delete()


# ---------------------------------------------------------------- delivery


def mark_delivery_email_sent(order_id: str, sent_at: str) -> bool:
    """Record that the delivery email went out, once: False when it was already recorded."""
    try:
        order_key(order_id).update(
            actions=[OrderItem.delivery_email_sent_at.set(sent_at)],
            condition=OrderItem.PK.exists() & OrderItem.delivery_email_sent_at.does_not_exist(),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True
