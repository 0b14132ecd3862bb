"""The local API gateway: every ``HttpApi`` event of the template becomes a route.

Requests become API Gateway HTTP API payload-2.0 events for the real handlers, and
their results become HTTP responses, following API Gateway's rules: the most specific
route wins (literal segments over ``{param}`` over ``{proxy+}``, a method over ``ANY``),
unmatched requests go to ``$default``, headers are lower-cased, binary bodies are
base64-encoded, cookies are split out.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from localdev.runtime import InvocationError, Invoker

log = logging.getLogger("localdev.gateway")

TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|.*\+json|xml|.*\+xml|javascript|x-www-form-urlencoded|problem\+json))$", re.I
)


@dataclass
class Route:
    method: str
    path: str
    runtime: Invoker
    pattern: re.Pattern[str] | None
    param_names: list[str]
    specificity: tuple[int, ...]

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


def compile_route(method: str, path: str, runtime: Invoker) -> Route:
    if path == "$default":
        return Route(method, path, runtime, None, [], (99,))
    regex = "^"
    names: list[str] = []
    ranks: list[int] = []
    for segment in path.strip("/").split("/"):
        if not segment:
            continue
        greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
        param = re.fullmatch(r"\{(\w+)\}", segment)
        if greedy:
            names.append(greedy.group(1))
            regex += rf"/(?P<{greedy.group(1)}>.+)"
            ranks.append(2)
        elif param:
            names.append(param.group(1))
            regex += rf"/(?P<{param.group(1)}>[^/]+)"
            ranks.append(1)
        else:
            regex += "/" + re.escape(segment)
            ranks.append(0)
    regex += "/?$"
    # Fewer variable segments first, then earlier literals, then a named method before ANY.
    specificity = (sum(1 for r in ranks if r), *ranks, 1 if method == "ANY" else 0)
    return Route(method, path, runtime, re.compile(regex), names, specificity)


class RouteTable:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted((r for r in routes if r.pattern is not None), key=lambda r: r.specificity)
        self.default = next((r for r in routes if r.pattern is None), None)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method not in {method, "ANY"}:
                continue
            assert route.pattern is not None  # noqa: S101 - only $default has no pattern
            found = route.pattern.match(path)
            if found:
                return route, dict(found.groupdict())
        if self.default is not None:
            return self.default, {}
        return None


def build_event(
    request: Request, route: Route, path_params: dict[str, str], *, api_id: str = "local"
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-2.0 event, as API Gateway builds it."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        if key == "cookie":
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    cookies = [c.strip() for c in request.headers.get("cookie", "").split(";") if c.strip()]
    raw_query = request.query_string.decode("latin-1")
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    raw_body = request.get_data(cache=True)
    content_type = (request.content_type or "").split(";")[0].strip()
    body: str | None = None
    is_base64 = False
    if raw_body:
        if TEXT_TYPES.match(content_type or "text/plain"):
            try:
                body = raw_body.decode("utf-8")
            except UnicodeDecodeError:
                body, is_base64 = base64.b64encode(raw_body).decode(), True
        else:
            body, is_base64 = base64.b64encode(raw_body).decode(), True
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": route.route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = path_params
    if body is not None:
        event["body"] = body
    return event


def build_response(result: Any) -> Response:
    """Turn a handler's result into an HTTP response, as API Gateway reads payload-2.0 results."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # A bare value is JSON with status 200.
        return Response(json.dumps(result), status=200, content_type="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    response = Response(data, status=int(result["statusCode"]))
    response.headers.remove("Content-Type")
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        response.headers.remove(name)
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


def problem(status: int, title: str, detail: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(json.dumps(body), status=status, content_type="application/problem+json")


class LocalGateway:
    """WSGI app: local-only helpers under ``/_local/``, everything else through the route table."""

    def __init__(self, routes: RouteTable, local_routes: dict[str, Callable[[Request], Response]]) -> None:
        self.routes = routes
        self.local_routes = local_routes

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_local/"):
            for prefix, handler in self.local_routes.items():
                if request.path == prefix or request.path.startswith(prefix + "/"):
                    return handler(request)
            return problem(404, "Not Found", "No local helper at this path.")
        found = self.routes.match(request.method, request.path)
        if found is None:
            return problem(404, "Not Found", "No route matches this method and path.")
        route, params = found
        event = build_event(request, route, params)
        started = time.monotonic()
        try:
            result = route.runtime.invoke(event)
        except InvocationError as error:
            log.error(  # noqa: TRY400 - the traceback is the worker's, already logged
                "%s %s -> %s failed: %s", request.method, route.route_key, route.runtime.spec.logical_id, error
            )
            # API Gateway answers a failed integration with 500 {"message": "Internal Server Error"}.
            return Response(
                json.dumps({"message": "Internal Server Error"}), status=500, content_type="application/json"
            )
        response = build_response(result)
        # The route key, not the path: a path may carry a secret (the token of a download link).
        log.info(
            "%s %s -> %s %s (%.0f ms)",
            request.method,
            route.route_key,
            route.runtime.spec.logical_id,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response
