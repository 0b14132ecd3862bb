"""Delivery API: the buyer's library, fresh download links, and the public download redirect."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.auth.guard import authenticated, caller
from market.http import json_response, make_resolver
from market.observability import get_metrics, logger
from market.schemas.delivery import DownloadLinkOut, LibraryPageOut
from market.services import delivery

app = make_resolver()

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048)]
# A download link is a bearer secret: never cached, never sent on as a Referer.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _host() -> str:
    return str(app.current_event.request_context.domain_name)


@app.get("/library", middlewares=[authenticated])
def get_library(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    page = delivery.library(caller(app), limit, cursor, _host())
    return json_response(200, LibraryPageOut.of(page), headers={"Cache-Control": "no-store"})


@app.post("/orders/<order_id>/download-link", middlewares=[authenticated])
def create_download_link(order_id: str) -> Response[str]:
    link = delivery.issue_download_link(caller(app), order_id, _host())
    return json_response(201, DownloadLinkOut.of(link), headers={"Cache-Control": "no-store"})


@app.get("/downloads/<token>")
def download(token: str) -> Response[str]:
    url = delivery.redeem_download(token)
    return Response(status_code=302, body="", headers={"Location": url, **PRIVATE})


@app.head("/downloads/<token>")
def check_download(token: str) -> Response[str]:
    delivery.check_download(token)
    return Response(status_code=200, body="", headers=PRIVATE)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
