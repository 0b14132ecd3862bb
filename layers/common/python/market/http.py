"""HTTP edge shared by every API function: one resolver factory, problem+json errors, JSON responses.

Handlers build a resolver with ``make_resolver()``; every error any route can raise
leaves as RFC 9457 ``application/problem+json`` from ``problem_response``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.event_handler.types import EventHandlerInstance
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, BeforeValidator, ValidationError

from market.auth.guard import authenticated, optional_caller, verify_caller
from market.domain.errors import AppError, FieldError, NotFound, UnsupportedMediaType, ValidationFailed
from market.observability import logger
from market.problem import PROBLEM_JSON, problem_body


def _iso_date_text(value: object) -> object:
    # pydantic's lax date would take "0" (a timestamp: 1970-01-01) or "20260101"; a query date is YYYY-MM-DD.
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


# Request parameters more than one API shares.
IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048)]
IdempotencyKey = Annotated[str | None, Header(alias="idempotency-key", min_length=1, max_length=200)]
# A guest order's secret (POST /orders without a bearer answers it once); any other value is a 404, not a 422.
GuestToken = Annotated[
    str | None, Header(alias="x-guest-token", description="A guest order's token, instead of a bearer token")
]


def problem_response(error: AppError) -> Response[str]:
    errors = error.errors if isinstance(error, ValidationFailed) else None
    body = problem_body(error.status, error.slug, error.title, error.detail, errors)
    return Response(
        status_code=error.status,
        content_type=PROBLEM_JSON,
        body=json.dumps(body),
        headers={**error.headers, "Cache-Control": "no-store"},
    )


def json_response(
    status: int, payload: BaseModel | Mapping[str, Any] | None, headers: dict[str, str] | None = None
) -> Response[str]:
    """A JSON response from a pydantic model (by alias, ISO dates) or a plain mapping; 204 has no body."""
    if status == 204 or payload is None:
        return Response(status_code=status, body="", headers=headers)
    body = payload.model_dump_json() if isinstance(payload, BaseModel) else json.dumps(payload)
    return Response(status_code=status, content_type="application/json", body=body, headers=headers)


def field_errors_from_pydantic(errors: list[Any]) -> list[FieldError]:
    """Pydantic/Powertools error entries -> the contract's ``errors[]`` (``field`` drops the location prefix)."""
    out: dict[str, FieldError] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in {"body", "query", "path", "header", "headers"}:
            loc = loc[1:]
        field = ".".join(loc) or "body"
        message = str(error.get("msg") or error.get("type") or "invalid value")
        out.setdefault(field, FieldError(field=field, message=message))  # each bad field once
    return list(out.values())


def _on_app_error(error: AppError) -> Response[str]:
    if error.status >= 500:
        logger.warning("request failed", status=error.status, error=error.slug)
    return problem_response(error)


def _on_request_validation(error: RequestValidationError) -> Response[str]:
    return problem_response(ValidationFailed(field_errors_from_pydantic(list(error.errors()))))


def _on_model_validation(error: ValidationError) -> Response[str]:
    return problem_response(ValidationFailed(field_errors_from_pydantic(list(error.errors()))))


def _on_unsupported_content_type(_: RequestUnsupportedContentType) -> Response[str]:
    return problem_response(UnsupportedMediaType(_JSON_ONLY))


def _on_not_found(_: NotFoundError) -> Response[str]:
    return problem_response(NotFound("No route matches this method and path."))


def _on_service_error(error: ServiceError) -> Response[str]:
    app_error = AppError(str(error.msg))
    app_error.status = error.status_code
    app_error.title = "Error"
    app_error.slug = "error"
    return problem_response(app_error)


def _on_unexpected(error: Exception) -> Response[str]:
    correlation_id = logger.get_correlation_id()
    logger.exception("unhandled error", error_type=type(error).__name__)
    detail = "An unexpected error occurred."
    if correlation_id:
        detail += f" Correlation id: {correlation_id}."
    return problem_response(AppError(detail))


def install_error_handlers(app: APIGatewayHttpResolver) -> None:
    """One call per resolver: every error leaves as problem+json."""
    app.exception_handler(AppError)(_on_app_error)
    app.exception_handler(RequestUnsupportedContentType)(_on_unsupported_content_type)
    app.exception_handler(RequestValidationError)(_on_request_validation)
    app.exception_handler(ValidationError)(_on_model_validation)
    app.exception_handler(NotFoundError)(_on_not_found)
    app.exception_handler(ServiceError)(_on_service_error)
    app.exception_handler(Exception)(_on_unexpected)


_JSON_ONLY = "The body must be JSON (Content-Type: application/json)."
_SURROGATES = "must not contain unpaired UTF-16 surrogates"


