"""Route guards for the Powertools resolver: ``authenticated`` verifies the bearer token,
``require_role`` checks the caller's role. Handlers read the caller with ``caller(app)``.

    @app.get("/wallet", middlewares=[authenticated, require_role("creator")])
    def get_wallet() -> Response[str]:
        who = caller(app)

Importing this module costs no JWT library: ``market.auth.tokens`` (pyjwt, and through it
cryptography) loads with the first token to verify, not at a function's cold start.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from market.domain.errors import Forbidden, InvalidToken
from market.domain.user import Caller

Middleware = Callable[[APIGatewayHttpResolver, NextMiddleware], Response[str]]


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise InvalidToken("An access token is required.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("The Authorization header must be 'Bearer <access token>'.")
    return token.strip()


def verify_caller(app: APIGatewayHttpResolver) -> Caller:
    """Verify the bearer token once per request and remember the caller."""
    who = app.context.get("caller")
    if isinstance(who, Caller):
        return who
    token = bearer_token(app.current_event.headers.get("authorization"))
    from market.auth.tokens import verify_access_token  # pyjwt: with the first token, not at import

    who = verify_access_token(token)
    app.context["caller"] = who  # Powertools clears the routing context after each request
    return who


def authenticated(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[str]:
    verify_caller(app)
    return next_middleware(app)


def require_role(*roles: str) -> Middleware:
    """Only callers with one of ``roles`` pass (use after ``authenticated``); others get 403."""

    def check_role(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[str]:
        if caller(app).role not in roles:
            raise Forbidden(f"This action needs the role {' or '.join(roles)}.")
        return next_middleware(app)

    return check_role


def caller(app: APIGatewayHttpResolver) -> Caller:
    who = app.context.get("caller")
    if not isinstance(who, Caller):
        raise InvalidToken
    return who


def optional_caller(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[str]:
    """Public routes: a valid token identifies the caller; a bad one is still a 401."""
    if app.current_event.headers.get("authorization"):
        verify_caller(app)
    return next_middleware(app)


def bearer_or_guest_token(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[str]:
    """Routes a guest order's buyer may call with ``X-Guest-Token`` instead of a bearer: with that header and
    no ``Authorization``, the handler checks the token (``caller_or_none`` is ``None``); else as ``authenticated``."""
    headers = app.current_event.headers
    if headers.get("authorization") or not headers.get("x-guest-token"):
        verify_caller(app)
    return next_middleware(app)


def caller_or_none(app: APIGatewayHttpResolver) -> Caller | None:
    """The caller of a route behind ``optional_caller`` (``None`` for an anonymous one)."""
    who = app.context.get("caller")
    return who if isinstance(who, Caller) else None


creator_only: list[Middleware] = [authenticated, require_role("creator")]
