"""RFC 9457 problem bodies, with no dependency beyond the standard library.

``market.http`` renders every API error with it; the webhook receiver, which must not import the
resolver or pydantic at cold start, renders its few answers with it too, so both speak one shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from market.domain.errors import FieldError

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://errors.marketplace.dev/"


def problem_body(
    status: int, slug: str, title: str, detail: str, errors: Sequence[FieldError] | None = None
) -> dict[str, Any]:
    """``{type, title, status, detail}``, and ``errors[]`` of ``{field, message}`` for a 422."""
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = [{"field": error.field, "message": error.message} for error in errors]
    return body