def _is_json(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type in {"", "application/json"}


def unencodable_fields(value: Any, path: str = "") -> list[FieldError]:
    """Every string (key or value) of a parsed JSON body that UTF-8 cannot encode (a lone surrogate
    such as ``"\\ud800"``): argon2, hashlib and DynamoDB would all fail on it later."""
    found: list[FieldError] = []
    if isinstance(value, str) and not _encodable(value):
        found.append(FieldError(path or "body", _SURROGATES))
    elif isinstance(value, dict):
        for key, item in value.items():
            if not _encodable(str(key)):
                found.append(FieldError(path or "body", _SURROGATES))  # a name we could not even echo back
                continue
            found.extend(unencodable_fields(item, f"{path}.{key}" if path else str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(unencodable_fields(item, f"{path}.{index}" if path else str(index)))
    return found


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_body(app: APIGatewayHttpResolver) -> Any:
    """The request's JSON body, checked before Powertools reads it: 415 for another media type, 422 for bytes
    that are not UTF-8 or text that is not JSON (Powertools would answer 500 for both)."""
    event = app.current_event
    if not _is_json(event.headers.get("content-type") or ""):
        raise UnsupportedMediaType(_JSON_ONLY)
    raw = event.body
    if not raw:
        return None
    if event.is_base64_encoded:
        try:
            raw = base64.b64decode(raw.encode("ascii"), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeError, ValueError) as error:
            raise ValidationFailed([FieldError("body", "must be UTF-8 encoded JSON")]) from error
    try:
        return json.loads(raw)
    except ValueError as error:
        raise ValidationFailed([FieldError("body", "must be valid JSON")]) from error


class _TokenBeforeBodyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools validates the request before any route middleware runs; on a protected route a
    bad token must still answer 401 (not 422 for a bad body), so the token is checked first.

    The body is checked here too (media type, encoding, JSON, strings UTF-8 can encode), and a 422
    names every bad field: those pydantic finds and those with unencodable text together."""

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Response[Any]:
        route = app.context.get("_route")
        middlewares = (getattr(route, "middlewares", None) or []) if route is not None else []
        # A route open to anonymous callers still answers 401 first for a bad token that is sent.
        sent = bool(app.current_event.headers.get("authorization"))
        if authenticated in middlewares or (sent and optional_caller in middlewares):
            verify_caller(app)  # type: ignore[arg-type]  # always our HTTP resolver
        dependant = getattr(route, "dependant", None)
        if dependant is None or not dependant.body_params:
            return super().handler(app, next_middleware)
        body = _json_body(app)  # type: ignore[arg-type]  # always our HTTP resolver
        if body is not None and not isinstance(body, dict):
            # Every body of the API is an object; Powertools would read `[null]` as no body (an optional one).
            raise ValidationFailed([FieldError("body", "must be a JSON object")])
        unencodable = unencodable_fields(body)

        def route_unless_unencodable(app: EventHandlerInstance) -> Response[Any]:
            if unencodable:
                raise ValidationFailed(unencodable)
            return next_middleware(app)

        try:
            return super().handler(app, cast(NextMiddleware, route_unless_unencodable))
        except RequestValidationError as error:
            if not unencodable:
                raise
            errors = field_errors_from_pydantic(list(error.errors()))
            named = {entry.field for entry in errors}
            raise ValidationFailed(errors + [entry for entry in unencodable if entry.field not in named]) from error


def with_security_headers(event: Mapping[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Headers every API answer carries: ``nosniff`` always, ``no-store`` on an answer to a request with
    credentials (an ``Authorization`` header), so no shared cache keeps a caller's data."""
    headers: dict[str, Any] = response.setdefault("headers", {}) or {}
    response["headers"] = headers
    present = {str(name).lower() for name in headers}
    if "x-content-type-options" not in present:
        headers["X-Content-Type-Options"] = "nosniff"
    request_headers = {str(name).lower() for name in (event.get("headers") or {})}
    if "authorization" in request_headers:
        for name in [name for name in headers if str(name).lower() == "cache-control"]:
            del headers[name]
        headers["Cache-Control"] = "no-store"
    return response


class MarketResolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver, with the security headers on every answer (errors included)."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        return with_security_headers(event, super().resolve(event, context))


def make_resolver() -> APIGatewayHttpResolver:
    app = MarketResolver(enable_validation=True)
    # Powertools reads this attribute when it builds each route's middleware stack.
    app._request_validation_middleware = _TokenBeforeBodyValidation()  # type: ignore[no-untyped-call]
    install_error_handlers(app)
    return app


def source_ip(app: APIGatewayHttpResolver) -> str:
    return str(app.current_event.request_context.http.source_ip or "unknown")
