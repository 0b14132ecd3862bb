"""Download links: mint a grant, redeem it once for a short-lived S3 URL, revoke an order's grants.

The rules are the grant's (``market.domain.grant``): a download takes one use in ONE transaction
that also checks that the order still gives access, then redirects to a presigned S3 GET valid for
``settings.download_url_ttl_seconds``; ``HEAD`` checks the same without taking a use (mail scanners
pre-fetch links). Unknown token -> 404; expired, used up or revoked -> 410, both telling the buyer
to get a fresh link from their library (once DynamoDB's TTL has removed an expired grant, it is
unknown: 404).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from market import clock, ids, storage
from market.domain.errors import Gone, NotFound, TransientError
from market.domain.grant import DownloadLink, Grant, Refusal
from market.domain.order import ACCESS_STATUSES, Order
from market.domain.product import ProductFile
from market.observability import get_metrics, logger
from market.repositories import grants as grants_repo
from market.repositories import orders as orders_repo
from market.repositories.grants import UseOutcome
from market.repositories.transactions import TxOp
from market.services import catalog
from market.settings import get_settings

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
_USE_ATTEMPTS = 3


class DeliveryError(Exception):
    """A paid order that cannot be delivered now (its record fails and SQS retries it, then the DLQ)."""


class DownloadNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No download link has this token. Get a fresh link from your library.")


class DownloadGone(Gone):
    """An expired, used up or revoked link."""

    _DETAILS: dict[Refusal, str] = {
        "used": "This download link has already been used. Get a fresh link from your library.",
        "expired": "This download link has expired. Get a fresh link from your library.",
        "revoked": "This download link is no longer valid. Get a fresh link from your library.",
    }

    def __init__(self, reason: Refusal) -> None:
        super().__init__(self._DETAILS[reason])
        self.reason = reason


def public_base_url(request_host: str | None = None) -> str:
    """Where links point: ``settings.public_api_url``, else the host the request came to."""
    configured = get_settings().public_api_url
    if configured:
        return configured.rstrip("/")
    if request_host:
        return f"https://{request_host}"
    raise DeliveryError("PUBLIC_API_URL is not set, so no download link can be built")


def new_grant(order: Order, base_url: str) -> tuple[Grant, DownloadLink]:
    """A grant for ``order`` (not stored yet) and the link that carries its token."""
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
    )
    link = DownloadLink(
        url=f"{base_url}/downloads/{token}",
        expires_at=datetime.fromtimestamp(expires_at, tz=UTC),
        uses_left=settings.grant_uses,
    )
    return grant, link


def mint_link(order: Order, base_url: str, also: Sequence[TxOp] = ()) -> DownloadLink:
    """A new stored grant for ``order`` and the link that carries its token (in one transaction with
    the items ``also`` names, when there are any)."""
    grant, link = new_grant(order, base_url)
    grants_repo.put_grant(grant, also=also)
    logger.info("download grant minted", order_id=order.id)
    return link


def revoke_order_grants(order_id: str) -> int:
    """Revoke every download link of an order (the refund flow calls this); returns how many."""
    count = grants_repo.revoke_order_grants(order_id, clock.iso(clock.now()))
    logger.info("download grants revoked", order_id=order_id, count=count)
    return count


def file_of(product_id: str) -> ProductFile:
    product = catalog.get_product(product_id)
    if product is None or product.file is None:
        # Published products always have a file and archiving keeps it; this is a broken product.
        logger.error("purchased product has no file", product_id=product_id)
        raise NotFound("The file of this product is not available.")
    return product.file


def _find_grant(token: str) -> Grant:
    if not _TOKEN.match(token):
        raise DownloadNotFound
    grant = grants_repo.get_grant(grants_repo.hash_token(token))
    if grant is None:
        raise DownloadNotFound
    return grant


def check_download(token: str) -> None:
    """What ``HEAD`` answers: raises 404/410 as a download would, and never takes a use."""
    grant = _find_grant(token)
    reason = grant.refusal(clock.epoch_seconds())
    if reason is not None:
        raise DownloadGone(reason)
    order = orders_repo.get_order(grant.order_id)
    if order is None or not order.gives_access:
        raise DownloadGone("revoked")


def redeem_download(token: str) -> str:
    """Take one use of the link and return a short-lived presigned S3 URL of the product's current file."""
    for _ in range(_USE_ATTEMPTS):
        grant = _find_grant(token)
        now = clock.epoch_seconds()
        reason = grant.refusal(now)
        if reason is not None:
            raise DownloadGone(reason)
        file = file_of(grant.product_id)  # before the use is taken: a broken product costs no use
        outcome = grants_repo.use_grant(grant.token_hash, grant.order_id, now, ACCESS_STATUSES)
        if outcome is UseOutcome.USED:
            logger.info("download redeemed", order_id=grant.order_id, product_id=grant.product_id)
            get_metrics().add_metric(name="DownloadRedeemed", unit=MetricUnit.Count, value=1)
            return storage.presigned_download(file)
        if outcome is UseOutcome.REFUSED:
            # Someone else took the last use, it expired or was revoked meanwhile, or the order lost access.
            again = grants_repo.get_grant(grant.token_hash)
            raise DownloadGone((again.refusal(now) if again else None) or "revoked")
    raise TransientError("The download link is busy; try again.")
