"""Per-IP, per-account and per-address rate limits (fixed windows of DynamoDB counters, 429 with Retry-After).

Each check takes one slot in every counter it names before the work is done, so parallel requests
cannot overrun a limit. The scopes and their defaults are ``market.domain.limits``; the values come
from the settings (``RATE_LIMITS``, ``RATE_LIMIT_WINDOW_SECONDS``). Login keeps its own lockout
(``market.services.auth``).
"""

from __future__ import annotations

from market import clock
from market.domain.errors import TooManyRequests
from market.domain.limits import DEFAULT_RATE_LIMITS, RateLimit, RateScope
from market.domain.user import normalise_email
from market.observability import logger
from market.repositories import rate_limits
from market.settings import get_settings


def rate_limit(scope: RateScope) -> RateLimit:
    settings = get_settings()
    limit = settings.rate_limits.get(scope, DEFAULT_RATE_LIMITS[scope])
    return RateLimit(scope=scope, limit=limit, window_seconds=settings.rate_limit_window_seconds)


def take(*checks: tuple[RateScope, str]) -> None:
    """One request against each ``(scope, key)``; ``TooManyRequests`` (429) when any is over its limit."""
    now = clock.epoch_seconds()
    retry_after = 0
    for scope, key in checks:
        limit = rate_limit(scope)
        if limit.limit <= 0:
            continue
        window = rate_limits.window_at(now, limit.window_seconds)
        if limit.exceeded_by(rate_limits.add(scope, key, window)):
            logger.warning("rate limited", scope=scope, retry_after=window.seconds_left(now))
            retry_after = max(retry_after, window.seconds_left(now))
    if retry_after:
        raise TooManyRequests(retry_after, "Too many requests; try again later.")


def check_register(email: str, source_ip: str) -> None:
    take(("register-ip", source_ip), ("register-email", normalise_email(email)))


def check_order(account_id: str, source_ip: str) -> None:
    take(("order-ip", source_ip), ("order-account", account_id))


def check_guest_checkout(email: str, source_ip: str) -> None:
    """For guest checkout (POST /orders without a token): per IP and per address."""
    take(("guest-checkout-ip", source_ip), ("guest-checkout-email", normalise_email(email)))


def check_resend(email: str, source_ip: str) -> None:
    """For POST /orders/resend: per IP and per address."""
    take(("resend-ip", source_ip), ("resend-email", normalise_email(email)))
