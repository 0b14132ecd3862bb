"""Envelopes and request parsing of the emulator: Flutterwave's JSON shapes, bodies with exact decimals, redirects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from localdev.flutterwave.config import FlutterwaveError, bad_request


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def ok(message: str, data: Any, status: int = 200, **extra: Any) -> Response:
    """``{"status": "success", "message": ..., "data": ...}`` (+ ``meta`` for lists)."""
    return json_response({"status": "success", "message": message, **extra, "data": data}, status)


def error(exc: FlutterwaveError) -> Response:
    return json_response(exc.body(), exc.status)


def body(request: Request) -> dict[str, Any]:
    """A JSON object (fractional numbers as exact ``Decimal``), or form fields."""
    if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        return dict(request.form.items())
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        raise bad_request("Invalid JSON in request body") from exc
    if not isinstance(parsed, dict):
        raise bad_request("Request body must be a JSON object")
    return parsed


def control_values(request: Request) -> dict[str, Any]:
    """Query parameters, overridden by a JSON body or form fields."""
    return {**dict(request.args.items()), **body(request)}


def falsy(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() in {"0", "false", "no"})


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` set in its query (replacing any of the same name)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def redirect(location: str) -> Response:
    response = Response("", 302)
    response.headers["Location"] = location
    return response
