"""The HTTP both gateway clients speak: one pooled session per client that retries reads only, bounded
timeouts, and transport failures turned into the port's errors.

A POST is never retried here: a payment, refund or transfer whose answer was lost is found again by
its reference (verify, list), never by sending it twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar, cast
from urllib.parse import quote

import requests
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from market.gateways.base import GatewayApiError, GatewayNotFound, GatewayUnavailable
from market.observability import logger

RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
MAX_CONNECT_TIMEOUT_SECONDS: Final = 3.05

ModelT = TypeVar("ModelT", bound=BaseModel)

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


class RefusalBody(BaseModel):
    """What a gateway's error answer says (each gateway's model adds its own fields)."""

    model_config = ConfigDict(extra="ignore")

    message: str = ""
    code: str | None = None
    type: str | None = None

    @field_validator("code", "type", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> str | None:
        return None if value is None else str(value)  # a gateway may send a number


class GatewayClient(ABC):
    """The part of a gateway client that is the same for every gateway: built from its base URL, secret
    key and timeout; the key says whether it is in test or live mode (``mode``); calls go through ``_http``."""

    name: str
    mode: str | None
    test_key_prefix: str
    """Keys that start with it are test keys, every other key is live: a payment of one mode must never
    pay an order of the other."""
    envelope: Any
    """The gateway's generic answer model, ``{status, message, data: T}``: ``envelope[Model]`` reads one answer."""
    error_body: type[RefusalBody]

    def __init__(
        self,
        base_url: str,
        secret_key: str,
        timeout: float,
        *,
        retries: int = 2,
        backoff_factor: float = 0.3,
        session: requests.Session | None = None,
    ) -> None:
        self.mode = "test" if secret_key.startswith(self.test_key_prefix) else "live"
        self._http = GatewayHttp(
            self.name,
            base_url,
            secret_key,
            timeout,
            refused=self._api_error,
            retries=retries,
            backoff_factor=backoff_factor,
            session=session,
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        body: dict[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> requests.Response:
        data = self._encode(body) if body is not None else None
        return self._http.send(method, path, operation=operation, body=data, params=params)

    def _call(
        self,
        method: str,
        path: str,
        model: type[ModelT],
        *,
        operation: str,
        body: dict[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> ModelT:
        """The ``data`` of the gateway's answer, read as ``model``."""
        response = self._send(method, path, operation=operation, body=body, params=params)
        return self._unwrap(response, model, operation)

    @abstractmethod
    def _encode(self, body: dict[str, Any]) -> bytes:
        """A request body as the gateway takes it."""

    def _unwrap(self, response: requests.Response, model: type[ModelT], operation: str) -> ModelT:
        enveloped = self._parse(response, self.envelope[model], operation=operation)
        return cast(ModelT, enveloped.data)

    @abstractmethod
    def _parse(self, response: requests.Response, model: type[ModelT], *, operation: str) -> ModelT:
        """``response`` read as ``model``, or ``GatewayApiError`` when it is unusable."""

    def _api_error(self, response: requests.Response, operation: str) -> GatewayApiError:
        """The gateway's refusal (a 4xx answer) as the port's error: ``GatewayNotFound`` for a 404 or a
        refusal whose words mean "no such thing"."""
        try:
            body = self.error_body.model_validate_json(response.content)
        except ValidationError:
            body = self.error_body(message=f"HTTP {response.status_code}")
        message = body.message or f"HTTP {response.status_code}"
        logger.info(
            "gateway refused request",
            gateway=self.name,
            operation=operation,
            status=response.status_code,
            code=body.code,
            gateway_message=message,
        )
        not_found = response.status_code == 404 or self._means_not_found(message.strip().lower(), operation)
        error_class = GatewayNotFound if not_found else GatewayApiError
        return error_class(
            message, gateway=self.name, http_status=response.status_code, code=body.code, error_type=body.type
        )

    @abstractmethod
    def _means_not_found(self, message: str, operation: str) -> bool:
        """Whether a refusal's lower-cased ``message`` to ``operation`` says there is no such thing."""


def path_segment(value: str) -> str:
    """``value`` as one path segment (a reference or id may hold ``/`` or ``?``)."""
    return quote(value, safe="")


def require(value: str, what: str) -> None:
    if not value:
        raise ValueError(f"{what} must not be empty")
