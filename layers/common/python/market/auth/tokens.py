"""Access tokens: short-lived HS256 JWTs. Verification pins the algorithm, issuer and audience.

The signing key is an SSM SecureString on AWS (``JWT_SIGNING_KEY_PARAMETER``): its current version
signs, and the previous version still verifies, so a rotation (a new version of the parameter)
reaches every container within ``jwt_key_max_age_seconds`` without logging anyone out
(``market.keys``). Locally ``JWT_SIGNING_KEY`` may give the key directly.

Imports only pyjwt and the settings: this runs in every API function's cold start.
"""

from __future__ import annotations

import secrets
from typing import Any

import jwt

from market import clock
from market.domain.errors import InvalidToken
from market.domain.user import ROLES, Caller
from market.keys import KeySet, MissingKey, key_set
from market.settings import Settings, get_settings

ALGORITHM = "HS256"


def signing_keys(settings: Settings | None = None) -> KeySet:
    """The key that signs and the keys that verify (the current and the previous version of the parameter)."""
    settings = settings or get_settings()
    if settings.jwt_signing_key:
        return KeySet(settings.jwt_signing_key)
    if settings.jwt_signing_key_parameter:
        return key_set(settings.jwt_signing_key_parameter, settings.jwt_key_max_age_seconds)
    raise MissingKey("JWT_SIGNING_KEY or JWT_SIGNING_KEY_PARAMETER must be set")


def signing_key() -> str:
    return signing_keys().current


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
    return jwt.encode(claims, signing_keys(settings).current, algorithm=ALGORITHM), ttl


def verify_access_token(token: str, settings: Settings | None = None) -> Caller:
    """The caller of a valid token; ``InvalidToken`` for anything else."""
    settings = settings or get_settings()
    claims = _decode(token, signing_keys(settings), settings)
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


def _decode(token: str, keys: KeySet, settings: Settings) -> dict[str, Any]:
    """The claims of a token signed with any of ``keys`` (the current key first)."""
    for key in keys.verifying:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                leeway=settings.jwt_leeway_seconds,
                # Times are checked by the caller against market.clock (pyjwt would use the real time), so the
                # local stack's shifted clock applies to tokens too.
                options={
                    "require": ["sub", "role", "iat", "exp", "jti", "iss", "aud"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidSignatureError:
            continue  # perhaps signed with the previous key
        except jwt.PyJWTError as error:
            raise InvalidToken from error
        return claims
    raise InvalidToken
