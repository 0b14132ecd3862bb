"""Delivery API: the buyer's library, fresh download links, and the public download redirect.

Each route imports its service (``library`` or ``downloads``: pynamodb, botocore, S3) when it
first runs, not at the cold start (README, "Performance").
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.auth.guard import authenticated, bearer_or_guest_token, caller, caller_or_none
from market.domain.errors import AppError
from market.http import Cursor, GuestToken, Limit, json_response, make_resolver, problem_response
from market.observability import get_metrics, logger
from market.schemas.delivery import DownloadLinkOut, LibraryPageOut

app = make_resolver()

NO_STORE = {"Cache-Control": "no-store"}
# A download link is a bearer secret: never cached, never sent on as a Referer (errors included).
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def private(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    try:
        response = next_middleware(resolver)
    except AppError as error:
        response = problem_response(error)
    response.headers.update(PRIVATE)
    return response


def _host() -> str:
    return str(app.current_event.request_context.domain_name)


@app.get("/library", middlewares=[authenticated])
def get_library(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    from market.services import library

    page = library.library(caller(app), limit, cursor, _host())
    return json_response(200, LibraryPageOut.model_validate(page), headers=NO_STORE)


@app.post("/orders/<order_id>/download-link", middlewares=[bearer_or_guest_token])
def create_download_link(order_id: str, x_guest_token: GuestToken = None) -> Response[str]:
    from market.services import library

    who = caller_or_none(app)
    if who is None:
        link = library.issue_guest_download_link(order_id, x_guest_token, _host())
    else:
        link = library.issue_download_link(who, order_id, _host())
    return json_response(201, DownloadLinkOut.model_validate(link), headers=NO_STORE)


@app.get("/downloads/<token>", middlewares=[private])
def download(token: str) -> Response[str]:
    from market.services import downloads

    return Response(status_code=302, body="", headers={"Location": downloads.redeem_download(token)})


@app.head("/downloads/<token>", middlewares=[private])
def check_download(token: str) -> Response[str]:
    from market.services import downloads

    downloads.check_download(token)
    return Response(status_code=200, body="")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
