"""Typed settings, read once from the environment.

The template sets every variable a function needs; the local stack adds the
emulator endpoints. Nothing here runs at import: call ``get_settings()``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _empty_is_none(value: object) -> object:
    # CloudFormation cannot omit a variable conditionally in Globals, so "" means unset.
    return None if value == "" else value


OptionalStr = Annotated[str | None, BeforeValidator(_empty_is_none)]


def _csv(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _per_currency(value: object) -> object:
    # "NGN:1,USD:7" -> {"NGN": 1, "USD": 7} (hold days, fixed fees: integers per currency)
    if isinstance(value, str):
        pairs = (item.split(":", 1) for item in value.split(",") if item.strip())
        return {code.strip().upper(): int(days) for code, days in pairs}
    return value


def _per_scope(value: object) -> object:
    # "register-ip:300,order-account:60" -> {"register-ip": 300, "order-account": 60}
    if isinstance(value, str):
        pairs = (item.split(":", 1) for item in value.split(",") if item.strip())
        return {scope.strip().lower(): int(limit) for scope, limit in pairs}
    return value


CsvTuple = Annotated[tuple[str, ...], BeforeValidator(_csv)]
PerCurrency = Annotated[dict[str, int], BeforeValidator(_per_currency)]
PerScope = Annotated[dict[str, int], BeforeValidator(_per_scope)]


class Settings(BaseModel):
    """Everything a function reads from its environment."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    region: str = Field(default="us-east-1", alias="AWS_REGION")
    service_name: str = Field(default="marketplace", alias="POWERTOOLS_SERVICE_NAME")

    # AWS resources
    table_name: str = Field(default="market", alias="TABLE_NAME")
    bucket_name: str = Field(default="market-files", alias="BUCKET_NAME")
    payments_queue_url: OptionalStr = Field(default=None, alias="PAYMENTS_QUEUE_URL")
    delivery_queue_url: OptionalStr = Field(default=None, alias="DELIVERY_QUEUE_URL")
    payouts_queue_url: OptionalStr = Field(default=None, alias="PAYOUTS_QUEUE_URL")
    # Set only locally (the AWS emulator); absent on AWS.
    aws_endpoint_url: OptionalStr = Field(default=None, alias="AWS_ENDPOINT_URL")
    public_api_url: OptionalStr = Field(default=None, alias="PUBLIC_API_URL")

    # Payment gateway
    paystack_base_url: str = Field(default="https://api.paystack.co", alias="PAYSTACK_BASE_URL")
    # Locally the key comes straight from the environment; on AWS from an SSM SecureString.
    paystack_secret_key: OptionalStr = Field(default=None, alias="PAYSTACK_SECRET_KEY")
    paystack_secret_parameter: OptionalStr = Field(default=None, alias="PAYSTACK_SECRET_PARAMETER")
    # Flutterwave v3: the base URL includes /v3; the secret key comes like Paystack's (the webhooks'
    # secret hash is read by market.gateways.credentials, where the receiver needs it).
    flutterwave_base_url: str = Field(default="https://api.flutterwave.com/v3", alias="FLUTTERWAVE_BASE_URL")
    flutterwave_secret_key: OptionalStr = Field(default=None, alias="FLUTTERWAVE_SECRET_KEY")
    flutterwave_secret_parameter: OptionalStr = Field(default=None, alias="FLUTTERWAVE_SECRET_PARAMETER")
    gateway_timeout_seconds: float = Field(default=10.0, alias="GATEWAY_TIMEOUT_SECONDS")

    # Tokens
    jwt_signing_key: OptionalStr = Field(default=None, alias="JWT_SIGNING_KEY")
    jwt_signing_key_parameter: OptionalStr = Field(default=None, alias="JWT_SIGNING_KEY_PARAMETER")
    jwt_issuer: str = Field(default="marketplace", alias="JWT_ISSUER")
    jwt_audience: str = Field(default="marketplace-api", alias="JWT_AUDIENCE")
    access_token_ttl_seconds: int = Field(default=15 * 60, alias="ACCESS_TOKEN_TTL_SECONDS")
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, alias="REFRESH_TOKEN_TTL_SECONDS")
    jwt_leeway_seconds: int = Field(default=30, alias="JWT_LEEWAY_SECONDS")
    # How long a container keeps the signing keys it read from SSM: a rotation takes effect within this.
    jwt_key_max_age_seconds: int = Field(default=300, alias="JWT_KEY_MAX_AGE_SECONDS")

    # Passwords (argon2id)
    argon2_time_cost: int = Field(default=3, alias="ARGON2_TIME_COST")
    argon2_memory_cost_kib: int = Field(default=65536, alias="ARGON2_MEMORY_COST_KIB")
    argon2_parallelism: int = Field(default=4, alias="ARGON2_PARALLELISM")

    # Rate limits
    login_max_failures_per_account: int = Field(default=5, alias="LOGIN_MAX_FAILURES_PER_ACCOUNT")
    login_max_failures_per_ip: int = Field(default=50, alias="LOGIN_MAX_FAILURES_PER_IP")
    login_window_seconds: int = Field(default=15 * 60, alias="LOGIN_WINDOW_SECONDS")
    # Per scope ("register-ip:300,order-account:60"; market.domain.limits has the scopes and defaults).
    rate_limits: PerScope = Field(default_factory=dict, alias="RATE_LIMITS")
    rate_limit_window_seconds: int = Field(default=3600, alias="RATE_LIMIT_WINDOW_SECONDS")

    # Cursors are signed so a client cannot forge one: an SSM SecureString on AWS (rotated like the JWT key),
    # the key itself locally.
    cursor_signing_key: OptionalStr = Field(default=None, alias="CURSOR_SIGNING_KEY")
    cursor_signing_key_parameter: OptionalStr = Field(default=None, alias="CURSOR_SIGNING_KEY_PARAMETER")

    # Products and uploads
    supported_currencies: CsvTuple = Field(default=("NGN", "GHS", "KES", "ZAR", "USD"), alias="SUPPORTED_CURRENCIES")
    allowed_content_types: CsvTuple = Field(
        default=(
            "application/pdf",
            "application/epub+zip",
            "application/zip",
            "video/mp4",
            "audio/mpeg",
            "image/png",
            "image/jpeg",
        ),
        alias="ALLOWED_CONTENT_TYPES",
    )
    max_upload_bytes: int = Field(default=2 * 1024**3, alias="MAX_UPLOAD_BYTES")
    upload_url_ttl_seconds: int = Field(default=600, alias="UPLOAD_URL_TTL_SECONDS")

    # Money
    platform_fee_bps: int = Field(default=500, alias="PLATFORM_FEE_BPS")
    hold_days: PerCurrency = Field(default_factory=dict, alias="HOLD_DAYS")
    # Fixed part of the platform fee per currency, in minor units ("NGN:0,USD:30").
    platform_fixed_fee: PerCurrency = Field(default_factory=dict, alias="PLATFORM_FIXED_FEE")
    # "test" or "live": the gateway mode a verified payment must report (the gateway's key decides when unset).
    gateway_mode: OptionalStr = Field(default=None, alias="GATEWAY_MODE")

    # Delivery
    email_sender: str = Field(default="no-reply@marketplace.local", alias="EMAIL_SENDER")
    grant_uses: int = Field(default=1, alias="GRANT_USES")
    grant_ttl_seconds: int = Field(default=24 * 3600, alias="GRANT_TTL_SECONDS")
    download_url_ttl_seconds: int = Field(default=300, alias="DOWNLOAD_URL_TTL_SECONDS")

    # Payments
    pending_order_reverify_minutes: int = Field(default=10, alias="PENDING_ORDER_REVERIFY_MINUTES")
    order_expiry_hours: int = Field(default=24, alias="ORDER_EXPIRY_HOURS")

    # Abuse bounds on checkout (template parameters; generous locally, see localdev/parameters.json)
    max_pending_orders_per_buyer: int = Field(default=10, alias="MAX_PENDING_ORDERS_PER_BUYER")

    # Refunds: a creator refunds within this many days of payment (an admin at any time)
    refund_window_days: int = Field(default=30, alias="REFUND_WINDOW_DAYS")
    # A refund whose gateway answer was lost and that the gateway still does not list after this long
    # was never made: it is closed as failed (its amount and reservation are freed).
    refund_unclear_after_minutes: int = Field(default=15, alias="REFUND_UNCLEAR_AFTER_MINUTES")

    # Reconcilers (scheduled): each run stops at its time budget and goes on from its cursor next time.
    reconciler_budget_seconds: float = Field(default=75.0, alias="RECONCILER_BUDGET_SECONDS")
    reconciler_concurrency: int = Field(default=8, alias="RECONCILER_CONCURRENCY")
    # A first check of a new marker gets up to this share of the budget before the sweep of older ones.
    reconciler_fresh_share: float = Field(default=0.5, alias="RECONCILER_FRESH_SHARE")
    # Where a reconciler with no cursor yet (its first run) starts looking, in days back; from then on its
    # cursor keeps the oldest day that still holds markers, so a later downtime of any length strands nothing.
    reconciler_first_lookback_days: int = Field(default=35, alias="RECONCILER_FIRST_LOOKBACK_DAYS")

    # Tests only (the fault-storm stack sets it; absent from template.yaml): JSON such as
    # {"payments": 0.2, "delivery": 0.2, "seed": 7}: each consumer record fails with that chance,
    # before or after its handler ran (market.consumers).
    fault_injection: OptionalStr = Field(default=None, alias="FAULT_INJECTION")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this container, read once."""
    return Settings.model_validate(dict(os.environ))
