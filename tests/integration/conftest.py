"""Integration fixtures: the local stack, started once per run, ready when /health answers.

With LOCAL_STACK_EXTERNAL=1 the tests use a stack that is already running on the
default ports (``make run`` or ``make sam-local``) instead of starting one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property
from typing import Any

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
    if os.environ.get("LOCAL_STACK_EXTERNAL") == "1":
        running = Stack(
            api=f"http://127.0.0.1:{api_port}",
            gateway=f"http://127.0.0.1:{gateway_port}",
            aws_endpoint=f"http://127.0.0.1:{aws_port}",
            log_path=os.devnull,  # type: ignore[arg-type]
        )
        running.wait_ready(120)
        yield running
        return
    started = Stack.start(api_port=api_port, gateway_port=gateway_port, aws_port=aws_port, log_name="integration")
    # Re-type as the richer Stack view (same process and URLs).
    yield started  # type: ignore[misc]
    started.stop()


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
