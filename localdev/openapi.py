"""The API's OpenAPI 3.1 document, built from the functions' own resolvers (``make openapi``).

``python -m localdev.openapi`` writes ``functions/auth/openapi.json``, which the auth function serves at
``GET /openapi.json`` as a file (nothing is generated in a Lambda, so no cold start pays for it);
``--check`` exits 1 when the file is stale. How the document is made:

- every function of ``template.yaml`` with ``HttpApi`` routes and a Powertools resolver (``app``) gives its
  paths, parameters and request bodies through Powertools' ``get_openapi_schema()``;
- paths take the template's spelling and parameter names (the resolver's ``/products/<product_id>`` is the
  template's ``/products/{id}``), so the document's paths are exactly the template's routes;
- the functions' component schemas are merged; one name with two different schemas (two functions'
  ``Product``) is renamed ``<Function><Name>`` in the function that brought the second, never overwritten;
- each operation gets its success response from ``SUCCESS`` (status and response model), an RFC 9457
  ``application/problem+json`` answer for every 4xx (Powertools' own 422 shape is replaced: the API answers
  problem+json), the bearer scheme where the route is behind ``authenticated`` (optional where behind
  ``optional_caller``), and links from the ids a creation returns to the routes that take them;
- the webhook receivers (no resolver: they stay light) are described from ``WEBHOOKS``: the raw JSON body
  and the signature header their gateway sends.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic.json_schema import models_json_schema

from localdev.template import LocalTemplate, load_template

REPO_ROOT = Path(__file__).resolve().parents[1]
OUTPUT = REPO_ROOT / "functions" / "auth" / "openapi.json"
TITLE = "Marketplace API"
VERSION = "1.0.0"
BEARER = "bearerAuth"
PROBLEM = "Problem"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

Success = tuple[int, Any]  # (status, a pydantic model, a JSON schema dict, or None for no body)


def _success() -> dict[tuple[str, str], Success]:
    """The success answer of every route (method, template path). A new route needs a line here."""
    from market.schemas.auth import TokenPairOut, UserOut
    from market.schemas.delivery import DownloadLinkOut, LibraryPageOut
    from market.schemas.discounts import DiscountListOut, DiscountOut
    from market.schemas.orders import CheckoutOut, GuestCheckoutOut, OrderListOut, OrderOut, ResendAcceptedOut
    from market.schemas.products import (
        CreatorProductOut,
        CreatorProductPageOut,
        ProductOut,
        ProductPageOut,
        UploadTicketOut,
    )
    from market.schemas.wallet import (
        DashboardOut,
        LedgerPageOut,
        PayoutAccountOut,
        PayoutListOut,
        PayoutOut,
        RefundAcceptedOut,
        RefundListOut,
        WalletOut,
    )

    health = {
        "type": "object",
        "properties": {"status": {"const": "ok"}},
        "required": ["status"],
        "additionalProperties": False,
    }
    document = {"type": "object", "properties": {"openapi": {"type": "string"}}, "required": ["openapi", "paths"]}
    return {
        ("GET", "/health"): (200, health),
        ("GET", "/openapi.json"): (200, document),
        ("POST", "/auth/register"): (201, UserOut),
        ("POST", "/auth/login"): (200, TokenPairOut),
        ("POST", "/auth/refresh"): (200, TokenPairOut),
        ("POST", "/auth/logout"): (204, None),
        ("GET", "/me"): (200, UserOut),
        ("POST", "/products"): (201, CreatorProductOut),
        ("GET", "/products"): (200, ProductPageOut),
        ("GET", "/products/{id}"): (200, (ProductOut, CreatorProductOut)),
        ("PATCH", "/products/{id}"): (200, CreatorProductOut),
        ("DELETE", "/products/{id}"): (204, None),
        ("POST", "/products/{id}/publish"): (200, CreatorProductOut),
        ("POST", "/products/{id}/upload"): (200, UploadTicketOut),
        ("GET", "/creator/products"): (200, CreatorProductPageOut),
        ("POST", "/orders"): (201, (CheckoutOut, GuestCheckoutOut)),
        ("POST", "/orders/resend"): (202, ResendAcceptedOut),
        ("GET", "/orders"): (200, OrderListOut),
        ("GET", "/orders/{id}"): (200, OrderOut),
        ("POST", "/orders/{id}/verify"): (200, OrderOut),
        ("GET", "/library"): (200, LibraryPageOut),
        ("POST", "/orders/{id}/download-link"): (201, DownloadLinkOut),
        ("GET", "/downloads/{token}"): (302, None),
        ("HEAD", "/downloads/{token}"): (200, None),
        ("GET", "/wallet"): (200, WalletOut),
        ("GET", "/wallet/ledger"): (200, LedgerPageOut),
        ("GET", "/creator/dashboard"): (200, DashboardOut),
        ("PUT", "/wallet/payout-account"): (200, PayoutAccountOut),
        ("GET", "/wallet/payout-account"): (200, PayoutAccountOut),
        ("POST", "/wallet/payouts"): (202, PayoutOut),
        ("GET", "/wallet/payouts"): (200, PayoutListOut),
        ("POST", "/orders/{id}/refund"): (202, RefundAcceptedOut),
        ("GET", "/orders/{id}/refunds"): (200, RefundListOut),
        ("POST", "/discounts"): (201, DiscountOut),
        ("GET", "/discounts"): (200, DiscountListOut),
        ("DELETE", "/discounts/{code}"): (204, None),
    }


# Webhook receivers: gateway -> (the header that proves the sender, what it holds).
WEBHOOKS: dict[str, tuple[str, str]] = {
    "paystack": ("x-paystack-signature", "Lowercase hex HMAC-SHA512 of the raw body, keyed with the secret key."),
    "flutterwave": ("verif-hash", "The secret hash set on the Flutterwave dashboard (compared in constant time)."),
}

# Stateful testing: the creation -> where its id goes. (operation, JSON pointer of the id in its body).
LINKS: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/products"): ("/products/{id}", "/id"),
    ("POST", "/orders"): ("/orders/{id}", "/order/id"),
}


def problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "RFC 9457 problem details; `errors` (one entry per bad field) on a 422.",
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    "required": ["field", "message"],
                },
            },
        },
        "required": ["type", "title", "status", "detail"],
    }


def problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": f"#/components/schemas/{PROBLEM}"}}},
    }


# ---------------------------------------------------------------- the functions' resolvers


def load_entry_module(path: Path) -> ModuleType:
    """Import a function's entry module under a name of its own (every API function's module is ``app``)."""
    name = "openapi_" + "_".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _template_shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _rename_params(operation: dict[str, Any], resolver_path: str, template_path: str) -> None:
    ours = re.findall(r"\{([^}]+)\}", resolver_path)
    theirs = re.findall(r"\{([^}]+)\}", template_path)
    names = dict(zip(ours, theirs, strict=True))
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path":
            parameter["name"] = names.get(parameter["name"], parameter["name"])
            parameter.get("schema", {}).pop("title", None)


def _rewrite_refs(value: Any, renames: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and item.startswith("#/components/schemas/"):
                name = item.rsplit("/", 1)[1]
                out[key] = f"#/components/schemas/{renames.get(name, name)}"
            else:
                out[key] = _rewrite_refs(item, renames)
        return out
    if isinstance(value, list):
        return [_rewrite_refs(item, renames) for item in value]
    return value


def merge_components(merged: dict[str, Any], schemas: dict[str, Any], prefix: str) -> dict[str, str]:
    """Add ``schemas`` to ``merged``; a name already there with another schema is renamed ``<prefix><Name>``.

    Returns the renames, for rewriting the ``$ref`` of the document the schemas came from."""
    renames: dict[str, str] = {}
    for name in schemas:
        if name in merged and merged[name] != schemas[name]:
            renames[name] = f"{prefix}{name}"
    for name, schema in schemas.items():
        target = renames.get(name, name)
        merged[target] = _rewrite_refs(schema, renames)
    return renames


def _function_documents(local: LocalTemplate) -> list[tuple[str, dict[str, Any], dict[tuple[str, str], str], Any]]:
    """(function, Powertools' document, resolver path per template route, the resolver) of each API function."""
    out = []
    for spec in local.functions():
        routes = [route for route in spec.http_routes if route.path.startswith("/")]
        if not routes:
            continue
        module_file, _, _ = spec.handler.partition(".")
        module = load_entry_module(spec.code_dir / f"{module_file}.py")
        app = getattr(module, "app", None)
        if app is None or not hasattr(app, "get_openapi_schema"):
            continue  # a receiver without a resolver (the webhooks): described from WEBHOOKS
        document = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION, openapi_version="3.1.0"))
        by_shape = {(route.method, _template_shape(route.path)): route.path for route in routes}
        resolver_paths: dict[tuple[str, str], str] = {}
        for path, item in document.get("paths", {}).items():
            for method in item:
                template_path = by_shape.get((method.upper(), _template_shape(path)))
                if template_path is not None:
                    resolver_paths[(method.upper(), template_path)] = path
        out.append((spec.logical_id, document, resolver_paths, app))
    return out


