"""boto3 clients, one per service per container, created on first use."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from market.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    settings = get_settings()
    config = Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=3,
        read_timeout=10,
        signature_version="s3v4" if service == "s3" else None,
        s3={"addressing_style": "path"} if service == "s3" else None,
    )
    return boto3.client(  # type: ignore[call-overload]  # service names are checked by the typed wrappers below
        service, region_name=settings.region, endpoint_url=settings.aws_endpoint_url, config=config
    )


def sqs() -> SQSClient:
    return client("sqs")  # type: ignore[no-any-return]  # typed by the stub above


def s3() -> S3Client:
    return client("s3")  # type: ignore[no-any-return]  # typed by the stub above


def ses() -> SESV2Client:
    return client("sesv2")  # type: ignore[no-any-return]  # typed by the stub above


def reset_clients() -> None:
    """Forget cached clients (tests that start a new mock)."""
    client.cache_clear()
