"""Request and response helpers shared by the emulator's route modules."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from localdev.paystack.common import PaystackError

MAX_WEBHOOK_TIMES = 100
Handler = Callable[..., Response]
_ROUTES_ATTRIBUTE = "_emulator_routes"


def route(method: str | tuple[str, ...], path: str) -> Callable[[Handler], Handler]:
    """Serve the decorated handler method at ``path``; the method's name names the route (and its faults)."""
    methods = (method,) if isinstance(method, str) else method

    def mark(handler: Handler) -> Handler:
        routes = [*getattr(handler, _ROUTES_ATTRIBUTE, []), (path, methods)]
        setattr(handler, _ROUTES_ATTRIBUTE, routes)
        return handler

    return mark


def route_table(owner_type: type) -> list[tuple[str, tuple[str, ...], str]]:
    """(path, methods, name) for every ``@route`` method of a class, in definition order."""
    found = []
    for name, member in vars(owner_type).items():
        for path, methods in getattr(member, _ROUTES_ATTRIBUTE, []):
            found.append((path, methods, name))
    return found


def routes_of(owner: object) -> list[tuple[str, tuple[str, ...], str, Handler]]:
    """(path, methods, name, bound handler) for every ``@route`` method of ``owner``, in definition order."""
    return [(path, methods, name, getattr(owner, name)) for path, methods, name in route_table(type(owner))]


class BadBody(ValueError):
    """A request body that is neither JSON nor form fields (answered 400)."""


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def ok(message: str, data: Any, status: int = 200, **extra: Any) -> Response:
    """Paystack's success envelope."""
    return json_response({"status": True, "message": message, "data": data, **extra}, status)


def body(request: Request) -> dict[str, Any]:
    """A JSON object, or form fields (Paystack accepts both)."""
    if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        return dict(request.form.items())
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise BadBody("Invalid JSON in request body") from exc
    if not isinstance(parsed, dict):
        raise BadBody("Request body must be a JSON object")
    return parsed


def control_values(request: Request) -> dict[str, Any]:
    """Query parameters, overridden by a JSON body or form fields."""
    return {**dict(request.args.items()), **body(request)}


def times(value: Any) -> int:
    count = 1 if value in (None, "") else int_value(value, "times")
    if not 1 <= count <= MAX_WEBHOOK_TIMES:
        raise PaystackError(400, f"times must be between 1 and {MAX_WEBHOOK_TIMES}")
    return count


def int_value(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise PaystackError(400, f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise PaystackError(400, f"{name} must be an integer")


def seconds(value: Any, name: str = "delay_seconds") -> float:
    """A non-negative number of seconds (0 when absent), from JSON or a query string."""
    if value in (None, ""):
        return 0.0
    try:
        number = float(value) if not isinstance(value, bool) else -1.0
    except (TypeError, ValueError) as exc:
        raise PaystackError(400, f"{name} must be a number of seconds") from exc
    if not 0 <= number <= 3600:
        raise PaystackError(400, f"{name} must be between 0 and 3600")
    return number


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in {"1", "true", "yes"})


def with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
