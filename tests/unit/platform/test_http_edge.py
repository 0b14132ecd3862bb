"""The shared HTTP edge: every error is problem+json, and a protected route checks the token before the body."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, ConfigDict

from market.auth.guard import authenticated, caller, require_role
from market.auth.tokens import issue_access_token
from market.domain.errors import Conflict, TooManyRequests
from market.http import json_response, make_resolver
from tests.fixtures.events import http_event, lambda_context


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int


app = make_resolver()


@app.post("/things", middlewares=[authenticated, require_role("creator")])
def create_thing(body: Body) -> Response[str]:
    return json_response(201, {"amount": body.amount, "by": caller(app).user_id})


@app.post("/public")
def public(body: Body) -> Response[str]:
    return json_response(200, {"amount": body.amount})


@app.get("/conflict")
def conflict() -> Response[str]:
    raise Conflict("Already there.")


@app.get("/slow-down")
def slow_down() -> Response[str]:
    raise TooManyRequests(42)


@app.get("/boom")
def boom() -> Response[str]:
    raise RuntimeError("secret internals")


def call(method: str, path: str, body: Any = None, token: str | None = None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return app.resolve(http_event(method, path, body=body, headers=headers), lambda_context())


def problem(response: dict[str, Any]) -> dict[str, Any]:
    assert response["headers"]["Content-Type"] == "application/problem+json"
    body = json.loads(response["body"])
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == response["statusCode"]
    return dict(body)


def test_missing_token_with_a_bad_body_is_401_not_422() -> None:
    response = call("POST", "/things", body={"amount": "not a number", "extra": 1})
    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    problem(response)


def test_valid_token_with_a_bad_body_is_422_with_field_errors() -> None:
    token, _ = issue_access_token("u1", "creator")
    body = problem(call("POST", "/things", body={"amount": "x"}, token=token))
    assert body["status"] == 422
    assert [e["field"] for e in body["errors"]] == ["amount"]


def test_wrong_role_is_403() -> None:
    token, _ = issue_access_token("u1", "customer")
    assert problem(call("POST", "/things", body={"amount": 1}, token=token))["status"] == 403


def test_the_caller_reaches_the_handler() -> None:
    token, _ = issue_access_token("u1", "creator")
    response = call("POST", "/things", body={"amount": 7}, token=token)
    assert response["statusCode"] == 201
    assert json.loads(response["body"]) == {"amount": 7, "by": "u1"}


def test_public_route_validates_without_a_token() -> None:
    assert problem(call("POST", "/public", body={"amount": "x"}))["status"] == 422
    assert call("POST", "/public", body={"amount": 3})["statusCode"] == 200


def test_domain_errors_and_retry_after() -> None:
    assert problem(call("GET", "/conflict"))["detail"] == "Already there."
    response = call("GET", "/slow-down")
    assert problem(response)["status"] == 429
    assert response["headers"]["Retry-After"] == "42"


def test_unexpected_errors_are_opaque_500s() -> None:
    response = call("GET", "/boom")
    body = problem(response)
    assert body["status"] == 500
    assert "secret internals" not in response["body"]


def test_unknown_route_is_404_problem() -> None:
    assert problem(call("GET", "/nope"))["status"] == 404
