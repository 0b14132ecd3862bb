"""The HTTP both gateway clients speak: one pooled session per client that retries reads only, bounded
timeouts, and transport failures turned into the port's errors.

A POST is never retried here: a payment, refund or transfer whose answer was lost is found again by
its reference (verify, list), never by sending it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from market.gateways.base import GatewayApiError, GatewayUnavailable
from market.observability import logger

RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
MAX_CONNECT_TIMEOUT_SECONDS: Final = 3.05

Refusal = Callable[[requests.Response, str], GatewayApiError]
"""How a gateway reads an answer it refused (4xx) for ``operation``: its own error body, its not-found words."""


class GatewayHttp:
    def __init__(
        self,
        gateway: str,
        base_url: str,
        secret_key: str,
        timeout: float,
        *,
        refused: Refusal,
        retries: int = 2,
        backoff_factor: float = 0.3,
        session: requests.Session | None = None,
    ) -> None:
        self._gateway = gateway
        self._base_url = base_url.rstrip("/")
        self._timeout = (min(MAX_CONNECT_TIMEOUT_SECONDS, timeout), timeout)
        self._refused = refused
        self._session = session or requests.Session()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=backoff_factor,
            backoff_max=5.0,
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update(
            {
                "Authorization": f"Bearer {secret_key}",
                "Accept": "application/json",
                "User-Agent": "marketplace-backend/1.0",
            }
        )

    def send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        body: bytes | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> requests.Response:
        """The answer to ``method path`` (``body`` is JSON already encoded); ``GatewayUnavailable`` when the
        gateway could not be reached or failed (5xx, 429), the gateway's refusal for any other status >= 300."""
        headers = {"Content-Type": "application/json"} if body is not None else None
        try:
            response = self._session.request(
                method, self._base_url + path, data=body, headers=headers, params=params, timeout=self._timeout
            )
        except requests.RequestException as exc:
            logger.warning("gateway unreachable", gateway=self._gateway, operation=operation, error=type(exc).__name__)
            raise GatewayUnavailable(type(exc).__name__, gateway=self._gateway) from exc
        status = response.status_code
        if status in RETRY_STATUSES or status >= 500:
            logger.warning("gateway unavailable", gateway=self._gateway, operation=operation, status=status)
            raise GatewayUnavailable(f"HTTP {status}", gateway=self._gateway, http_status=status)
        if status >= 300:
            raise self._refused(response, operation)
        return response


def path_segment(value: str) -> str:
    """``value`` as one path segment (a reference or id may hold ``/`` or ``?``)."""
    return quote(value, safe="")


def require(value: str, what: str) -> None:
    if not value:
        raise ValueError(f"{what} must not be empty")
