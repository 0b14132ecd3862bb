"""Access tokens: short-lived HS256 JWTs. Verification pins the algorithm, issuer and audience.

Imports only pyjwt and the settings: this runs in every API function's cold start.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

import jwt

from market import clock
from market.domain.errors import InvalidToken
from market.domain.user import ROLES, Caller
from market.settings import Settings, get_settings

ALGORITHM = "HS256"


@lru_cache(maxsize=1)
def signing_key() -> str:
    settings = get_settings()
    if settings.jwt_signing_key:
        return settings.jwt_signing_key
    if settings.jwt_signing_key_parameter:
        from aws_lambda_powertools.utilities import parameters  # only deployed functions need SSM

        return str(parameters.get_parameter(settings.jwt_signing_key_parameter, decrypt=True, max_age=300))
    raise RuntimeError("JWT_SIGNING_KEY or JWT_SIGNING_KEY_PARAMETER must be set")


def issue_access_token(user_id: str, role: str, settings: Settings | None = None) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    settings = settings or get_settings()
    issued_at = clock.epoch_seconds()
    ttl = settings.access_token_ttl_seconds
    claims = {
        "sub": user_id,
        "role": role,
        "iat": issued_at,
        "exp": issued_at + ttl,
        "jti": secrets.token_urlsafe(12),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    return jwt.encode(claims, signing_key(), algorithm=ALGORITHM), ttl


def verify_access_token(token: str, settings: Settings | None = None) -> Caller:
    """The caller of a valid token; ``InvalidToken`` for anything else."""
    settings = settings or get_settings()
    try:
        claims = jwt.decode(
            token,
            signing_key(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            # Times are checked below against market.clock (pyjwt would use the real time), so the
            # local stack's shifted clock applies to tokens too.
            options={
                "require": ["sub", "role", "iat", "exp", "jti", "iss", "aud"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as error:
        raise InvalidToken from error
    now = clock.epoch_seconds()
    leeway = settings.jwt_leeway_seconds
    expires_at, issued_at = claims.get("exp"), claims.get("iat")
    if not isinstance(expires_at, int) or not isinstance(issued_at, int) or issued_at > now + leeway:
        raise InvalidToken
    if "nbf" in claims and (not isinstance(claims["nbf"], int) or claims["nbf"] > now + leeway):
        raise InvalidToken
    if expires_at + leeway < now:
        raise InvalidToken("The access token has expired.")
    role = claims.get("role")
    subject = claims.get("sub")
    if role not in ROLES or not isinstance(subject, str) or not subject:
        raise InvalidToken
    return Caller(user_id=subject, role=role)
