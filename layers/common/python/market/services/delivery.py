"""The delivery consumer: a paid order goes into its buyer's library and gets one email with a link.

For an order that gives access, in one transaction: take the order's delivery lease (absent or run
out), check that the order still has no email recorded, store a new grant and the buyer's library
entry; then send the email and record ``delivery_email_sent_at`` on the order with a condition
(``attribute_not_exists``). A redelivered message finds the record and sends nothing; a copy that
arrives while another consumer holds the lease is retried later (by then the record is there).
The record is written only after SES accepted the email, so a failed send is retried (the lease
is released first; the grant stays, unused: its token was never sent). Chosen trade-off: a crash
between the send and the record, or a send that outlasts the lease, can send a second email,
never none.

A guest order (no account) has no library entry: its email points at ``POST /orders/resend``
instead, which sends ``resend`` messages: a fresh link and email for a paid guest order each time.
"""

from __future__ import annotations

from enum import StrEnum

from aws_lambda_powertools.metrics import MetricUnit

from market import clock, ids, mailer
from market.domain.grant import DownloadLink, LibraryEntry
from market.domain.order import ACCESS_STATUSES, Order
from market.domain.product import Product
from market.emails import DeliveryEmail, delivery_email
from market.observability import get_metrics, logger
from market.repositories import grants as grants_repo
from market.repositories import orders as orders_repo
from market.repositories.grants import DeliveryStart
from market.services import catalog
from market.services.downloads import DeliveryError, mint_link, new_grant, public_base_url
from market.settings import get_settings

# How long a consumer holds an order's delivery lease: twice the worker's 30 s timeout.
DELIVERY_LEASE_SECONDS = 60


class DeliveryInProgress(DeliveryError):
    """Another consumer holds the order's delivery lease; this copy of the message is retried later."""


class DeliveryOutcome(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    SENT_AGAIN = "sent_again"  # two consumers raced; both sent
    NO_ACCESS = "no_access"  # pending, failed, expired or refunded: nothing to deliver
    UNKNOWN_ORDER = "unknown_order"


def _metric(name: str) -> None:
    get_metrics().add_metric(name=name, unit=MetricUnit.Count, value=1)


def deliver_order(order_id: str, product_id: str | None = None) -> DeliveryOutcome:
    """Put a paid order in its buyer's library and email a download link, once.

    Four round trips: the order and its product (one read, when the message names the product),
    the transaction that takes the lease and stores the grant and the library entry, the email,
    and the record that it was sent.
    """
    order, product = _order_and_product(order_id, product_id)
    if order is None:
        logger.warning("delivery for an unknown order", order_id=order_id)
        return DeliveryOutcome.UNKNOWN_ORDER
    if not order.gives_access:
        logger.info("order not delivered", order_id=order.id, status=order.status)
        _metric("DeliverySkipped")
        return DeliveryOutcome.NO_ACCESS
    entry = _library_entry(order)
    if order.delivery_email_sent_at is not None:
        if entry is not None:
            grants_repo.put_library_entry(entry)  # idempotent: a copy after a crash still fills the library
        logger.info("delivery email already sent", order_id=order.id)
        return DeliveryOutcome.ALREADY_SENT
    if product is None or product.file is None:
        raise DeliveryError(f"order {order.id}: product {order.product_id} has no file to deliver")
    claim_id = ids.new_token(12)
    grant, link = new_grant(order, public_base_url())
    start = grants_repo.begin_delivery(
        order.id,
        claim_id,
        clock.epoch_seconds(),
        DELIVERY_LEASE_SECONDS,
        grant=grant,
        library_entry=entry,
        access_statuses=ACCESS_STATUSES,
    )
    if start is DeliveryStart.HELD:
        logger.info("delivery in progress elsewhere", order_id=order.id)
        raise DeliveryInProgress(f"order {order.id} is being delivered by another consumer")
    if start is DeliveryStart.ORDER_CHANGED:  # a send finished meanwhile, or a refund took the access
        current = orders_repo.get_order(order.id)
        logger.info("delivery no longer needed", order_id=order.id)
        return DeliveryOutcome.ALREADY_SENT if current and current.delivery_email_sent_at else DeliveryOutcome.NO_ACCESS
    logger.info("download grant minted", order_id=order.id)
    try:
        _send(order, product, link)
    except Exception:
        grants_repo.release_delivery(order.id, claim_id)
        raise
    if not orders_repo.mark_delivery_email_sent(order.id, clock.iso(clock.now())):
        logger.warning("delivery email sent twice", order_id=order.id)
        return DeliveryOutcome.SENT_AGAIN
    logger.info("delivery email sent", order_id=order.id)
    _metric("DeliveryEmailSent")
    return DeliveryOutcome.SENT


def _order_and_product(order_id: str, product_id: str | None) -> tuple[Order | None, Product | None]:
    if product_id is not None:
        order, product = orders_repo.get_order_and_product(order_id, product_id)
        if order is None or order.product_id == product_id:
            return order, product
    else:
        order = orders_repo.get_order(order_id)
    if order is None:
        return None, None
    return order, catalog.get_product(order.product_id)  # a message without (or with another) product


def _library_entry(order: Order) -> LibraryEntry | None:
    if order.buyer_id is None:  # a guest order is in nobody's library
        return None
    return LibraryEntry(
        order_id=order.id,
        buyer_id=order.buyer_id,
        product_id=order.product_id,
        paid_at=order.paid_at or order.updated_at,
    )


def resend_order(order_id: str) -> DeliveryOutcome:
    """Email a paid guest order's buyer again with a fresh link (``POST /orders/resend``); no lease, no record."""
    order = orders_repo.get_order(order_id)
    if order is None or not order.is_guest:
        logger.warning("resend for an unknown or non-guest order", order_id=order_id)
        return DeliveryOutcome.UNKNOWN_ORDER
    if not order.gives_access:
        logger.info("order not resent", order_id=order.id, status=order.status)
        return DeliveryOutcome.NO_ACCESS
    product = catalog.get_product(order.product_id)
    if product is None or product.file is None:
        raise DeliveryError(f"order {order.id}: product {order.product_id} has no file to deliver")
    _send(order, product, mint_link(order, public_base_url()))
    logger.info("delivery email resent", order_id=order.id)
    _metric("DeliveryEmailResent")
    return DeliveryOutcome.SENT_AGAIN


def _send(order: Order, product: Product, link: DownloadLink) -> None:
    settings = get_settings()
    message = delivery_email(
        DeliveryEmail(
            to=order.buyer_email,
            sender=settings.email_sender,
            order_id=order.id,
            product_title=product.title,
            amount=order.amount,
            currency=order.currency,
            download_url=link.url,
            expires_at=link.expires_at,
            uses=link.uses_left,
            library_url=None if order.is_guest else f"{public_base_url()}/library",
            resend_url=f"{public_base_url()}/orders/resend" if order.is_guest else None,
            sent_at=clock.now(),
        )
    )
    try:
        mailer.send(message, sender=settings.email_sender)
    except mailer.MailRefused:
        logger.warning("delivery email failed", order_id=order.id)
        raise
