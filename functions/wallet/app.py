"""Wallet API: balances, ledger, dashboard, payout account, payouts, and refunds of orders (and their list)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from market.auth.guard import authenticated, caller, creator_only
from market.http import Cursor, IdempotencyKey, IsoDate, Limit, json_response, make_resolver
from market.observability import get_metrics, logger
from market.schemas.wallet import (
    BalanceOut,
    DashboardOut,
    LedgerPageOut,
    PayoutAccountOut,
    PayoutAccountRequest,
    PayoutListOut,
    PayoutOut,
    PayoutRequestBody,
    RefundAcceptedOut,
    RefundDetailOut,
    RefundListOut,
    RefundOut,
    RefundRequestBody,
    WalletOut,
)
from market.services import dashboard, payouts, refunds, wallet

app = make_resolver()

CurrencyQuery = Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")]


@app.get("/wallet", middlewares=creator_only)
def get_wallet() -> Response[str]:
    balances = wallet.balances(caller(app).user_id)
    return json_response(200, WalletOut(balances=[BalanceOut.model_validate(b) for b in balances]))


@app.get("/wallet/ledger", middlewares=creator_only)
def get_ledger(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    page = wallet.ledger(caller(app).user_id, limit, cursor)
    return json_response(200, LedgerPageOut.model_validate(page))


@app.get("/creator/dashboard", middlewares=creator_only)
def get_dashboard(
    first: Annotated[IsoDate | None, Query(alias="from")] = None,
    last: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> Response[str]:
    view = dashboard.dashboard(caller(app).user_id, first, last)
    return json_response(200, DashboardOut.model_validate(view))


@app.put("/wallet/payout-account", middlewares=creator_only)
def put_payout_account(body: PayoutAccountRequest) -> Response[str]:
    account = payouts.set_payout_account(
        caller(app).user_id,
        bank_code=body.bank_code,
        account_number=body.account_number,
        currency=body.currency,
        gateway_name=body.gateway,
    )
    return json_response(200, PayoutAccountOut.model_validate(account))


@app.get("/wallet/payout-account", middlewares=creator_only)
def get_payout_account(currency: CurrencyQuery = None) -> Response[str]:
    return json_response(
        200, PayoutAccountOut.model_validate(payouts.get_payout_account(caller(app).user_id, currency))
    )


@app.post("/wallet/payouts", middlewares=creator_only)
def create_payout(body: PayoutRequestBody, idempotency_key: IdempotencyKey = None) -> Response[str]:
    request = payouts.PayoutRequest(caller(app).user_id, body.amount, body.currency, idempotency_key)
    return json_response(202, PayoutOut.model_validate(payouts.request_payout(request)))


@app.get("/wallet/payouts", middlewares=creator_only)
def list_payouts(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    page = payouts.list_payouts(caller(app).user_id, limit, cursor)
    return json_response(200, PayoutListOut.model_validate(page))


@app.post("/orders/<order_id>/refund", middlewares=[authenticated])
def refund_order(
    order_id: str, body: RefundRequestBody | None = None, idempotency_key: IdempotencyKey = None
) -> Response[str]:
    refund = refunds.request_refund(caller(app), order_id, body.amount if body else None, idempotency_key)
    return json_response(202, RefundAcceptedOut(order_id=refund.order_id, refund=RefundOut.model_validate(refund)))


@app.get("/orders/<order_id>/refunds", middlewares=[authenticated])
def list_order_refunds(order_id: str) -> Response[str]:
    found = refunds.order_refunds(caller(app), order_id)
    return json_response(200, RefundListOut(items=[RefundDetailOut.model_validate(r) for r in found]))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@get_metrics().log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
