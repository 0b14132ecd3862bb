"""Identity: register, log in (with lockout), rotate refresh tokens (with reuse detection), log out.

Lifetimes and limits come from the settings: access tokens ``access_token_ttl_seconds``
(15 min), refresh tokens ``refresh_token_ttl_seconds`` (30 days, renewed by each
rotation), and at most ``login_max_failures_per_account`` (5) failed logins per email and
``login_max_failures_per_ip`` (50) per source IP in each ``login_window_seconds`` (15 min)
window; beyond that login answers 429 with ``Retry-After`` until the window ends.

Round trips (README, "Performance"): register is one transaction; a login one read before the
password check and one write after it (``market.repositories.logins``).

Only the auth function imports this module (it loads argon2 through ``market.auth.passwords``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from market import clock
from market.auth import passwords, tokens
from market.domain.errors import Forbidden, InvalidToken, TooManyRequests, TransientError, Unauthorized
from market.domain.user import SELF_SERVICE_ROLES, Credentials, RefreshToken, User, normalise_email
from market.ids import new_id, new_token
from market.observability import logger
from market.repositories import logins, rate_limits, refresh_tokens, users
from market.services import limits
from market.settings import get_settings

ACCOUNT_SCOPE = logins.ACCOUNT_SCOPE
IP_SCOPE = logins.IP_SCOPE
REFRESH_TOKEN_BYTES = 32


class InvalidCredentials(Unauthorized):
    slug = "invalid-credentials"

    def __init__(self) -> None:
        # One answer for an unknown email and a wrong password.
        super().__init__("The email or password is incorrect.")


class InvalidRefreshToken(Unauthorized):
    slug = "invalid-refresh-token"

    def __init__(self) -> None:
        super().__init__("The refresh token is unknown, expired, used or revoked; log in again.")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives

    def __repr__(self) -> str:
        return f"TokenPair(expires_in={self.expires_in})"


def register(*, email: str, password: str, role: str, display_name: str | None, source_ip: str) -> User:
    """A new account; ``Forbidden`` for a role nobody may give themselves, ``EmailTaken`` (409) for a
    known email, ``TooManyRequests`` (429) past the ``register-ip`` or ``register-email`` limit."""
    if role not in SELF_SERVICE_ROLES:
        raise Forbidden(f"Accounts can register as {' or '.join(SELF_SERVICE_ROLES)} only.")
    email = normalise_email(email)
    counters = limits.slots(*limits.register_checks(email, source_ip))
    # No early "is the email taken?" read: the transaction answers it (and a taken email then costs
    # the same argon2 hash as a free one, so the answer's timing tells nothing either). The rate
    # counters are items of the same transaction: a registration is one round trip.
    user = User(
        id=new_id("usr_"),
        email=email,
        password_hash=passwords.hash_password(password),
        role=role,
        display_name=display_name,
        created_at=clock.iso(clock.now()),
    )
    with counters.counting() as rate_ops:  # a taken email is counted too, after the refused transaction
        users.create_user(user, also=rate_ops)
    logger.info("user registered", user_id=user.id, role=role)
    return user


def login(*, email: str, password: str, source_ip: str) -> TokenPair:
    """A token pair for the right password; 401 otherwise, 429 once the account or IP used up its attempts."""
    settings = get_settings()
    passwords.prepare()
    email = normalise_email(email)
    now = clock.epoch_seconds()
    window = rate_limits.window_at(now, settings.login_window_seconds)
    limits = logins.Limits(
        per_account=settings.login_max_failures_per_account, per_ip=settings.login_max_failures_per_ip
    )
    state = logins.read(email, source_ip, window)
    if not state.within(limits):
        _limited(state.account_failures >= limits.per_account, window, now)

    # Failures are counted only within the limits, and a success is accepted only while they hold
    # (both under a condition): parallel guesses cannot get more than the limit of answers.
    if state.credentials is None:
        passwords.burn_verification(password)
        _failed(email, source_ip, window, limits, now, reason="unknown-email")
    credentials = state.credentials
    if not passwords.verify_password(credentials.password_hash, password):
        _failed(email, source_ip, window, limits, now, reason="wrong-password", user_id=credentials.user_id)

    refresh_token = new_token(REFRESH_TOKEN_BYTES)
    for attempt in range(2):
        try:
            logins.succeed(
                credentials,
                email,
                source_ip,
                window,
                limits,
                token_digest=refresh_tokens.digest(refresh_token),
                issued_at=clock.iso(clock.now()),
                expires_at=clock.epoch_seconds() + settings.refresh_token_ttl_seconds,
            )
            break
        except logins.LimitReached:
            _limited(None, window, now)
        except logins.RoleChanged:
            # An operator changed the role in the table: the token carries the user's role as it is now.
            user = users.get_user(credentials.user_id)
            if user is None or attempt > 0:
                raise TransientError("The account changed during login; try again.") from None
            credentials = Credentials(user_id=user.id, role=user.role, password_hash=credentials.password_hash)
            logins.refresh_copy(email, credentials)
            logger.info("login copy of the role refreshed", user_id=user.id)
    access_token, expires_in = tokens.issue_access_token(credentials.user_id, credentials.role, settings)
    if passwords.needs_rehash(credentials.password_hash) and users.replace_password_hash(
        credentials, email, passwords.hash_password(password)
    ):
        logger.info("password rehashed", user_id=credentials.user_id)
    logger.info("login succeeded", user_id=credentials.user_id)
    return TokenPair(access_token=access_token, refresh_token=refresh_token, expires_in=expires_in)


def _failed(
    email: str,
    source_ip: str,
    window: rate_limits.Window,
    limits: logins.Limits,
    now: int,
    *,
    reason: str,
    user_id: str | None = None,
) -> NoReturn:
    try:
        logins.record_failure(email, source_ip, window, limits)
    except logins.LimitReached:
        _limited(None, window, now)
    logger.info("login failed", reason=reason, user_id=user_id)
    raise InvalidCredentials


def _limited(account: bool | None, window: rate_limits.Window, now: int) -> NoReturn:
    """429 until the window ends; ``account``: which limit (None: reached while this attempt ran)."""
    scope = "either" if account is None else ACCOUNT_SCOPE if account else IP_SCOPE
    logger.warning("login rate limited", scope=scope, retry_after=window.seconds_left(now))
    raise TooManyRequests(window.seconds_left(now))


def refresh(refresh_token: str) -> TokenPair:
    """Rotate: spend the presented token and issue a new pair. A spent token presented again revokes its family."""
    settings = get_settings()
    presented = _live_token(refresh_token)
    family = refresh_tokens.get_family(presented.family_id)
    if family is None or family.revoked_at is not None:
        logger.info("refresh refused", reason="family-revoked", user_id=presented.user_id)
        raise InvalidRefreshToken
    if presented.spent_at is not None:
        _revoke_on_reuse(presented)
        raise InvalidRefreshToken
    user = users.get_user(presented.user_id)
    if user is None:
        _revoke(presented.family_id)
        raise InvalidRefreshToken

    successor = new_token(REFRESH_TOKEN_BYTES)
    try:
        refresh_tokens.rotate(
            presented,
            refresh_tokens.digest(successor),
            issued_at=clock.iso(clock.now()),
            expires_at=clock.epoch_seconds() + settings.refresh_token_ttl_seconds,
        )
    except refresh_tokens.RotationRefused as refused:
        if refused.reason == "spent":
            _revoke_on_reuse(presented)
        raise InvalidRefreshToken from refused
    access_token, expires_in = tokens.issue_access_token(user.id, user.role, settings)
    logger.info("tokens refreshed", user_id=user.id)
    return TokenPair(access_token=access_token, refresh_token=successor, expires_in=expires_in)


def logout(*, user_id: str, refresh_token: str) -> None:
    """Revoke the family of the caller's refresh token: neither it nor any token rotated from it works again."""
    presented = refresh_tokens.get_token(refresh_tokens.digest(refresh_token))
    if presented is None or presented.user_id != user_id:
        raise InvalidRefreshToken
    _revoke(presented.family_id)
    logger.info("logged out", user_id=user_id)


def profile(user_id: str) -> User:
    """The caller's own user; a token whose user is gone is no longer valid."""
    user = users.get_user(user_id)
    if user is None:
        raise InvalidToken("The account of this token no longer exists.")
    return user


def _live_token(refresh_token: str) -> RefreshToken:
    presented = refresh_tokens.get_token(refresh_tokens.digest(refresh_token))
    if presented is None or not presented.is_live(clock.epoch_seconds()):
        raise InvalidRefreshToken
    return presented


def _revoke_on_reuse(presented: RefreshToken) -> None:
    _revoke(presented.family_id)
    logger.warning("refresh token reused; family revoked", user_id=presented.user_id, family_id=presented.family_id)


def _revoke(family_id: str) -> None:
    refresh_tokens.revoke_family(family_id, revoked_at=clock.iso(clock.now()))