def _auth_of(app: Any) -> dict[tuple[str, str], str]:
    """(method, resolver path) -> "required" | "optional" | "none", from the routes' middlewares."""
    from market.auth.guard import authenticated, bearer_or_guest_token, optional_caller

    out = {}
    for route in [*app._static_routes, *app._dynamic_routes]:
        middlewares = list(route.middlewares or [])
        optional = optional_caller in middlewares or bearer_or_guest_token in middlewares
        kind = "required" if authenticated in middlewares else "optional" if optional else "none"
        out[(route.method.upper(), route.openapi_path)] = kind
    return out


def _response_schema(model: Any, components: dict[str, Any]) -> dict[str, Any] | None:
    if model is None:
        return None
    if isinstance(model, dict):
        return copy.deepcopy(model)
    models = list(model) if isinstance(model, tuple) else [model]
    refs, definitions = models_json_schema(
        [(each, "serialization") for each in models], ref_template="#/components/schemas/{model}"
    )
    for name, schema in definitions.get("$defs", {}).items():
        if name in components and components[name] != schema:
            raise ValueError(f"response model {name} clashes with another schema of that name")
        components[name] = schema
    schemas = [refs[(each, "serialization")] for each in models]
    return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}


def _webhook_operation(gateway: str) -> dict[str, Any]:
    header, what = WEBHOOKS[gateway]
    return {
        "summary": f"{gateway.capitalize()} webhook (signed)",
        "operationId": f"receive_{gateway}_webhook",
        "tags": ["webhooks"],
        "parameters": [
            {"name": header, "in": "header", "required": True, "description": what, "schema": {"type": "string"}}
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", "description": "The gateway's event."}}},
        },
        "responses": {
            "200": {
                "description": "Received (queued when it is an event we act on)",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"received": {"const": True}},
                            "required": ["received"],
                        }
                    }
                },
            },
            "4XX": problem_response("Bad signature (401), not JSON (400) or too large (413)"),
        },
    }


