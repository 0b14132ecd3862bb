"""Guest checkout: an order made without an account, read back with a secret only its buyer holds.

- the guest token is an opaque secret (``secrets.token_urlsafe``, 256 bits) shown once in the 201 of
  ``POST /orders``; only its SHA-256 is stored on the order, and a presented token is compared with
  it in constant time, so neither a table read nor timing gives it away;
- a token opens its own order only: ``GET /orders/{id}`` and ``POST /orders/{id}/download-link``
  answer 404 for a missing or wrong one, exactly as for an order that does not exist;
- a guest's orders are found by address (for ``POST /orders/resend``) under the SHA-256 of the
  normalised address, so an index key never holds the address itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from market.domain.user import normalise_email

GUEST_TOKEN_BYTES = 32
# What a presented token may look like before it is hashed (token_urlsafe of 32 bytes is 43 characters).
GUEST_TOKEN_MAX_LENGTH = 128


def new_guest_token() -> tuple[str, str]:
    """A fresh token and the hash the order stores."""
    token = secrets.token_urlsafe(GUEST_TOKEN_BYTES)
    return token, hash_guest_token(token)


def hash_guest_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def guest_token_matches(presented: str | None, stored_hash: str | None) -> bool:
    """True when ``presented`` is the token whose hash is ``stored_hash`` (constant-time comparison)."""
    if not presented or not stored_hash or len(presented) > GUEST_TOKEN_MAX_LENGTH:
        return False
    return hmac.compare_digest(hash_guest_token(presented), stored_hash)


def guest_email_key(email: str) -> str:
    """The key a guest's orders are found by: SHA-256 of the normalised address."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()
