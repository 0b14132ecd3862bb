"""Wallet API: balances, ledger, dashboard, payout account, payouts, and refunds of orders."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.auth.guard import authenticated, caller, require_role
from market.http import json_response, make_resolver
from market.observability import get_metrics, logger
from market.schemas.wallet import (
    BalanceOut,
    DashboardOut,
    LedgerEntryOut,
    LedgerPageOut,
    PayoutAccountOut,
    PayoutAccountRequest,
    PayoutListOut,
    PayoutOut,
    PayoutRequestBody,
    RefundAcceptedOut,
    RefundRequestBody,
    WalletOut,
)
from market.services import dashboard, payouts, refunds, wallet

app = make_resolver()
creator_only = [authenticated, require_role("creator")]

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=2048)]
CurrencyQuery = Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")]
IdempotencyKey = Annotated[str | None, Header(alias="idempotency-key", min_length=1, max_length=200)]


@app.get("/wallet", middlewares=creator_only)
def get_wallet() -> Response[str]:
    balances = wallet.balances(caller(app).user_id)
    return json_response(200, WalletOut(balances=[BalanceOut.of(b) for b in balances]))


@app.get("/wallet/ledger", middlewares=creator_only)
def get_ledger(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    page = wallet.ledger(caller(app).user_id, limit, cursor)
    return json_response(
        200, LedgerPageOut(items=[LedgerEntryOut.of(e) for e in page.items], next_cursor=page.next_cursor)
    )


@app.get("/creator/dashboard", middlewares=creator_only)
def get_dashboard(
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> Response[str]:
    view = dashboard.dashboard(caller(app).user_id, first, last)
    return json_response(200, DashboardOut.of(view))


@app.put("/wallet/payout-account", middlewares=creator_only)
def put_payout_account(body: PayoutAccountRequest) -> Response[str]:
    account = payouts.set_payout_account(
        caller(app).user_id, bank_code=body.bank_code, account_number=body.account_number, currency=body.currency
    )
    return json_response(200, PayoutAccountOut.of(account))


@app.get("/wallet/payout-account", middlewares=creator_only)
def get_payout_account(currency: CurrencyQuery = None) -> Response[str]:
    return json_response(200, PayoutAccountOut.of(payouts.get_payout_account(caller(app).user_id, currency)))


@app.post("/wallet/payouts", middlewares=creator_only)
def create_payout(body: PayoutRequestBody, idempotency_key: IdempotencyKey = None) -> Response[str]:
    request = payouts.PayoutRequest(caller(app).user_id, body.amount, body.currency, idempotency_key)
    return json_response(202, PayoutOut.of(payouts.request_payout(request)))


@app.get("/wallet/payouts", middlewares=creator_only)
def list_payouts(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    page = payouts.list_payouts(caller(app).user_id, limit, cursor)
    return json_response(200, PayoutListOut(items=[PayoutOut.of(p) for p in page.items], next_cursor=page.next_cursor))


@app.post("/orders/<order_id>/refund", middlewares=[authenticated])
def refund_order(order_id: str, body: RefundRequestBody | None = None) -> Response[str]:
    refund = refunds.request_refund(caller(app), order_id, body.amount if body else None)
    return json_response(202, RefundAcceptedOut.of(refund, refunds.public_status(refund)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
