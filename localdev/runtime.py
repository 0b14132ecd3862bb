"""Function instances for the local stack.

Embedded mode (``FunctionRuntime``): a pool of worker processes per function. Each worker
is a separate Python process with the function's own environment (as the template sets
it), so a missing variable or a module-level mistake shows up locally as it would on
Lambda. Instances start on demand, up to a concurrency limit, and are reused warm; an
instance that times out is killed, as Lambda does.

``sam local`` mode (``LambdaInvokeRuntime``): the same ``invoke()``, through the Lambda
Invoke API of ``sam local start-lambda``, so the functions run in Lambda containers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from localdev.template import FunctionSpec

WORKER_SCRIPT = Path(__file__).resolve().parent / "worker.py"
log = logging.getLogger("localdev.runtime")


class InvocationError(Exception):
    """The function raised, timed out or could not start."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


class Invoker(Protocol):
    """What the gateway and the pumps need from a function: its spec and a synchronous invoke."""

    spec: FunctionSpec

    def invoke(self, event: dict[str, Any]) -> Any: ...

    def close(self) -> None: ...


@dataclass
class Worker:
    process: subprocess.Popen[str]
    replies: TextIO

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait(timeout=5)
        self.replies.close()


class FunctionRuntime:
    """Invokes one function of the template through a pool of warm workers."""

    def __init__(
        self, spec: FunctionSpec, environment: dict[str, str], *, max_concurrency: int, clock: ClockShift
    ) -> None:
        self.spec = spec
        self.environment = environment
        self.max_concurrency = max_concurrency
        self.clock = clock
        self._idle: list[Worker] = []
        self._workers: dict[int, Worker] = {}
        self._count = 0
        self._lock = threading.Condition()
        self._closed = False

    # ------------------------------------------------------------------ pool
    def _spawn(self) -> Worker:
        read_fd, write_fd = os.pipe()
        env = {
            **self.environment,
            "LOCALDEV_REPLY_FD": str(write_fd),
            "LOCALDEV_CODE_DIR": str(self.spec.code_dir),
            "LOCALDEV_LAYER_DIRS": os.pathsep.join(str(d) for d in self.spec.layer_dirs),
            "LOCALDEV_HANDLER": self.spec.handler,
        }
        process = subprocess.Popen(
            [sys.executable, "-u", str(WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=None,
            stderr=None,
            env=env,
            text=True,
            pass_fds=(write_fd,),
            start_new_session=False,
        )
        os.close(write_fd)
        replies = os.fdopen(read_fd, "r")
        worker = Worker(process, replies)
        hello = replies.readline()
        if not hello:
            worker.kill()
            raise InvocationError("Runtime.ExitError", f"{self.spec.logical_id} exited during init")
        status = json.loads(hello)
        if not status.get("ready"):
            worker.kill()
            error = status.get("error", {})
            raise InvocationError("Runtime.ImportModuleError", f"{error.get('errorType')}: {error.get('errorMessage')}")
        log.debug("started instance of %s (pid %s)", self.spec.logical_id, process.pid)
        with self._lock:
            self._workers[process.pid] = worker
        return worker

    def _acquire(self) -> Worker:
        with self._lock:
            while True:
                if self._closed:
                    raise InvocationError("Runtime.Shutdown", "the local stack is stopping")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker
                    self._count -= 1
                if self._count < self.max_concurrency:
                    self._count += 1
                    break
                self._lock.wait()
        try:
            return self._spawn()
        except BaseException:
            with self._lock:
                self._count -= 1
                self._lock.notify()
            raise

    def _release(self, worker: Worker | None) -> None:
        with self._lock:
            if worker is not None and worker.alive() and not self._closed:
                self._idle.append(worker)
            else:
                self._count -= 1
                if worker is not None:
                    worker.kill()
            self._lock.notify()

    def instance_pids(self) -> list[int]:
        with self._lock:
            return [pid for pid, worker in self._workers.items() if worker.alive()]

    # ------------------------------------------------------------------ invoke
    def invoke(self, event: dict[str, Any]) -> Any:
        worker = self._acquire()
        deadline = time.time() + self.spec.timeout
        request = {"event": event, "deadline": deadline, "clock_offset": self.clock.offset}
        outcome: dict[str, Any] = {}

        def read_reply() -> None:
            outcome["line"] = worker.replies.readline()

        try:
            assert worker.process.stdin is not None  # noqa: S101 - Popen was given stdin=PIPE
            worker.process.stdin.write(json.dumps(request) + "\n")
            worker.process.stdin.flush()
            reader = threading.Thread(target=read_reply, daemon=True)
            reader.start()
            reader.join(self.spec.timeout + 0.5)
        except (BrokenPipeError, OSError) as error:
            self._release(None if not worker.alive() else worker)
            raise InvocationError("Runtime.ExitError", str(error)) from error
        line = outcome.get("line")
        if line is None:
            worker.kill()
            self._release(None)
            raise InvocationError("Sandbox.Timedout", f"Task timed out after {self.spec.timeout} seconds")
        if not line:
            self._release(None)
            raise InvocationError("Runtime.ExitError", f"{self.spec.logical_id} exited during the invocation")
        self._release(worker)
        reply = json.loads(line)
        if not reply.get("ok"):
            failure = reply.get("error", {})
            raise InvocationError(failure.get("errorType", "Error"), failure.get("errorMessage", ""))
        return reply.get("result")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = [w for w in self._workers.values() if w not in idle]
            self._lock.notify_all()
        for worker in busy:
            worker.kill()
        # End of input ends an idle worker's loop; give them all one short grace period together.
        for worker in idle:
            if worker.process.stdin is not None:
                worker.process.stdin.close()
        deadline = time.monotonic() + 1.5
        for worker in idle:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            worker.kill()


class ClockShift:
    """The local clock offset, passed to every invocation (tests of expiry and lockout windows)."""

    def __init__(self) -> None:
        self.offset = 0.0


class LambdaInvokeRuntime:
    """Invokes one function through the Lambda Invoke API (``sam local start-lambda``): a Lambda container.

    Function errors come back as ``X-Amz-Function-Error`` with the runtime's error payload, as
    from Lambda itself, and become ``InvocationError`` like a failed worker invocation.
    """

    def __init__(self, spec: FunctionSpec, endpoint: str, *, region: str, start_grace_seconds: float = 300.0) -> None:
        import boto3
        from botocore.config import Config

        self.spec = spec
        self.endpoint = endpoint
        self.start_grace_seconds = start_grace_seconds
        # A cold container (or one being created) may take a while before the handler even starts.
        config = Config(
            connect_timeout=5,
            read_timeout=spec.timeout + 90,
            retries={"max_attempts": 1, "mode": "standard"},
        )
        self._client = boto3.client(
            "lambda",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - the local emulator's fixed credentials
            config=config,
        )

    def invoke(self, event: dict[str, Any]) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        payload_in = json.dumps(event).encode()
        # `sam local start-lambda` may still be starting (the pumps start first): wait for it, as
        # Lambda's pollers would wait for a function to become active.
        deadline = time.monotonic() + self.start_grace_seconds
        while True:
            try:
                response = self._client.invoke(
                    FunctionName=self.spec.logical_id, InvocationType="RequestResponse", Payload=payload_in
                )
                break
            except EndpointConnectionError as error:
                if time.monotonic() > deadline:
                    raise InvocationError("Runtime.InvokeError", f"{self.spec.logical_id}: {error}") from error
                time.sleep(1)
            except (BotoCoreError, ClientError) as error:
                raise InvocationError("Runtime.InvokeError", f"{self.spec.logical_id}: {error}") from error
        payload = response["Payload"].read()
        result = json.loads(payload) if payload else None
        if response.get("FunctionError"):
            failure = result if isinstance(result, dict) else {}
            raise InvocationError(
                str(failure.get("errorType", response["FunctionError"])), str(failure.get("errorMessage", payload))
            )
        return result

    def close(self) -> None:
        self._client.close()
