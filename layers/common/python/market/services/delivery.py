"""Delivery: download grants, the delivery email, the download redirect and the buyer's library.

Rules:
- a grant is a random URL-safe token (32 bytes); only its SHA-256 is stored, with ``uses_left``
  (``settings.grant_uses``, 1 by default: the link is one-time) and ``expires_at``
  (``settings.grant_ttl_seconds``, 24 h by default);
- a download takes one use in ONE transaction that also checks that the order still gives access
  (``paid`` or ``partially_refunded``), then redirects to a presigned S3 GET valid for
  ``settings.download_url_ttl_seconds``; ``HEAD`` checks the same without taking a use (mail
  scanners pre-fetch links);
- unknown token -> 404; expired, used up or revoked -> 410, both telling the buyer to get a fresh
  link from their library (once DynamoDB's TTL has removed an expired grant, it is unknown: 404);
- the delivery consumer, for an order that gives access: adds it to the buyer's library, takes
  the order's delivery lease (a conditional put), mints a grant and sends the email, then records
  ``delivery_email_sent_at`` on the order with a condition (``attribute_not_exists``). A
  redelivered message finds the record and sends nothing; a copy that arrives while another
  consumer holds the lease fails its record and is retried later (by then the record is there).
  The record is written only after SES accepted the email, so a failed send is retried (the lease
  is released first). Chosen trade-off: a crash between the send and the record, or a send that
  outlasts the lease, can send a second email, never none;
- ``revoke_order_grants(order_id)`` (for refunds) flags every grant of the order; the status
  check at download time covers a refunded order's grants even without it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import quote

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from market import aws, clock, ids
from market.auth.tokens import Caller
from market.emails import DeliveryEmail, delivery_email
from market.errors import Conflict, Gone, NotFound, TooManyRequests, TransientError
from market.models.product import Product, ProductFile
from market.observability import get_metrics, logger
from market.repositories import grants as grants_repo
from market.repositories import orders as orders_repo
from market.repositories import rate_limits
from market.repositories.grants import Grant, LibraryEntry, UseOutcome
from market.repositories.orders import Order
from market.services import catalog
from market.settings import get_settings

# Order statuses that give the buyer access to the file.
ACCESS_STATUSES = ("paid", "partially_refunded")
# Fresh links per order per hour (POST /orders/{id}/download-link).
LINKS_PER_ORDER_PER_HOUR = 10
# Library pages per buyer per hour: each page mints a link per item, so it is limited too.
LIBRARY_PAGES_PER_HOUR = 120
RATE_WINDOW_SECONDS = 3600
# How long a consumer holds an order's delivery lease: twice the worker's 30 s timeout.
DELIVERY_LEASE_SECONDS = 60

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_USE_ATTEMPTS = 3
_NO_REFERRER = {"Referrer-Policy": "no-referrer"}
# RFC 8187 attr-char, besides letters and digits (what may stay unencoded in filename*).
_ATTR_CHARS = "!#$&+-.^_`|~"


class DownloadNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No download link has this token. Get a fresh link from your library.", headers=_NO_REFERRER)


class DownloadGone(Gone):
    """An expired, used up or revoked link."""

    _DETAILS = {
        "used": "This download link has already been used. Get a fresh link from your library.",
        "expired": "This download link has expired. Get a fresh link from your library.",
        "revoked": "This download link is no longer valid. Get a fresh link from your library.",
    }

    def __init__(self, reason: str) -> None:
        super().__init__(self._DETAILS[reason], headers=_NO_REFERRER)
        self.reason = reason


class DeliveryError(Exception):
    """A paid order that cannot be delivered now (its record fails and SQS retries it, then the DLQ)."""


class DeliveryInProgress(DeliveryError):
    """Another consumer holds the order's delivery lease; this copy of the message is retried later."""


