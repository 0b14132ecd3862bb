"""The local stack itself, on a probe template: routing, payload-2.0 events, pumps, schedules."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import wait_until
from tests.stackctl import StackProcess

PROBE_TEMPLATE = Path(__file__).parent / "probe" / "template.yaml"

pytestmark = pytest.mark.skipif(
    os.environ.get("LOCAL_STACK_MODE") == "sam-local",
    reason="checks the embedded stack's own gateway and pumps on a probe template (`make test` runs it); "
    "it says nothing about the sam-local path",
)


@pytest.fixture(scope="module")
def probe() -> Iterator[StackProcess]:
    offset = int(os.environ.get("PROBE_PORT_OFFSET", "100"))
    stack = StackProcess.start(
        api_port=3000 + offset,
        gateway_port=3001 + offset,
        aws_port=5000 + offset,
        template=PROBE_TEMPLATE,
        log_name="probe",
        extra_env={"LOCAL_SQS_VISIBILITY_TIMEOUT": "1"},
    )
    yield stack
    stack.stop()


def echo(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json()["event"])


def deliveries(probe: StackProcess, key: str) -> int:
    table = probe.client("dynamodb")
    name = next(t for t in table.list_tables()["TableNames"] if t.endswith("ProbeTable"))
    item = table.get_item(TableName=name, Key={"PK": {"S": key}}, ConsistentRead=True).get("Item")
    return int(item["deliveries"]["N"]) if item else 0


# ---------------------------------------------------------------- routing


def test_path_parameters_reach_the_handler(probe: StackProcess) -> None:
    event = echo(probe.http.get(f"{probe.api}/items/abc-123/parts/7"))
    assert event["pathParameters"] == {"id": "abc-123", "part": "7"}
    assert event["routeKey"] == "GET /items/{id}/parts/{part}"
    assert event["requestContext"]["routeKey"] == "GET /items/{id}/parts/{part}"


def test_literal_route_wins_over_a_parameter_route(probe: StackProcess) -> None:
    assert echo(probe.http.get(f"{probe.api}/items/special"))["routeKey"] == "GET /items/special"
    assert echo(probe.http.get(f"{probe.api}/items/other"))["routeKey"] == "GET /items/{id}"


def test_method_route_wins_over_any_and_any_takes_the_rest(probe: StackProcess) -> None:
    assert echo(probe.http.get(f"{probe.api}/items/x"))["routeKey"] == "GET /items/{id}"
    assert echo(probe.http.delete(f"{probe.api}/items/x"))["routeKey"] == "ANY /items/{id}"


def test_greedy_proxy_takes_the_rest_of_the_path(probe: StackProcess) -> None:
    event = echo(probe.http.put(f"{probe.api}/files/a/b/c.txt"))
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert event["routeKey"] == "ANY /files/{proxy+}"


def test_unknown_route_goes_to_default(probe: StackProcess) -> None:
    response = probe.http.get(f"{probe.api}/nothing/here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["routeKey"] == "$default"
    # A wrong method on a known path is unmatched too.
    assert probe.http.post(f"{probe.api}/items/special/parts").json()["routeKey"] == "$default"


def test_headers_query_cookies_and_source_ip_arrive_as_api_gateway_passes_them(probe: StackProcess) -> None:
    response = probe.http.post(
        f"{probe.api}/echo?a=1&b=two&a=3&empty=",
        data='{"x": 1}',
        headers={"Content-Type": "application/json", "X-Custom-Thing": "Value", "Cookie": "c1=v1; c2=v2"},
    )
    event = echo(response)
    assert event["version"] == "2.0"
    assert event["headers"]["x-custom-thing"] == "Value"
    assert "X-Custom-Thing" not in event["headers"]
    assert event["queryStringParameters"] == {"a": "1,3", "b": "two", "empty": ""}
    assert event["rawQueryString"] == "a=1&b=two&a=3&empty="
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["body"] == '{"x": 1}'
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert 0 < int(response.json()["remaining_ms"]) <= 5000
    # The handler's cookies come back as Set-Cookie, its headers as headers.
    assert response.headers["x-function"] == "echo"
    assert "probe=1" in response.headers["set-cookie"]


def test_binary_bodies_round_trip_through_base64(probe: StackProcess) -> None:
    payload = bytes(range(256)) * 4
    response = probe.http.post(
        f"{probe.api}/binary", data=payload, headers={"Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 200
    assert response.headers["x-length"] == str(len(payload))
    assert response.content == payload[::-1]


def test_binary_body_is_base64_in_the_event(probe: StackProcess) -> None:
    payload = b"\x89PNG\r\n\x1a\n\x00\xff"
    event = echo(probe.http.post(f"{probe.api}/echo", data=payload, headers={"Content-Type": "image/png"}))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_a_function_past_its_timeout_answers_500(probe: StackProcess) -> None:
    response = probe.http.get(f"{probe.api}/slow", timeout=30)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    # The killed instance is replaced: the function still answers.
    assert echo(probe.http.get(f"{probe.api}/items/special"))["routeKey"] == "GET /items/special"


def test_each_function_gets_the_environment_the_template_gives_it(probe: StackProcess) -> None:
    assert probe.http.get(f"{probe.api}/items/1").headers["x-function"] == "echo"
    assert probe.http.get(f"{probe.api}/nowhere").json()["routeKey"] == "$default"
    functions = probe.functions()
    assert {"EchoFunction", "DefaultFunction", "ConsumerFunction", "TickFunction"} <= set(functions)
    assert functions["EchoFunction"]["instances"], "a warm instance of EchoFunction should exist"
    assert set(functions["EchoFunction"]["instances"]).isdisjoint(functions["DefaultFunction"]["instances"])


# ---------------------------------------------------------------- pumps


def queue_url(probe: StackProcess, logical_id: str) -> str:
    sqs = probe.client("sqs")
    return next(u for u in sqs.list_queues()["QueueUrls"] if u.endswith("-" + logical_id))


def test_good_records_are_deleted_and_failed_ones_come_back(probe: StackProcess) -> None:
    sqs = probe.client("sqs")
    url = queue_url(probe, "WorkQueue")
    tag = os.urandom(4).hex()
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "1", "MessageBody": f"ok-{tag}"},
            {"Id": "2", "MessageBody": f"fail-once-{tag}"},
        ],
    )
    # The failing record is delivered again after the visibility timeout and then succeeds ...
    wait_until(lambda: deliveries(probe, f"msg#fail-once-{tag}") >= 2, timeout=20, what="redelivery")
    # ... while the good record of the same batch was not redelivered.
    assert deliveries(probe, f"msg#ok-{tag}") == 1
    wait_until(lambda: _depth(probe, url) == 0, timeout=20, what="queue drained")
    assert deliveries(probe, f"msg#fail-once-{tag}") == 2


def test_a_poison_message_lands_in_the_dlq_after_max_receive_count(probe: StackProcess) -> None:
    sqs = probe.client("sqs")
    url = queue_url(probe, "WorkQueue")
    dlq = queue_url(probe, "WorkDLQ")
    tag = os.urandom(4).hex()
    sqs.send_message(QueueUrl=url, MessageBody=f"fail-always-{tag}")

    def in_dlq() -> list[str]:
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        return [m["Body"] for m in messages if m["Body"] == f"fail-always-{tag}"]

    wait_until(in_dlq, timeout=30, what="poison message in the DLQ")
    # maxReceiveCount is 2 in the probe template: delivered twice, then moved.
    assert deliveries(probe, f"msg#fail-always-{tag}") == 2


def test_an_s3_put_reaches_its_function(probe: StackProcess) -> None:
    s3 = probe.client("s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].endswith("bucket"))
    key = f"uploads/{os.urandom(4).hex()}.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"hello")
    wait_until(lambda: deliveries(probe, f"s3#{key}") == 1, timeout=20, what="S3 event delivered")


def test_a_schedule_fires_its_function(probe: StackProcess) -> None:
    before = deliveries(probe, "tick")
    result = probe.http.post(f"{probe.api}/_local/schedules/TickFunction/run", timeout=30).json()["result"]
    assert result == {"source": "aws.events", "detail_type": "Scheduled Event"}
    assert deliveries(probe, "tick") == before + 1


def _depth(probe: StackProcess, url: str) -> int:
    attributes = probe.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_ctrl_c_stops_the_stack_and_every_function_instance() -> None:
    import signal

    offset = int(os.environ.get("PROBE_PORT_OFFSET", "100")) + 10
    stack = StackProcess.start(
        api_port=3000 + offset,
        gateway_port=3001 + offset,
        aws_port=5000 + offset,
        template=PROBE_TEMPLATE,
        log_name="probe-ctrl-c",
    )
    assert stack.process is not None
    try:
        echo(stack.http.get(f"{stack.api}/items/special"))
        pids = [pid for function in stack.functions().values() for pid in function["instances"]]
        assert pids, "a function instance should be running"
        stack.process.send_signal(signal.SIGINT)
        assert stack.process.wait(timeout=30) == 0
    finally:
        stack.stop()
    for pid in pids:
        wait_until(lambda pid=pid: not os.path.exists(f"/proc/{pid}"), timeout=10, what=f"instance {pid} gone")
