"""Rate limits: how many requests one key (a source IP, an account, an address) may make per window.

Carrier-grade NAT is common where our buyers are (many buyers share one address), so the limits
per IP are generous and the limits per account or per address do the fine work. A limit of 0 turns
a scope off. The values are settings (``RATE_LIMITS``, a template parameter); these are the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RateScope = Literal[
    "register-ip",
    "register-email",
    "order-ip",
    "order-account",
    "guest-checkout-ip",
    "guest-checkout-email",
    "resend-ip",
    "resend-email",
    "download-link",
    "library",
]

# Requests per window (RATE_LIMIT_WINDOW_SECONDS, an hour by default) for each scope.
DEFAULT_RATE_LIMITS: dict[str, int] = {
    "register-ip": 300,
    "register-email": 10,
    "order-ip": 1200,
    "order-account": 60,
    "guest-checkout-ip": 600,
    "guest-checkout-email": 20,
    "resend-ip": 120,
    "resend-email": 5,
    "download-link": 10,  # fresh links per order (POST /orders/{id}/download-link)
    "library": 120,  # library pages per buyer: each page mints a link per item
}


@dataclass(frozen=True)
class RateLimit:
    scope: RateScope
    limit: int  # requests per window; 0 means no limit
    window_seconds: int

    def exceeded_by(self, count: int) -> bool:
        return self.limit > 0 and count > self.limit
