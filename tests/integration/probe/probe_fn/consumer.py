"""Queue consumer: counts each delivery in the probe table; bodies starting with "fail" fail."""

import json
import os
from urllib.parse import unquote_plus

import boto3

table = boto3.resource("dynamodb").Table(os.environ["PROBE_TABLE"])


def _count(key):
    names = {"#n": "deliveries"}
    values = {":one": 1}
    table.update_item(
        Key={"PK": key},
        UpdateExpression="ADD #n :one",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def handler(event, context):
    failures = []
    for record in event["Records"]:
        body = record["body"]
        if body.startswith("{"):
            s3_event = json.loads(body)
            # Object keys arrive URL-encoded.
            for s3_record in s3_event.get("Records", []):
                _count("s3#" + unquote_plus(s3_record["s3"]["object"]["key"]))
            continue
        _count("msg#" + body)
        receive_count = int(record["attributes"]["ApproximateReceiveCount"])
        if body.startswith("fail-always") or (body.startswith("fail-once") and receive_count == 1):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def tick(event, context):
    _count("tick")
    return {"source": event["source"], "detail_type": event["detail-type"]}
