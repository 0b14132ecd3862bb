"""Products API: create, edit, publish, archive, catalog, presigned uploads."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.errors import NotImplementedYet
from market.http import make_resolver
from market.observability import logger

app = make_resolver()


@app.post("/products")
@app.get("/products")
@app.get("/products/<id>")
@app.patch("/products/<id>")
@app.delete("/products/<id>")
@app.post("/products/<id>/publish")
@app.post("/products/<id>/upload")
@app.get("/creator/products")
def not_yet(**_: str) -> Response[str]:
    raise NotImplementedYet("This route is declared but not built yet.")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
