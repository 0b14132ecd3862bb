"""``make sam-local``: the same functions in Lambda containers, through ``sam local``.

Starts, and on Ctrl-C stops, everything it needs that is not already running:

1. a Docker daemon (``dockerd``, only when none answers; stopped again at the end);
2. the Lambda base image (``localdev/lambda-image``: built locally, never pulled; skipped when present);
3. the local stack in sam-local mode (AWS emulator, Paystack emulator, pumps, helpers on :3003);
4. ``sam local start-lambda`` on :3002 (the pumps and schedules invoke the containers through it)
   and ``sam local start-api`` on :3000, from the x86_64 build in ``.aws-sam/sam-local/build``
   (``make sam-local-build``, run first), with ``--env-vars`` written by the stack. Each gets the built
   template less the functions it never serves (start-api: the functions with HTTP routes;
   start-lambda: the others), so that ``--warm-containers EAGER`` starts each function once.

``python -m localdev.sam_local --run -- CMD...`` runs CMD against that stack (with the
variables the integration tests read) and then stops everything: ``make test-sam-local``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import requests

from localdev.stack import HOST, SAM_LOCAL, SAM_LOCAL_DIR, LocalStack, StackConfig, ready_banner
from localdev.template import REPO_ROOT

log = logging.getLogger("localdev.sam_local")
SAM = REPO_ROOT / ".venv-sam" / "bin" / "sam"
BUILD_DIR = REPO_ROOT / ".aws-sam" / "sam-local" / "build"
LAMBDA_IMAGE = REPO_ROOT / "localdev" / "lambda-image"


def lambda_architecture() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in {"aarch64", "arm64"} else "x86_64"


class Docker:
    """A Docker daemon to run the Lambda containers: the one already running, or one started here."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @staticmethod
    def answers() -> bool:
        try:
            return subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def ensure(self) -> None:
        if self.answers():
            return
        log.info("no Docker daemon answers: starting dockerd (log: .localdev/sam-local/dockerd.log)")
        SAM_LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        self._log = (SAM_LOCAL_DIR / "dockerd.log").open("wb")
        self.process = subprocess.Popen(["dockerd"], stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("dockerd exited; see .localdev/sam-local/dockerd.log")
            if self.answers():
                return
            time.sleep(0.3)
        raise RuntimeError("dockerd did not answer within 60 s; see .localdev/sam-local/dockerd.log")

    @staticmethod
    def bridge_gateway() -> str:
        """The host's address on Docker's default bridge: where the containers reach the emulators."""
        result = subprocess.run(
            ["docker", "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        return result.stdout.strip()

    def stop(self) -> None:
        """Stop dockerd if (and only if) it was started here."""
        if self.process is None:
            return
        log.info("stopping the dockerd started for sam-local (pid %s)", self.process.pid)
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        self.process = None


class SamProcess:
    """One ``sam local`` server as a child in its own session (so a terminal's Ctrl-C reaches us first)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.log_path = SAM_LOCAL_DIR / f"{name}.log"
        self._log: TextIO = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(SAM), *args],
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        # SAM CLI removes its warm containers on SIGINT (as on Ctrl-C).
        if self.alive():
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop on SIGINT; killing it", self.name)
                self.process.kill()
                self.process.wait()
        self._log.close()


def sam_environment() -> dict[str, str]:
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "__SAM_CLI_APP_DIR": str(REPO_ROOT / ".sam-app"),
        # What the containers get as AWS_REGION and credentials (SAM passes its own).
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "AWS_REGION": os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    for leaked in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        env.pop(leaked, None)
    return env


def split_template(build_dir: Path) -> tuple[Path, Path]:
    """The built template twice: with only the functions that have HTTP routes, and with only the others.

    Written beside the built template, so that its relative code paths stay valid.
    """
    from localdev.template import load_template

    template = load_template(build_dir / "template.yaml")
    resources = template["Resources"]

    def serves_http(resource: dict[str, Any]) -> bool:
        events = resource.get("Properties", {}).get("Events", {}) or {}
        return any(event.get("Type") in {"HttpApi", "Api"} for event in events.values())

    functions = {k for k, v in resources.items() if v.get("Type") == "AWS::Serverless::Function"}
    http = {k for k in functions if serves_http(resources[k])}
    paths = []
    for name, drop in (("template-api.json", functions - http), ("template-events.json", http)):
        part = {**template, "Resources": {k: v for k, v in resources.items() if k not in drop}}
        path = build_dir / name
        path.write_text(json.dumps(part, indent=1))
        paths.append(path)
    return paths[0], paths[1]


def sam_args(command: str, template: Path, port: int, config: StackConfig, architecture: str) -> list[str]:
    return [
        "local",
        command,
        "--template",
        str(template),
        "--host",
        HOST,
        "--port",
        str(port),
        "--env-vars",
        str(config.env_vars_path),
        "--parameter-overrides",
        f"Architecture={architecture} LocalAwsEndpointUrl={config.function_aws_endpoint}",
        "--warm-containers",
        "EAGER",
        "--docker-network",
        "host",
        "--skip-pull-image",
        "--region",
        config.region,
    ]


def wait_until_ready(config: StackConfig, servers: list[SamProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    api_ready = lambda_ready = False
    while time.monotonic() < deadline:
        for server in servers:
            if not server.alive():
                raise RuntimeError(f"{server.name} exited:\n{server.tail()}")
        if not api_ready:
            with contextlib.suppress(requests.RequestException):
                api_ready = requests.get(f"{config.api_url}/health", timeout=30).status_code == 200
        if not lambda_ready:
            # Any HTTP answer from the Invoke API's server means it listens.
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{config.lambda_url}/", timeout=5)
                lambda_ready = True
        if api_ready and lambda_ready:
            return
        time.sleep(0.5)
    raise RuntimeError(f"sam local not ready after {timeout:.0f} s:\n" + "\n".join(s.tail() for s in servers))


def test_environment(config: StackConfig) -> dict[str, str]:
    """What the integration tests read to find a running sam-local stack."""
    return {
        **os.environ,
        "LOCAL_STACK_EXTERNAL": "1",
        "LOCAL_STACK_MODE": SAM_LOCAL,
        "LOCAL_API_PORT": str(config.api_port),
        "LOCAL_GATEWAY_PORT": str(config.gateway_port),
        "LOCAL_FLUTTERWAVE_PORT": str(config.flutterwave_port),
        "LOCAL_AWS_PORT": str(config.aws_port),
        "LOCAL_AWS_ENDPOINT": config.function_aws_endpoint,
        "LOCAL_HELPERS_URL": config.helpers_url,
    }


def already_running(config: StackConfig) -> bool:
    """A sam-local stack already answers on these ports (e.g. `make sam-local` in another terminal)."""
    try:
        functions = requests.get(f"{config.helpers_url}/_local/functions", timeout=5).json()
    except (requests.RequestException, ValueError):
        return False
    return any(entry.get("mode") == SAM_LOCAL for entry in functions.values())


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("LOCAL_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="python -m localdev.sam_local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ready-timeout", type=float, default=300.0, help="seconds to wait for sam local")
    parser.add_argument("--skip-build", action="store_true", help="use .aws-sam/sam-local/build as it is")
    parser.add_argument("--run", nargs=argparse.REMAINDER, help="run this command against the stack, then stop")
    args = parser.parse_args(argv)
    command = args.run[1:] if args.run and args.run[0] == "--" else args.run

    probe = StackConfig.from_env(mode=SAM_LOCAL)
    if already_running(probe):
        if command is None:
            log.error("a sam-local stack is already running (helpers on %s)", probe.helpers_url)
            return 1
        # Not rebuilt: its containers run the build directory as it is.
        log.info("a sam-local stack is already running: using it")
        return subprocess.run(command, env=test_environment(probe), check=False).returncode
    if not args.skip_build:
        subprocess.run(["make", "--no-print-directory", "sam-local-build"], cwd=REPO_ROOT, check=True)

    stopped = threading.Event()

    def on_signal(signum: int, _: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    started = time.monotonic()
    docker = Docker()
    stack: LocalStack | None = None
    servers: list[SamProcess] = []
    seen_containers: set[str] = set()
    try:
        if shutil.which("dockerd") is None or shutil.which("debootstrap") is None:
            # Installs them (Debian packages) and builds the image with a dockerd of its own.
            subprocess.run(["bash", str(LAMBDA_IMAGE)], check=True)
        docker.ensure()
        subprocess.run(["bash", str(LAMBDA_IMAGE)], check=True)  # nothing to do when the image exists
        os.environ["LOCAL_FUNCTION_HOST"] = Docker.bridge_gateway()
        config = StackConfig.from_env(mode=SAM_LOCAL)
        stack = LocalStack(config)
        stack.start()
        architecture = lambda_architecture()
        env = sam_environment()
        SAM_LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        log.info("starting sam local start-lambda and start-api (logs: .localdev/sam-local/*.log)")
        api_template, events_template = split_template(BUILD_DIR)
        servers.append(
            SamProcess(
                "start-lambda",
                sam_args("start-lambda", events_template, config.lambda_port, config, architecture),
                env,
            )
        )
        servers.append(
            SamProcess("start-api", sam_args("start-api", api_template, config.api_port, config, architecture), env)
        )
        wait_until_ready(config, servers, args.ready_timeout)
        seen_containers.update(container_ids())
        sys.stderr.write(ready_banner(config))
        sys.stderr.write(f"Started in {time.monotonic() - started:.0f} s.")
        if command is None:
            sys.stderr.write(" Ctrl-C stops everything.\n\n")
            sys.stderr.flush()
            failed = False
            while not stopped.wait(1):
                for server in servers:
                    if not server.alive():
                        log.error("%s exited:\n%s", server.name, server.tail())
                        failed = True
                        stopped.set()
            return 1 if failed else 0
        sys.stderr.write(f" Running: {' '.join(command)}\n\n")
        sys.stderr.flush()
        run_started = time.monotonic()
        result = subprocess.run(command, env=test_environment(config), check=False)
        log.info("command finished in %.0f s with exit code %s", time.monotonic() - run_started, result.returncode)
        return result.returncode
    finally:
        sys.stderr.write("stopping sam local, the local stack and what they started...\n")
        seen_containers.update(container_ids())
        for server in reversed(servers):
            server.stop()
        remove_containers(seen_containers)
        if stack is not None:
            stack.stop()
        docker.stop()


def container_ids() -> set[str]:
    result = subprocess.run(
        ["docker", "ps", "-aq", "--no-trunc", "--filter", "label=sam.cli.container.type=lambda"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return set(result.stdout.split()) if result.returncode == 0 else set()


def remove_containers(ids: set[str]) -> None:
    """Remove the Lambda containers of this run that SAM CLI left behind (it removes them on a clean stop)."""
    left = ids & container_ids()
    if left:
        log.info("removing %d Lambda containers left behind", len(left))
        subprocess.run(["docker", "rm", "-f", *sorted(left)], capture_output=True, timeout=120, check=False)


if __name__ == "__main__":
    raise SystemExit(main())