def build_document(local: LocalTemplate | None = None) -> dict[str, Any]:
    """The whole API as one OpenAPI 3.1 document."""
    local = local or LocalTemplate(load_template(), stack_name="openapi")
    success = _success()
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for function, document, resolver_paths, app in _function_documents(local):
        renames = merge_components(components, document.get("components", {}).get("schemas", {}), function)
        auth = _auth_of(app)
        for (method, template_path), resolver_path in sorted(resolver_paths.items()):
            operation = _rewrite_refs(document["paths"][resolver_path][method.lower()], renames)
            _rename_params(operation, resolver_path, template_path)
            if (method, template_path) not in success:
                raise KeyError(f"no success response for {method} {template_path}: add it to SUCCESS")
            status, model = success[(method, template_path)]
            answer: dict[str, Any] = {"description": "Success"}
            schema = _response_schema(model, components)
            if schema is not None:
                answer["content"] = {"application/json": {"schema": schema}}
            if status == 302:
                answer["headers"] = {"Location": {"schema": {"type": "string"}, "description": "Where to go"}}
            operation["responses"] = {str(status): answer, "4XX": problem_response("Error (RFC 9457 problem)")}
            operation["tags"] = [function.removesuffix("Function").lower()]
            kind = auth.get((method, resolver_path), "none")
            if kind == "required":
                operation["security"] = [{BEARER: []}]
            elif kind == "optional":
                operation["security"] = [{}, {BEARER: []}]
            paths.setdefault(template_path, {})[method.lower()] = operation
    for spec in local.functions():
        for route in spec.http_routes:
            match = re.fullmatch(r"/webhooks/([a-z0-9-]+)", route.path)
            if match and route.method == "POST":
                paths.setdefault(route.path, {})["post"] = _webhook_operation(match.group(1))
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        components.pop(name, None)  # Powertools' own 422 shapes: the API answers problem+json instead
    components[PROBLEM] = problem_schema()
    _add_links(paths)
    _add_body_links(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Digital-goods marketplace backend. Every error is RFC 9457 application/problem+json.",
        },
        "paths": {path: paths[path] for path in sorted(paths)},
        "components": {
            "schemas": {name: components[name] for name in sorted(components)},
            "securitySchemes": {BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _add_links(paths: dict[str, dict[str, Any]]) -> None:
    for (method, path), (target, pointer) in LINKS.items():
        operation = paths.get(path, {}).get(method.lower())
        if operation is None:
            continue
        links: dict[str, Any] = {}
        for target_path, item in paths.items():
            if target_path != target and not target_path.startswith(target + "/"):
                continue
            for target_method, target_operation in item.items():
                if target_method not in METHODS:
                    continue
                links[target_operation["operationId"]] = {
                    "operationId": target_operation["operationId"],
                    "parameters": {"id": f"$response.body#{pointer}"},
                }
        if links:
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    response["links"] = links


# Stateful testing: a listing's first item -> the request body of the route that takes its id.
BODY_LINKS: dict[tuple[str, str], tuple[str, str, dict[str, str]]] = {
    ("GET", "/products"): ("POST", "/orders", {"product_id": "$response.body#/items/0/id"}),
}


def _add_body_links(paths: dict[str, dict[str, Any]]) -> None:
    for (method, path), (target_method, target_path, body) in BODY_LINKS.items():
        operation = paths.get(path, {}).get(method.lower())
        target = paths.get(target_path, {}).get(target_method.lower())
        if operation is None or target is None:
            continue
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                response.setdefault("links", {})[target["operationId"]] = {
                    "operationId": target["operationId"],
                    "requestBody": body,
                }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    layer = str(REPO_ROOT / "layers" / "common" / "python")
    if layer not in sys.path:
        sys.path.insert(0, layer)  # the market package, as the functions' layer provides it
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the written document is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render(build_document())
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            sys.stderr.write(f"{args.output} is stale: run make openapi\n")
            return 1
        return 0
    args.output.write_text(text)
    sys.stdout.write(f"wrote {args.output.relative_to(REPO_ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
