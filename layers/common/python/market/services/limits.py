"""Per-IP, per-account and per-address rate limits (fixed windows of DynamoDB counters, 429 with Retry-After).

Each check takes one slot in every counter it names before the work is done, so parallel requests
cannot overrun a limit. The scopes and their defaults are ``market.domain.limits``; the values come
from the settings (``RATE_LIMITS``, ``RATE_LIMIT_WINDOW_SECONDS``). Login keeps its own lockout
(``market.services.auth``).

Two ways to take a slot: ``take`` (an ``UpdateItem`` per counter, before the work), or ``slots``
(conditional items for the work's own transaction, so a request that succeeds costs no extra call;
``Slots.counting`` turns a counter's refusal into the 429 and counts a request refused otherwise).
A counter only grows within its window, so once it refused a key this container refuses that key
without a call until the window ends (``_refused``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from market import clock
from market.domain.errors import AppError, TooManyRequests, TransientError
from market.domain.limits import DEFAULT_RATE_LIMITS, RateLimit, RateScope
from market.domain.user import normalise_email
from market.observability import logger
from market.repositories import rate_limits
from market.repositories.transactions import OperationRejected, TxOp
from market.settings import get_settings

RateCheck = tuple[RateScope, str]  # a scope and the key it counts (an IP, an account, an address)

# (scope, key, window index) -> the window's end, for the keys this container saw refused.
_refused: dict[tuple[str, str, int], int] = {}
_REFUSED_KEPT = 10_000  # a bound on the memory a flood of keys can take; past it the cache starts over


def rate_limit(scope: RateScope) -> RateLimit:
    settings = get_settings()
    limit = settings.rate_limits.get(scope, DEFAULT_RATE_LIMITS[scope])
    return RateLimit(scope=scope, limit=limit, window_seconds=settings.rate_limit_window_seconds)


def reset_refusals() -> None:
    _refused.clear()


def _windows(checks: tuple[RateCheck, ...], now: int) -> list[tuple[RateLimit, str, rate_limits.Window]]:
    """The limited checks with their current window; ``TooManyRequests`` at once for a key known refused."""
    windows = []
    for scope, key in checks:
        limit = rate_limit(scope)
        if limit.limit <= 0:
            continue
        window = rate_limits.window_at(now, limit.window_seconds)
        if (scope, key, window.index) in _refused:
            raise _too_many(scope, window.seconds_left(now))
        windows.append((limit, key, window))
    return windows


def _remember_refused(scope: str, key: str, window: rate_limits.Window) -> None:
    if len(_refused) >= _REFUSED_KEPT:
        _refused.clear()
    _refused[(scope, key, window.index)] = window.ends_at


def _too_many(scope: str, retry_after: int) -> TooManyRequests:
    logger.warning("rate limited", scope=scope, retry_after=retry_after)
    return TooManyRequests(retry_after, "Too many requests; try again later.")


def take(*checks: RateCheck) -> None:
    """One request against each ``(scope, key)``; ``TooManyRequests`` (429) when any is over its limit."""
    now = clock.epoch_seconds()
    refused: list[tuple[str, int]] = []
    for limit, key, window in _windows(checks, now):
        if limit.exceeded_by(rate_limits.add(limit.scope, key, window)):
            _remember_refused(limit.scope, key, window)
            refused.append((limit.scope, window.seconds_left(now)))
    if refused:
        scope, retry_after = max(refused, key=lambda pair: pair[1])
        raise _too_many(scope, retry_after)


class Slots:
    """The counters of some checks as items of the caller's transaction (see ``slots``)."""

    def __init__(self, checks: tuple[RateCheck, ...]) -> None:
        self._checks = checks
        self._windows = _windows(checks, clock.epoch_seconds())

    @property
    def ops(self) -> list[TxOp]:
        return [rate_limits.slot(limit.scope, key, window, limit.limit) for limit, key, window in self._windows]

    def _refused_by(self, failed: set[str]) -> list[tuple[RateLimit, str, rate_limits.Window]]:
        """The counters among a cancelled transaction's failed items (labels)."""
        return [found for found in self._windows if f"{rate_limits.SLOT_LABEL}{found[0].scope}" in failed]

    def take(self) -> None:
        """Count the request outside the transaction (for a transaction that failed for another reason)."""
        take(*self._checks)

    @contextmanager
    def counting(self) -> Iterator[list[TxOp]]:
        """The counters' items for the work's transaction. When the work fails, the transaction (if it
        ran) counted nothing: a refusal by a counter is the 429; any other refusal (a 4xx) is counted
        outside it, so refused requests use up the limit as fast as accepted ones."""
        try:
            yield self.ops
        except OperationRejected as rejected:
            refused = self._refused_by(rejected.failed)
            if refused:
                # Counted outside, against every limit it names (as ``take`` counts), which raises the 429.
                try:
                    self.take()
                except TooManyRequests as too_many:
                    raise too_many from rejected
                limit, key, window = refused[0]  # the window turned meanwhile: still this counter's 429
                _remember_refused(limit.scope, key, window)
                raise _too_many(limit.scope, window.seconds_left(clock.epoch_seconds())) from rejected
            self.take()
            raise
        except TransientError:
            raise  # nothing was decided: the client tries again, and that request is counted
        except AppError:
            self.take()
            raise


def slots(*checks: RateCheck) -> Slots:
    """Counters to add to a transaction: ``TooManyRequests`` now for a key known refused, else a ``Slots``."""
    return Slots(checks)


def register_checks(email: str, source_ip: str) -> tuple[RateCheck, ...]:
    return (("register-ip", source_ip), ("register-email", normalise_email(email)))


def order_checks(account_id: str, source_ip: str) -> tuple[RateCheck, ...]:
    return (("order-ip", source_ip), ("order-account", account_id))


def guest_checkout_checks(email: str, source_ip: str) -> tuple[RateCheck, ...]:
    """For guest checkout (POST /orders without a token): per IP and per address."""
    return (("guest-checkout-ip", source_ip), ("guest-checkout-email", normalise_email(email)))


def check_resend(email: str, source_ip: str) -> None:
    """For POST /orders/resend: per IP and per address."""
    take(("resend-ip", source_ip), ("resend-email", normalise_email(email)))
