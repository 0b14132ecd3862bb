"""Start and stop a local stack for tests (a child process tree), and talk to it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = REPO_ROOT / ".localdev"


@dataclass
class StackProcess:
    api: str
    gateway: str
    aws_endpoint: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    region: str = "us-east-1"
    http: requests.Session = field(default_factory=requests.Session)
    # The /_local helpers: on the API port (embedded), or their own port in sam-local mode.
    helpers: str = ""
    flutterwave: str = ""  # the Flutterwave emulator

    def __post_init__(self) -> None:
        self.helpers = self.helpers or self.api

    @classmethod
    def start(
        cls,
        *,
        api_port: int,
        gateway_port: int,
        aws_port: int,
        flutterwave_port: int | None = None,
        template: Path | None = None,
        extra_env: dict[str, str] | None = None,
        log_name: str = "stack",
        timeout: float = 60.0,
    ) -> StackProcess:
        """A stack on these ports; the Flutterwave emulator's defaults to ``gateway_port + 3`` (3001 -> 3004)."""
        flutterwave_port = flutterwave_port or gateway_port + 3
        for port in (api_port, gateway_port, aws_port, flutterwave_port):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    raise RuntimeError(f"port {port} is already in use: stop the other local stack or pick other ports")
        LOG_DIR.mkdir(exist_ok=True)
        log_path = LOG_DIR / f"{log_name}.log"
        env = {
            **os.environ,
            "LOCAL_API_PORT": str(api_port),
            "LOCAL_GATEWAY_PORT": str(gateway_port),
            "LOCAL_AWS_PORT": str(aws_port),
            "LOCAL_FLUTTERWAVE_PORT": str(flutterwave_port),
            "LOCAL_SQS_VISIBILITY_TIMEOUT": "2",
            "LOCAL_MAX_CONCURRENCY": os.environ.get("LOCAL_MAX_CONCURRENCY", "4"),
            **(extra_env or {}),
        }
        for leaked in ("AWS_ENDPOINT_URL", "TABLE_NAME", "BUCKET_NAME", "JWT_SIGNING_KEY", "CURSOR_SIGNING_KEY"):
            env.pop(leaked, None)
        args = [sys.executable, "-m", "localdev"] + ([str(template)] if template else [])
        with log_path.open("wb") as log:
            process = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        stack = cls(
            api=f"http://127.0.0.1:{api_port}",
            gateway=f"http://127.0.0.1:{gateway_port}",
            aws_endpoint=f"http://127.0.0.1:{aws_port}",
            log_path=log_path,
            process=process,
            flutterwave=f"http://127.0.0.1:{flutterwave_port}",
        )
        try:
            stack.wait_ready(timeout)
        except BaseException:
            stack.stop()
            raise
        return stack

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"local stack exited early:\n{self.log_path.read_text()[-4000:]}")
            try:
                # The first request starts the auth function cold: give it time on a busy machine.
                if requests.get(f"{self.api}/health", timeout=30).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"local stack not ready after {timeout}s:\n{self.log_path.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    # ------------------------------------------------------------------ AWS emulator
    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    # ------------------------------------------------------------------ local helpers
    def functions(self) -> dict[str, Any]:
        return dict(self.http.get(f"{self.helpers}/_local/functions", timeout=30).json())

    def mode(self) -> str:
        """``embedded`` (worker processes) or ``sam-local`` (Lambda containers), as the stack reports it."""
        modes = {entry.get("mode", "embedded") for entry in self.functions().values()}
        return "sam-local" if "sam-local" in modes else "embedded"

    def aws_requests(self) -> list[dict[str, Any]]:
        """sam-local mode: the latest calls the Lambda containers made to the AWS emulator, newest first."""
        return list(self.http.get(f"{self.helpers}/_local/aws-requests", timeout=10).json()["items"])

    def outbox(self, to: str | None = None) -> list[dict[str, Any]]:
        params = {"to": to} if to else None
        return list(self.http.get(f"{self.helpers}/_local/outbox", params=params, timeout=10).json()["items"])

    def set_clock(self, offset_seconds: float) -> None:
        response = self.http.post(f"{self.helpers}/_local/clock", json={"offset_seconds": offset_seconds}, timeout=10)
        response.raise_for_status()

    def run_schedule(self, function_logical_id: str) -> Any:
        response = self.http.post(f"{self.helpers}/_local/schedules/{function_logical_id}/run", timeout=180)
        response.raise_for_status()
        return response.json()["result"]
