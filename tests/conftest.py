"""Root fixtures: fake AWS credentials and a fixed local environment, never a real account."""

from __future__ import annotations

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "JWT_SIGNING_KEY": "unit-test-signing-key-0123456789abcdef",
        "PAYSTACK_SECRET_KEY": "sk_test_local",
        "POWERTOOLS_SERVICE_NAME": "marketplace-tests",
        "POWERTOOLS_METRICS_NAMESPACE": "MarketplaceTests",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

# The local stack fixture (integration, security and load tests share one stack per run).
from collections.abc import Iterator
from functools import cached_property

import pytest

from tests.stackctl import StackProcess


class Stack(StackProcess):
    """The running stack plus the names of what the template created in it."""

    stack_name = "market-local"

    @cached_property
    def table_name(self) -> str:
        return f"{self.stack_name}-Table"

    @cached_property
    def bucket_name(self) -> str:
        return f"{self.stack_name}-filesbucket"

    @cached_property
    def queue_urls(self) -> dict[str, str]:
        sqs = self.client("sqs")
        urls = {}
        for url in sqs.list_queues(QueueNamePrefix=f"{self.stack_name}-").get("QueueUrls", []):
            urls[url.rsplit("/", 1)[-1].removeprefix(f"{self.stack_name}-")] = url
        return urls

    @cached_property
    def running_mode(self) -> str:
        return self.mode()

    def set_clock(self, offset_seconds: float) -> None:
        if self.running_mode == "sam-local":
            if offset_seconds:
                pytest.skip("sam-local mode: the clock shift cannot reach the Lambda containers, which keep real time")
            return  # their clock is real time already
        super().set_clock(offset_seconds)

    def queue_depth(self, logical_id: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_urls[logical_id],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    api_port = int(os.environ.get("LOCAL_API_PORT", "3000"))
    gateway_port = int(os.environ.get("LOCAL_GATEWAY_PORT", "3001"))
    aws_port = int(os.environ.get("LOCAL_AWS_PORT", "5000"))
    flutterwave_port = int(os.environ.get("LOCAL_FLUTTERWAVE_PORT", "3004"))
    if os.environ.get("LOCAL_STACK_EXTERNAL") == "1":
        running = Stack(
            api=f"http://127.0.0.1:{api_port}",
            gateway=f"http://127.0.0.1:{gateway_port}",
            aws_endpoint=os.environ.get("LOCAL_AWS_ENDPOINT", f"http://127.0.0.1:{aws_port}"),
            log_path=os.devnull,  # type: ignore[arg-type]
            helpers=os.environ.get("LOCAL_HELPERS_URL", ""),
            flutterwave=f"http://127.0.0.1:{flutterwave_port}",
        )
        running.wait_ready(120)
        expected = os.environ.get("LOCAL_STACK_MODE")
        if expected and running.running_mode != expected:
            pytest.fail(f"the running stack reports mode {running.running_mode!r}, not {expected!r}")
        yield running
        return
    started = Stack.start(
        api_port=api_port,
        gateway_port=gateway_port,
        aws_port=aws_port,
        flutterwave_port=flutterwave_port,
        log_name=f"integration-{api_port}",
    )
    # Re-type as the richer Stack view (same process and URLs).
    yield started  # type: ignore[misc]
    started.stop()
