"""One function instance: a child process that imports a handler once and serves invocations.

Run by the local stack as ``python localdev/worker.py`` with exactly the environment the
template gives the function (plus what the Lambda runtime itself would set). Protocol:
one JSON request per line on stdin, one JSON reply per line on the file descriptor named
by ``LOCALDEV_REPLY_FD``; the handler's own stdout (its logs) goes to stderr.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from typing import Any


class LambdaContext:
    """What the Lambda runtime passes as ``context``."""

    def __init__(self, function_name: str, memory_mb: int, deadline: float, region: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def main() -> None:
    reply = os.fdopen(int(os.environ.pop("LOCALDEV_REPLY_FD")), "w", buffering=1)
    # The handler's prints and log lines must not mix with the replies: send fd 1 to stderr.
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", buffering=1)

    code_dir = os.environ.pop("LOCALDEV_CODE_DIR")
    layer_dirs = [d for d in os.environ.pop("LOCALDEV_LAYER_DIRS", "").split(os.pathsep) if d]
    handler_spec = os.environ.pop("LOCALDEV_HANDLER")
    # As on Lambda: the function's code first (/var/task), then its layers (/opt/python).
    sys.path[:0] = [code_dir, *layer_dirs]
    os.chdir(code_dir)

    module_name, _, function_name = handler_spec.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        handler = getattr(module, function_name)
    except Exception as error:  # noqa: BLE001 - an init failure is reported to the stack, like Runtime.ImportModuleError
        reply.write(json.dumps({"ready": False, "error": _error(error)}) + "\n")
        return
    reply.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")

    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
    memory = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
    region = os.environ.get("AWS_REGION", "us-east-1")
    clock = _clock_module()
    for line in sys.stdin:
        request = json.loads(line)
        if clock is not None:
            clock.set_offset(float(request.get("clock_offset", 0)))
        context = LambdaContext(name, memory, float(request["deadline"]), region)
        try:
            result = handler(request["event"], context)
            reply.write(json.dumps({"ok": True, "result": result}, default=str) + "\n")
        except Exception as error:  # noqa: BLE001 - a handler error is an invocation error, as on Lambda
            sys.stderr.write(traceback.format_exc())
            reply.write(json.dumps({"ok": False, "error": _error(error)}) + "\n")


def _clock_module() -> Any:
    # Local-only: the stack may shift market.clock (expiry tests without sleeping).
    try:
        return importlib.import_module("market.clock")
    except ImportError:
        return None


def _error(error: BaseException) -> dict[str, str]:
    return {"errorType": type(error).__name__, "errorMessage": str(error)}


if __name__ == "__main__":
    main()