class DeliveryOutcome(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    SENT_AGAIN = "sent_again"  # two consumers raced; both sent
    NO_ACCESS = "no_access"  # pending, failed, expired or refunded: nothing to deliver
    UNKNOWN_ORDER = "unknown_order"


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime
    uses_left: int


@dataclass(frozen=True)
class LibraryItem:
    order_id: str
    product: Product
    file: ProductFile | None
    download: DownloadLink | None


@dataclass(frozen=True)
class LibraryPage:
    items: list[LibraryItem]
    next_cursor: str | None


def _metric(name: str) -> None:
    get_metrics().add_metric(name=name, unit=MetricUnit.Count, value=1)


def public_base_url(request_host: str | None = None) -> str:
    """Where links point: ``settings.public_api_url``, else the host the request came to."""
    configured = get_settings().public_api_url
    if configured:
        return configured.rstrip("/")
    if request_host:
        return f"https://{request_host}"
    raise DeliveryError("PUBLIC_API_URL is not set, so no download link can be built")


def gives_access(order: Order) -> bool:
    return order.status in ACCESS_STATUSES


# ---------------------------------------------------------------- grants


def _new_grant(order: Order, base_url: str) -> tuple[Grant, DownloadLink]:
    settings = get_settings()
    token = ids.new_token(32)
    now = clock.now()
    expires_at = int(now.timestamp()) + settings.grant_ttl_seconds
    grant = Grant(
        token_hash=grants_repo.hash_token(token),
        order_id=order.id,
        buyer_id=order.buyer_id,
        product_id=order.product_id,
        uses_left=settings.grant_uses,
        expires_at=expires_at,
        created_at=clock.iso(now),
        revoked=False,
    )
    link = DownloadLink(
        url=f"{base_url}/downloads/{token}",
        expires_at=datetime.fromtimestamp(expires_at, tz=UTC),
        uses_left=settings.grant_uses,
    )
    return grant, link


def mint_link(order: Order, base_url: str) -> DownloadLink:
    """A new grant for ``order`` and the link that carries its token."""
    grant, link = _new_grant(order, base_url)
    grants_repo.put_grant(grant)
    logger.info("download grant minted", order_id=order.id)
    return link


def revoke_order_grants(order_id: str) -> int:
    """Revoke every download link of an order (the refund flow calls this); returns how many."""
    count = grants_repo.revoke_order_grants(order_id, clock.iso(clock.now()))
    logger.info("download grants revoked", order_id=order_id, count=count)
    return count


def _refusal(grant: Grant, now: int) -> str | None:
    if grant.revoked:
        return "revoked"
    if grant.expires_at <= now:
        return "expired"
    if grant.uses_left <= 0:
        return "used"
    return None


def _find_grant(token: str) -> Grant:
    if not _TOKEN.match(token):
        raise DownloadNotFound
    grant = grants_repo.get_grant(grants_repo.hash_token(token))
    if grant is None:
        raise DownloadNotFound
    return grant


def _file_of(product_id: str) -> ProductFile:
    product = catalog.get_product(product_id)
    if product is None or product.file is None:
        # Published products always have a file and archiving keeps it; this is a broken product.
        logger.error("purchased product has no file", product_id=product_id)
        raise NotFound("The file of this product is not available.", headers=_NO_REFERRER)
    return product.file


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` fallback and the exact name in ``filename*`` (RFC 6266)."""
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\' else "_" for ch in folded).strip()
    exact = quote(filename, safe=_ATTR_CHARS)
    return f"attachment; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{exact}"


def _presigned_get(file: ProductFile) -> str:
    settings = get_settings()
    url: str = aws.s3().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": settings.bucket_name,
            "Key": file.key,
            "ResponseContentDisposition": content_disposition(file.name),
            "ResponseContentType": file.content_type,
        },
        ExpiresIn=settings.download_url_ttl_seconds,
    )
    return url


def check_download(token: str) -> None:
    """What ``HEAD`` answers: raises 404/410 as a download would, and never takes a use."""
    grant = _find_grant(token)
    reason = _refusal(grant, clock.epoch_seconds())
    if reason is not None:
        raise DownloadGone(reason)
    order = orders_repo.get_order(grant.order_id)
    if order is None or not gives_access(order):
        raise DownloadGone("revoked")


def redeem_download(token: str) -> str:
    """Take one use of the link and return a short-lived presigned S3 URL of the product's current file."""
    for _ in range(_USE_ATTEMPTS):
        grant = _find_grant(token)
        now = clock.epoch_seconds()
        reason = _refusal(grant, now)
        if reason is not None:
            raise DownloadGone(reason)
        file = _file_of(grant.product_id)  # before the use is taken: a broken product costs no use
        outcome = grants_repo.use_grant(grant.token_hash, grant.order_id, now, ACCESS_STATUSES)
        if outcome is UseOutcome.USED:
            logger.info("download redeemed", order_id=grant.order_id, product_id=grant.product_id)
            _metric("DownloadRedeemed")
            return _presigned_get(file)
        if outcome is UseOutcome.REFUSED:
            # Someone else took the last use, it expired or was revoked meanwhile, or the order lost access.
            again = grants_repo.get_grant(grant.token_hash)
            raise DownloadGone((_refusal(again, now) if again else None) or "revoked")
    raise TransientError("The download link is busy; try again.")


# ---------------------------------------------------------------- fresh links and the library


def _rate_limit(scope: str, key: str, max_hits: int, detail: str) -> None:
    now = clock.epoch_seconds()
    window = rate_limits.window_at(now, RATE_WINDOW_SECONDS)
    if rate_limits.add(scope, key, window) > max_hits:
        raise TooManyRequests(window.seconds_left(now), detail)


def issue_download_link(caller: Caller, order_id: str, request_host: str | None = None) -> DownloadLink:
    """A fresh link for the caller's own order: 404 for anyone else's, 409 unless paid, 429 past the limit."""
    order = orders_repo.get_order(order_id) if _ORDER_ID.match(order_id) else None
    if order is None or order.buyer_id != caller.user_id:
        raise NotFound("No order with this id.")
    if not gives_access(order):
        raise Conflict(f"This order is {order.status}; only a paid order has a download link.")
    _rate_limit(
        "download-link",
        order.id,
        LINKS_PER_ORDER_PER_HOUR,
        f"At most {LINKS_PER_ORDER_PER_HOUR} links an hour per order; try again later.",
    )
    _file_of(order.product_id)
    return mint_link(order, public_base_url(request_host))


def library(caller: Caller, limit: int, cursor: str | None, request_host: str | None = None) -> LibraryPage:
    """The caller's paid orders, newest payment first, each with a fresh one-time link.

    Entries whose order no longer gives access (refunded) are left out, so a page may hold fewer
    than ``limit`` items while ``next_cursor`` still leads on.
    """
    _rate_limit("library", caller.user_id, LIBRARY_PAGES_PER_HOUR, "The library was read too often; try again later.")
    base_url = public_base_url(request_host)
    page = grants_repo.list_library(caller.user_id, limit, cursor)
    orders = orders_repo.get_orders([entry.order_id for entry in page.items])
    products: dict[str, Product | None] = {}
    items: list[LibraryItem] = []
    new_grants: list[Grant] = []
    for entry in page.items:
        order = orders.get(entry.order_id)
        if order is None or order.buyer_id != caller.user_id or not gives_access(order):
            continue
        if order.product_id not in products:
            products[order.product_id] = catalog.get_product(order.product_id)
        product = products[order.product_id]
        if product is None:
            logger.error("purchased product is missing", order_id=order.id, product_id=order.product_id)
            continue
        link = None
        if product.file is not None:
            grant, link = _new_grant(order, base_url)
            new_grants.append(grant)
        items.append(LibraryItem(order_id=order.id, product=product, file=product.file, download=link))
    grants_repo.put_grants(new_grants)
    return LibraryPage(items=items, next_cursor=page.next_cursor)


# ---------------------------------------------------------------- the delivery consumer


def deliver_order(order_id: str) -> DeliveryOutcome:
    """Put a paid order in its buyer's library and email a download link, once."""
    order = orders_repo.get_order(order_id)
    if order is None:
        logger.warning("delivery for an unknown order", order_id=order_id)
        return DeliveryOutcome.UNKNOWN_ORDER
    if not gives_access(order):
        logger.info("order not delivered", order_id=order.id, status=order.status)
        _metric("DeliverySkipped")
        return DeliveryOutcome.NO_ACCESS
    grants_repo.put_library_entry(
        LibraryEntry(
            order_id=order.id,
            buyer_id=order.buyer_id,
            product_id=order.product_id,
            paid_at=order.paid_at or order.updated_at,
        )
    )
    if order.delivery_email_sent_at is not None:
        logger.info("delivery email already sent", order_id=order.id)
        return DeliveryOutcome.ALREADY_SENT
    product = catalog.get_product(order.product_id)
    if product is None or product.file is None:
        raise DeliveryError(f"order {order.id}: product {order.product_id} has no file to deliver")
    claim_id = ids.new_token(12)
    if not grants_repo.claim_delivery(order.id, claim_id, clock.epoch_seconds(), DELIVERY_LEASE_SECONDS):
        logger.info("delivery in progress elsewhere", order_id=order.id)
        raise DeliveryInProgress(f"order {order.id} is being delivered by another consumer")
    current = orders_repo.get_order(order.id)  # read again under the lease: a send may have finished meanwhile
    if current is None or current.delivery_email_sent_at is not None or not gives_access(current):
        logger.info("delivery no longer needed", order_id=order.id)
        return DeliveryOutcome.ALREADY_SENT if current and current.delivery_email_sent_at else DeliveryOutcome.NO_ACCESS
    try:
        link = mint_link(order, public_base_url())
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
            library_url=f"{public_base_url()}/library",
            sent_at=clock.now(),
        )
    )
    try:
        aws.ses().send_email(FromEmailAddress=settings.email_sender, Content={"Raw": {"Data": message.as_bytes()}})
    except ClientError as error:
        logger.warning("delivery email failed", order_id=order.id, error=error.response.get("Error", {}).get("Code"))
        raise
