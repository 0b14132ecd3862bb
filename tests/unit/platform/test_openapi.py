"""The OpenAPI 3.1 document (functions/auth/openapi.json, built by `make openapi` from the resolvers):
it lists exactly the template's routes, is current, valid, and says who may call what and how errors look."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import validate

from localdev import openapi
from localdev.template import LocalTemplate, load_template
from tests.fixtures.events import http_event, json_body, lambda_context, load_function

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.build_document()


def template_routes() -> set[tuple[str, str]]:
    local = LocalTemplate(load_template(), stack_name="openapi-test")
    return {
        (route.method, route.path)
        for spec in local.functions()
        for route in spec.http_routes
        if route.path.startswith("/")
    }


def document_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_the_documents_paths_are_exactly_the_templates_routes(document: dict[str, Any]) -> None:
    assert document_routes(document) == template_routes()


def test_the_committed_document_is_current() -> None:
    committed = json.loads(openapi.OUTPUT.read_text())
    assert committed == openapi.build_document(), "functions/auth/openapi.json is stale: run make openapi"


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # The pure-Python backend: jsonschema-rs (schemathesis brings it) cannot read the validator's own nodes.
    monkeypatch.setenv("OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND", "jsonschema")
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on an invalid document


def test_every_operation_answers_problem_json_for_errors_and_documents_its_success(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert any(code[0] in "23" for code in responses), (method, path)
            problem = responses["4XX"]["content"]["application/problem+json"]["schema"]
            assert problem == {"$ref": "#/components/schemas/Problem"}, (method, path)
            assert "422" not in responses, (method, path)  # not Powertools' {detail: [...]} shape
    assert set(document["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status", "detail"}


def test_protected_routes_need_the_bearer_scheme_and_public_ones_do_not(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for method, path in [("get", "/wallet"), ("post", "/products"), ("get", "/me")]:
        assert paths[path][method]["security"] == [{"bearerAuth": []}], path
    for method, path in [("get", "/products"), ("post", "/auth/login"), ("get", "/health"), ("get", "/openapi.json")]:
        assert "security" not in paths[path][method], path
    assert "security" not in paths["/orders/resend"]["post"]
    assert paths["/products/{id}"]["get"]["security"] == [{}, {"bearerAuth": []}]  # a token is optional
    # Guest checkout (no token: email), and a guest order read or linked with X-Guest-Token instead of a bearer.
    for method, path in [("post", "/orders"), ("get", "/orders/{id}"), ("post", "/orders/{id}/download-link")]:
        assert paths[path][method]["security"] == [{}, {"bearerAuth": []}], path
    for method, path in [("get", "/orders/{id}"), ("post", "/orders/{id}/download-link")]:
        assert "x-guest-token" in [p["name"] for p in paths[path][method]["parameters"] if p["in"] == "header"], path


def test_webhooks_document_their_signature_header(document: dict[str, Any]) -> None:
    parameters = document["paths"]["/webhooks/paystack"]["post"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in parameters] == [("x-paystack-signature", "header", True)]


def test_path_parameters_take_the_templates_names_and_creations_link_to_them(document: dict[str, Any]) -> None:
    product = document["paths"]["/products/{id}"]["get"]
    assert [p["name"] for p in product["parameters"] if p["in"] == "path"] == ["id"]
    links = document["paths"]["/products"]["post"]["responses"]["201"]["links"]
    assert {link["parameters"]["id"] for link in links.values()} == {"$response.body#/id"}
    assert len(links) == 5  # get, patch, delete, publish, upload
    order_links = document["paths"]["/orders"]["post"]["responses"]["201"]["links"]
    assert {link["parameters"]["id"] for link in order_links.values()} == {"$response.body#/order/id"}


def test_one_name_with_two_schemas_is_renamed_not_overwritten() -> None:
    merged: dict[str, Any] = {"Product": {"type": "object", "properties": {"price": {"type": "integer"}}}}
    theirs = {
        "Product": {"type": "object", "properties": {"title": {"type": "string"}}},
        "Page": {"type": "object", "properties": {"items": {"items": {"$ref": "#/components/schemas/Product"}}}},
    }

    renames = openapi.merge_components(merged, theirs, "UploadFunction")

    assert renames == {"Product": "UploadFunctionProduct"}
    assert merged["Product"]["properties"] == {"price": {"type": "integer"}}
    assert merged["UploadFunctionProduct"]["properties"] == {"title": {"type": "string"}}
    assert merged["Page"]["properties"]["items"]["items"] == {"$ref": "#/components/schemas/UploadFunctionProduct"}


def test_get_openapi_json_serves_the_document(aws_resources: Any) -> None:
    response = load_function("functions/auth/app.py").lambda_handler(
        http_event("GET", "/openapi.json"), lambda_context("AuthFunction")
    )

    assert response["statusCode"] == 200
    assert json_body(response) == json.loads(openapi.OUTPUT.read_text())
