"""HTTP edge shared by every API function: one resolver factory, problem+json errors, JSON responses.

Handlers build a resolver with ``make_resolver()``; every error any route can raise
leaves as RFC 9457 ``application/problem+json`` from ``problem_response``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.event_handler.types import EventHandlerInstance
from pydantic import BaseModel, ValidationError

from market.auth.guard import authenticated, verify_caller
from market.domain.errors import AppError, FieldError, NotFound, ValidationFailed
from market.observability import logger
from market.problem import PROBLEM_JSON, problem_body

# Request parameters more than one API shares.
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048)]
IdempotencyKey = Annotated[str | None, Header(alias="idempotency-key", min_length=1, max_length=200)]


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
    out: list[FieldError] = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in {"body", "query", "path", "header", "headers"}:
            loc = loc[1:]
        message = str(error.get("msg") or error.get("type") or "invalid value")
        out.append(FieldError(field=".".join(loc) or "body", message=message))
    return out


def _on_app_error(error: AppError) -> Response[str]:
    if error.status >= 500:
        logger.warning("request failed", status=error.status, error=error.slug)
    return problem_response(error)


def _on_request_validation(error: RequestValidationError) -> Response[str]:
    return problem_response(ValidationFailed(field_errors_from_pydantic(list(error.errors()))))


def _on_model_validation(error: ValidationError) -> Response[str]:
    return problem_response(ValidationFailed(field_errors_from_pydantic(list(error.errors()))))


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
    app.exception_handler(RequestValidationError)(_on_request_validation)
    app.exception_handler(ValidationError)(_on_model_validation)
    app.exception_handler(NotFoundError)(_on_not_found)
    app.exception_handler(ServiceError)(_on_service_error)
    app.exception_handler(Exception)(_on_unexpected)


class _TokenBeforeBodyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools validates the request before any route middleware runs; on a protected route a
    bad token must still answer 401 (not 422 for a bad body), so the token is checked first."""

    def handler(self, app: EventHandlerInstance, next_middleware: NextMiddleware) -> Response[Any]:
        route = app.context.get("_route")
        if route is not None and authenticated in (getattr(route, "middlewares", None) or []):
            verify_caller(app)  # type: ignore[arg-type]  # always our HTTP resolver
        return super().handler(app, next_middleware)


def make_resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    # Powertools reads this attribute when it builds each route's middleware stack.
    app._request_validation_middleware = _TokenBeforeBodyValidation()  # type: ignore[no-untyped-call]
    install_error_handlers(app)
    return app


def source_ip(app: APIGatewayHttpResolver) -> str:
    return str(app.current_event.request_context.http.source_ip or "unknown")
