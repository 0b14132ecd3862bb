"""Echo handlers: return what the local gateway passed, so tests can compare it with API Gateway's format."""

import base64
import json
import os
import time


def handler(event, context):
    path = event["rawPath"]
    if path == "/binary":
        data = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else event.get("body", "").encode()
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream", "x-length": str(len(data))},
            "body": base64.b64encode(data[::-1]).decode(),
            "isBase64Encoded": True,
        }
    if path == "/slow":
        time.sleep(10)
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-function": os.environ["ECHO_NAME"]},
        "cookies": ["probe=1; Path=/"],
        "body": json.dumps({"event": event, "remaining_ms": context.get_remaining_time_in_millis()}),
    }


def default_handler(event, context):
    return {
        "statusCode": 404,
        "headers": {"content-type": "application/problem+json"},
        "body": json.dumps({"type": "about:blank", "title": "Not Found", "status": 404, "routeKey": event["routeKey"]}),
    }


def health(event, context):
    return {"status": "ok"}
