"""Start and stop a local stack for tests (a child process tree), and talk to it."""

from __future__ import annotations

import os
import signal
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

    @classmethod
    def start(
        cls,
        *,
        api_port: int,
        gateway_port: int,
        aws_port: int,
        template: Path | None = None,
        extra_env: dict[str, str] | None = None,
        log_name: str = "stack",
        timeout: float = 60.0,
    ) -> StackProcess:
        LOG_DIR.mkdir(exist_ok=True)
        log_path = LOG_DIR / f"{log_name}.log"
        env = {
            **os.environ,
            "LOCAL_API_PORT": str(api_port),
            "LOCAL_GATEWAY_PORT": str(gateway_port),
            "LOCAL_AWS_PORT": str(aws_port),
            "LOCAL_SQS_VISIBILITY_TIMEOUT": "2",
            "LOCAL_MAX_CONCURRENCY": os.environ.get("LOCAL_MAX_CONCURRENCY", "4"),
            **(extra_env or {}),
        }
        for leaked in ("AWS_ENDPOINT_URL", "TABLE_NAME", "BUCKET_NAME", "JWT_SIGNING_KEY"):
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
        )
        stack.wait_ready(timeout)
        return stack

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"local stack exited early:\n{self.log_path.read_text()[-4000:]}")
            try:
                if requests.get(f"{self.api}/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
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
        return dict(self.http.get(f"{self.api}/_local/functions", timeout=10).json())

    def outbox(self, to: str | None = None) -> list[dict[str, Any]]:
        params = {"to": to} if to else None
        return list(self.http.get(f"{self.api}/_local/outbox", params=params, timeout=10).json()["items"])

    def set_clock(self, offset_seconds: float) -> None:
        response = self.http.post(f"{self.api}/_local/clock", json={"offset_seconds": offset_seconds}, timeout=10)
        response.raise_for_status()

    def run_schedule(self, function_logical_id: str) -> Any:
        response = self.http.post(f"{self.api}/_local/schedules/{function_logical_id}/run", timeout=120)
        response.raise_for_status()
        return response.json()["result"]
