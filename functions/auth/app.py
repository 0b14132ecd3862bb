"""Auth API: health, register, login, refresh, logout, me; and the $default route (404 problem+json)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.errors import NotFound, NotImplementedYet
from market.http import json_response, make_resolver
from market.observability import logger

app = make_resolver()


@app.get("/health")
def health() -> Response[str]:
    return json_response(200, {"status": "ok"})


@app.post("/auth/register")
@app.post("/auth/login")
@app.post("/auth/refresh")
@app.post("/auth/logout")
@app.get("/me")
def not_yet() -> Response[str]:
    raise NotImplementedYet("This route is declared but not built yet.")


@app.route(".+", method=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def default_route() -> Response[str]:
    raise NotFound("No route matches this method and path.")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
