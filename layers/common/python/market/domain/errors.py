"""The errors the application answers on purpose, one module for all of them.

Each names the RFC 9457 problem it becomes (``status``, ``slug``, ``title``); ``market.http`` and the
webhook receiver render them (``market.problem``). Nothing here knows HTTP or AWS.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class AppError(Exception):
    """Base of every error the API answers on purpose."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal Server Error"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers: dict[str, str] = dict(headers or {})


class BadRequest(AppError):
    status, slug, title = 400, "bad-request", "Bad Request"


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Unauthorized"


class InvalidToken(Unauthorized):
    """A bearer token that is missing, malformed, expired or forged."""

    slug = "invalid-token"

    def __init__(self, detail: str = "The access token is missing, malformed or expired.") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not Found"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(AppError):
    status, slug, title = 410, "gone", "Gone"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Payload Too Large"


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported Media Type"


class ValidationFailed(AppError):
    status, slug, title = 422, "validation-error", "Unprocessable Content"

    def __init__(self, errors: list[FieldError], detail: str = "The request has invalid fields.") -> None:
        super().__init__(detail)
        self.errors = errors


class TooManyRequests(AppError):
    status, slug, title = 429, "too-many-requests", "Too Many Requests"

    def __init__(self, retry_after_seconds: int, detail: str = "Too many attempts; try again later.") -> None:
        retry_after = max(1, int(retry_after_seconds))
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after_seconds = retry_after


class GatewayError(AppError):
    """The payment gateway failed or answered something unusable."""

    status, slug, title = 502, "gateway-error", "Bad Gateway"


class TransientError(AppError):
    """Worth retrying: throttling, a gateway 5xx or timeout. Queue consumers let SQS retry these."""

    status, slug, title = 503, "service-unavailable", "Service Unavailable"
