"""Auth API: health, register, login, refresh, logout, me; and the $default route (404 problem+json).

Each route imports the service it calls when it first runs (``market.services.auth`` pulls in
pynamodb, botocore and argon2), so the cold start holds only the resolver and the schemas
(README, "Performance").
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.auth.guard import authenticated, caller
from market.domain.errors import NotFound
from market.http import json_response, make_resolver, source_ip
from market.observability import logger
from market.schemas.auth import LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest, TokenPairOut, UserOut

if TYPE_CHECKING:
    from market.services.auth import TokenPair

app = make_resolver()

NO_STORE = {"Cache-Control": "no-store"}


@app.get("/health")
def health() -> Response[str]:
    return json_response(200, {"status": "ok"})


@app.get("/openapi.json")
def openapi_document() -> Response[str]:
    """The whole API (every route of template.yaml), built by ``make openapi`` and shipped beside this module."""
    return Response(status_code=200, content_type="application/json", body=_openapi_text())


@cache
def _openapi_text() -> str:
    return (Path(__file__).parent / "openapi.json").read_text(encoding="utf-8")


@app.post("/auth/register")
def register(body: RegisterRequest) -> Response[str]:
    from market.services import auth

    user = auth.register(
        email=body.email,
        password=body.password.get_secret_value(),
        role=body.role,
        display_name=body.display_name,
        source_ip=source_ip(app),
    )
    return json_response(201, UserOut.model_validate(user))


@app.post("/auth/login")
def login(body: LoginRequest) -> Response[str]:
    from market.services import auth

    pair = auth.login(email=body.email, password=body.password.get_secret_value(), source_ip=source_ip(app))
    return json_response(200, _pair_out(pair), headers=NO_STORE)


@app.post("/auth/refresh")
def refresh(body: RefreshRequest) -> Response[str]:
    from market.services import auth

    pair = auth.refresh(body.refresh_token.get_secret_value())
    return json_response(200, _pair_out(pair), headers=NO_STORE)


@app.post("/auth/logout", middlewares=[authenticated])
def logout(body: LogoutRequest) -> Response[str]:
    from market.services import auth

    auth.logout(user_id=caller(app).user_id, refresh_token=body.refresh_token.get_secret_value())
    return json_response(204, None)


@app.get("/me", middlewares=[authenticated])
def me() -> Response[str]:
    from market.services import auth

    return json_response(200, UserOut.model_validate(auth.profile(caller(app).user_id)))


@app.route(".+", method=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def default_route() -> Response[str]:
    raise NotFound("No route matches this method and path.")


def _pair_out(pair: TokenPair) -> TokenPairOut:
    return TokenPairOut(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
