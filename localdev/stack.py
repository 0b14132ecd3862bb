"""The embedded local stack: one process tree on 127.0.0.1.

- the AWS emulator (moto server), with what ``template.yaml`` declares created in it;
- the local API gateway, routing every ``HttpApi`` event of the template to its function;
- SQS pollers and schedules for the template's event sources;
- the Paystack emulator and the Flutterwave v3 emulator;
- local-only helpers under ``/_local/`` (outbox, clock, schedules, functions, aws-requests).

In ``sam-local`` mode (``python -m localdev --mode sam-local``, started by ``make sam-local``)
the stack runs no function itself: ``sam local start-api`` owns the API port, the pumps and
schedules invoke the functions through ``sam local start-lambda`` (Lambda containers), the
helpers move to their own port, and the emulators also listen on the address the containers
reach the host at (the Docker bridge). The stack writes the ``--env-vars`` file for SAM.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from localdev.gateway import LocalGateway, RouteTable, compile_route
from localdev.outbox import Outbox
from localdev.pumps import Schedule, SqsPoller
from localdev.runtime import ClockShift, FunctionRuntime, InvocationError, Invoker, LambdaInvokeRuntime
from localdev.template import DEFAULT_TEMPLATE, REPO_ROOT, LocalTemplate, load_template, schedule_period_seconds

log = logging.getLogger("localdev")
HOST = "127.0.0.1"
PARAMETERS_FILE = Path(__file__).resolve().parent / "parameters.json"
EMBEDDED, SAM_LOCAL = "embedded", "sam-local"
SAM_LOCAL_DIR = REPO_ROOT / ".localdev" / "sam-local"


@dataclass
class StackConfig:
    template_path: Path = DEFAULT_TEMPLATE
    api_port: int = 3000
    gateway_port: int = 3001
    aws_port: int = 5000
    region: str = "us-east-1"
    stack_name: str = "market-local"
    paystack_secret_key: str = "sk_test_local"  # noqa: S105 - the emulator's published test key
    flutterwave_port: int = 3004
    flutterwave_secret_key: str = "FLWSECK_TEST-local"  # noqa: S105 - the emulator's published test key
    flutterwave_secret_hash: str = "local-hash"  # noqa: S105 - the emulator's webhook hash (verif-hash)
    jwt_signing_key: str = "local-dev-signing-key-not-for-production-0123456789"
    cursor_signing_key: str = "local-dev-cursor-key-not-for-production-0123456789"
    visibility_timeout_override: int | None = None
    schedule_period_override: float | None = None
    max_concurrency: int = 4
    pollers_per_queue: int = 2
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    # Variables every function gets on top of the template's (embedded mode; tests only, never deployed).
    function_env: dict[str, str] = field(default_factory=dict)
    # sam-local mode: the functions run in Lambda containers started by `sam local`.
    mode: str = EMBEDDED
    helpers_port: int = 3003  # the /_local helpers (the API port belongs to `sam local start-api`)
    lambda_port: int = 3002  # `sam local start-lambda` (the Lambda Invoke API the pumps call)
    function_host: str = HOST  # where the functions reach the emulators (sam-local: the Docker bridge)
    env_vars_path: Path = SAM_LOCAL_DIR / "env-vars.json"

    @classmethod
    def from_env(cls, template_path: Path | None = None, mode: str | None = None) -> StackConfig:
        env = os.environ
        mode = mode or env.get("LOCAL_MODE", EMBEDDED)
        if mode not in (EMBEDDED, SAM_LOCAL):
            raise ValueError(f"unknown local mode {mode!r} (embedded or sam-local)")
        overrides = json.loads(PARAMETERS_FILE.read_text())["Parameters"] if PARAMETERS_FILE.exists() else {}
        # LOCAL_PARAMETER_OVERRIDES="HoldDays=NGN:1 PlatformFeeBps=250", as sam --parameter-overrides takes them.
        for pair in shlex.split(env.get("LOCAL_PARAMETER_OVERRIDES", "")):
            name, _, value = pair.partition("=")
            overrides[name] = value
        api_port = int(env.get("LOCAL_API_PORT", "3000"))
        gateway_port = int(env.get("LOCAL_GATEWAY_PORT", "3001"))
        aws_port = int(env.get("LOCAL_AWS_PORT", "5000"))
        flutterwave_port = int(env.get("LOCAL_FLUTTERWAVE_PORT", "3004"))
        function_host = env.get("LOCAL_FUNCTION_HOST", HOST) if mode == SAM_LOCAL else HOST
        # {api} is for people and tests (emailed links); {gateway} is where the functions call Paystack,
        # {flutterwave} where they call Flutterwave (the emulator's root: "{flutterwave}/v3" is Flutterwave's base URL).
        placeholders = {
            "{api}": f"http://{HOST}:{api_port}",
            "{gateway}": f"http://{function_host}:{gateway_port}",
            "{flutterwave}": f"http://{function_host}:{flutterwave_port}",
        }
        overrides = {key: fill_placeholders(value, placeholders) for key, value in overrides.items()}
        if mode == SAM_LOCAL:
            # Declared in template.yaml only for this: empty on AWS, where the variable is then absent.
            overrides["LocalAwsEndpointUrl"] = f"http://{function_host}:{aws_port}"
        return cls(
            template_path=template_path or Path(env.get("LOCAL_TEMPLATE", str(DEFAULT_TEMPLATE))),
            api_port=api_port,
            gateway_port=gateway_port,
            aws_port=aws_port,
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
            paystack_secret_key=env.get("PAYSTACK_SECRET_KEY", "sk_test_local"),
            flutterwave_port=flutterwave_port,
            flutterwave_secret_key=env.get("FLUTTERWAVE_SECRET_KEY", "FLWSECK_TEST-local"),
            flutterwave_secret_hash=env.get("FLUTTERWAVE_SECRET_HASH", "local-hash"),
            visibility_timeout_override=int(env["LOCAL_SQS_VISIBILITY_TIMEOUT"])
            if env.get("LOCAL_SQS_VISIBILITY_TIMEOUT")
            else None,
            schedule_period_override=float(env["LOCAL_SCHEDULE_PERIOD_SECONDS"])
            if env.get("LOCAL_SCHEDULE_PERIOD_SECONDS")
            else None,
            max_concurrency=int(env.get("LOCAL_MAX_CONCURRENCY", "4")),
            parameter_overrides=overrides,
            # LOCAL_FUNCTION_ENV='{"FAULT_INJECTION": "{\\"payments\\": 0.2}"}': JSON of name -> value.
            function_env={str(k): str(v) for k, v in json.loads(env.get("LOCAL_FUNCTION_ENV") or "{}").items()},
            mode=mode,
            helpers_port=int(env.get("LOCAL_HELPERS_PORT", "3003")),
            lambda_port=int(env.get("LOCAL_LAMBDA_PORT", "3002")),
            function_host=function_host,
            env_vars_path=Path(env.get("LOCAL_SAM_ENV_VARS", str(SAM_LOCAL_DIR / "env-vars.json"))),
        )

    @property
    def aws_endpoint(self) -> str:
        return f"http://{HOST}:{self.aws_port}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{HOST}:{self.gateway_port}"

    @property
    def flutterwave_url(self) -> str:
        return f"http://{HOST}:{self.flutterwave_port}"

    @property
    def helpers_url(self) -> str:
        return f"http://{HOST}:{self.helpers_port}" if self.mode == SAM_LOCAL else self.api_url

    @property
    def lambda_url(self) -> str:
        return f"http://{HOST}:{self.lambda_port}"

    @property
    def function_aws_endpoint(self) -> str:
        """The AWS emulator as the functions see it (in sam-local mode the host reaches it there too)."""
        return f"http://{self.function_host}:{self.aws_port}"


def fill_placeholders(value: str, placeholders: dict[str, str]) -> str:
    for placeholder, url in placeholders.items():
        value = value.replace(placeholder, url)
    return value


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.stop_event = threading.Event()
        self.clock = ClockShift()
        self.runtimes: dict[str, Invoker] = {}
        self.schedules: dict[str, Schedule] = {}
        self.pollers: list[SqsPoller] = []
        self.servers: list[BaseWSGIServer] = []
        self.threads: list[threading.Thread] = []
        self.moto: Any = None
        self.emulator: Any = None
        self.flutterwave: Any = None
        self.local: LocalTemplate | None = None
        self.aws_requests = AwsRequestLog()

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        config = self.config
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ.setdefault("AWS_DEFAULT_REGION", config.region)
        from moto.server import ThreadedMotoServer

        from localdev.moto_patches import apply_patches

        apply_patches()
        self.moto = ThreadedMotoServer(ip_address=HOST, port=config.aws_port, verbose=False)
        self.moto.start()
        if config.function_host != HOST:
            # The same emulator (moto's state is per process) where the Lambda containers reach it,
            # recording who called: the proof that a handler ran in a container.
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )

            moto_app = self.aws_requests.wrap(DomainDispatcherApplication(create_backend_app))
            self._serve(moto_app, config.aws_port, "aws-bridge", host=config.function_host, handler=MotoRequestHandler)

        import boto3

        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=config.region)  # noqa: S106
        self.local = LocalTemplate(
            load_template(config.template_path),
            stack_name=config.stack_name,
            region=config.region,
            parameter_overrides=config.parameter_overrides,
            base_dir=config.template_path.resolve().parent,
        )
        self.local.create_resources(
            session, endpoint_url=config.aws_endpoint, visibility_timeout_override=config.visibility_timeout_override
        )
        self._seed_parameters_and_identities(session)

        functions = self.local.functions()
        for spec in functions:
            if config.mode == SAM_LOCAL:
                self.runtimes[spec.logical_id] = LambdaInvokeRuntime(spec, config.lambda_url, region=config.region)
            else:
                self.runtimes[spec.logical_id] = FunctionRuntime(
                    spec, self._function_environment(spec), max_concurrency=config.max_concurrency, clock=self.clock
                )
        if config.mode == SAM_LOCAL:
            self._write_sam_env_vars(functions)

        outbox = Outbox(config.region)
        helpers: dict[str, Callable[[Request], Response]] = {
            "/_local/outbox": lambda request: self._outbox(outbox, request),
            "/_local/clock": self._clock_route,
            "/_local/schedules": self._schedule_route,
            "/_local/functions": self._functions_route,
            "/_local/aws-requests": self._aws_requests_route,
        }
        if config.mode == SAM_LOCAL:
            # `sam local start-api` serves the routes on the API port; the helpers get their own.
            self._serve(LocalGateway(RouteTable([]), helpers), config.helpers_port, "helpers")
        else:
            routes = [
                compile_route(route.method, route.path, self.runtimes[spec.logical_id])
                for spec in functions
                for route in spec.http_routes
            ]
            self._serve(LocalGateway(RouteTable(routes), helpers), config.api_port, "api")

        self._start_gateway_emulators()

        sqs = session.client("sqs", endpoint_url=config.aws_endpoint)
        for spec in functions:
            for source in spec.sqs_sources:
                for _ in range(config.pollers_per_queue):
                    poller = SqsPoller(
                        sqs=sqs,
                        queue_url=self.local.queue_url(source.queue_logical_id),
                        queue_arn=self.local.arn(source.queue_logical_id),
                        runtime=self.runtimes[spec.logical_id],
                        batch_size=source.batch_size,
                        report_batch_item_failures=source.report_batch_item_failures,
                        region=config.region,
                        stop=self.stop_event,
                    )
                    poller.start()
                    self.pollers.append(poller)
            for expression in spec.schedules:
                period = config.schedule_period_override or schedule_period_seconds(expression)
                schedule = Schedule(
                    runtime=self.runtimes[spec.logical_id],
                    period_seconds=period,
                    region=config.region,
                    stop=self.stop_event,
                )
                schedule.start()
                self.schedules[spec.logical_id] = schedule

    def _start_gateway_emulators(self) -> None:
        """Paystack's and Flutterwave's emulators, sending their webhooks to the local API; in sam-local
        mode they also listen where the Lambda containers reach the host (the Docker bridge)."""
        from localdev.flutterwave import FlutterwaveEmulator
        from localdev.paystack import PaystackEmulator

        config = self.config
        self.emulator = PaystackEmulator(
            secret_key=config.paystack_secret_key,
            webhook_url=f"{config.api_url}/webhooks/paystack",
            public_url=config.gateway_url,
        )
        self.flutterwave = FlutterwaveEmulator(
            secret_key=config.flutterwave_secret_key,
            secret_hash=config.flutterwave_secret_hash,
            webhook_url=f"{config.api_url}/webhooks/flutterwave",
            public_url=config.flutterwave_url,
        )
        for name, app, port in (
            ("paystack", self.emulator, config.gateway_port),
            ("flutterwave", self.flutterwave, config.flutterwave_port),
        ):
            self._serve(app, port, name)
            if config.function_host != HOST:
                self._serve(app, port, f"{name}-bridge", host=config.function_host)

    def _seed_parameters_and_identities(self, session: Any) -> None:
        """What an operator sets up once per account: the secrets in SSM and the SES sender."""
        assert self.local is not None  # noqa: S101 - set in start()
        ssm = session.client("ssm", endpoint_url=self.config.aws_endpoint)
        secrets = {
            "PaystackSecretParameter": self.config.paystack_secret_key,
            "FlutterwaveSecretParameter": self.config.flutterwave_secret_key,
            "FlutterwaveSecretHashParameter": self.config.flutterwave_secret_hash,
            "JwtSigningKeyParameter": self.config.jwt_signing_key,
            "CursorSigningKeyParameter": self.config.cursor_signing_key,
        }
        for parameter, value in secrets.items():
            if parameter in self.local.parameters:
                name = "/" + self.local.parameters[parameter].lstrip("/")
                ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        sender = self.local.parameters.get("EmailSender")
        if sender:
            ses = session.client("ses", endpoint_url=self.config.aws_endpoint)
            ses.verify_email_identity(EmailAddress=sender)

    def _function_environment(self, spec: Any) -> dict[str, str]:
        """The template's variables, plus what the Lambda runtime sets (and the emulator endpoint), plus the
        local-only variables of ``config.function_env`` (``LOCAL_FUNCTION_ENV``: test switches such as
        ``FAULT_INJECTION`` that the template never declares)."""
        config = self.config
        runtime_env = {
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": config.aws_endpoint,
            "AWS_LAMBDA_FUNCTION_NAME": f"{config.stack_name}-{spec.logical_id}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12_localdev",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        return {**runtime_env, **spec.environment, **config.function_env}

    def _write_sam_env_vars(self, functions: list[Any]) -> None:
        """``sam local --env-vars``: each function's variables with the local names and endpoints.

        SAM only sets variables the template declares; the credentials and region come from
        the environment of the ``sam`` process itself.
        """
        path = self.config.env_vars_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({spec.logical_id: spec.environment for spec in functions}, indent=2) + "\n")

    def _serve(self, app: Any, port: int, name: str, *, host: str = HOST, handler: type[Any] | None = None) -> None:
        server = make_server(host, port, app, threaded=True, request_handler=handler)
        thread = threading.Thread(target=server.serve_forever, name=f"http-{name}", daemon=True)
        thread.start()
        self.servers.append(server)
        self.threads.append(thread)

    # ------------------------------------------------------------------ local helpers
    def _outbox(self, outbox: Outbox, request: Request) -> Response:
        items = outbox.items(request.args.get("to"))
        return Response(json.dumps({"items": items}), content_type="application/json")

    def _clock_route(self, request: Request) -> Response:
        if request.method == "POST" and self.config.mode == SAM_LOCAL:
            problem = {
                "type": "about:blank",
                "title": "Not Implemented",
                "status": 501,
                "detail": "sam-local mode: the clock shift reaches only the embedded stack's workers, "
                "not Lambda containers, which keep real time.",
            }
            return Response(json.dumps(problem), status=501, content_type="application/problem+json")
        if request.method == "POST":
            body = request.get_json(force=True, silent=True) or {}
            self.clock.offset = float(body.get("offset_seconds", 0))
        return Response(json.dumps({"offset_seconds": self.clock.offset}), content_type="application/json")

    def _schedule_route(self, request: Request) -> Response:
        # POST /_local/schedules/<FunctionLogicalId>/run fires that schedule now and returns the result.
        parts = request.path.strip("/").split("/")
        if request.method != "POST" or len(parts) != 4 or parts[3] != "run" or parts[2] not in self.schedules:
            return Response(
                json.dumps({"schedules": sorted(self.schedules)}), status=404, content_type="application/json"
            )
        try:
            result = self.schedules[parts[2]].fire()
        except InvocationError as error:
            body = {"errorType": error.error_type, "errorMessage": error.message}
            return Response(json.dumps(body), status=500, content_type="application/json")
        return Response(json.dumps({"result": result}, default=str), content_type="application/json")

    def _functions_route(self, _: Request) -> Response:
        body: dict[str, dict[str, Any]] = {}
        containers = lambda_containers() if self.config.mode == SAM_LOCAL else []
        for name, rt in self.runtimes.items():
            entry: dict[str, Any] = {"handler": rt.spec.handler, "mode": self.config.mode}
            if isinstance(rt, FunctionRuntime):
                entry["instances"] = rt.instance_pids()
            else:
                entry["instances"] = []
                entry["containers"] = [c for c in containers if c["function"] == name]
            body[name] = entry
        return Response(json.dumps(body), content_type="application/json")

    def _aws_requests_route(self, _: Request) -> Response:
        return Response(json.dumps({"items": self.aws_requests.items()}), content_type="application/json")

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        import time

        started = time.monotonic()
        self.stop_event.set()
        for server in self.servers:
            server.shutdown()
        log.info("servers stopped after %.1fs", time.monotonic() - started)
        closers = [threading.Thread(target=runtime.close) for runtime in self.runtimes.values()]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join()
        log.info("functions stopped after %.1fs", time.monotonic() - started)
        for emulator in (self.emulator, self.flutterwave):
            if emulator is not None:
                emulator.close()
        for poller in self.pollers:
            poller.join(timeout=3)
        log.info("pollers stopped after %.1fs", time.monotonic() - started)
        if self.moto is not None:
            self.moto.stop()


def ready_banner(config: StackConfig) -> str:
    if config.mode == SAM_LOCAL:
        return (
            "\nLocal stack ready (sam-local mode: the functions run in Lambda containers)\n"
            f"  API (sam local start-api)   {config.api_url}   (GET {config.api_url}/health)\n"
            f"  Lambda Invoke API           {config.lambda_url}   (sam local start-lambda, used by the pumps)\n"
            f"  Paystack emulator           {config.gateway_url}   (functions: http://{config.function_host}:"
            f"{config.gateway_port})\n"
            f"  Flutterwave emulator        {config.flutterwave_url}   (functions: http://{config.function_host}:"
            f"{config.flutterwave_port})\n"
            f"  AWS emulator (moto)         {config.function_aws_endpoint}   (also {config.aws_endpoint})\n"
            f"  Local helpers               {config.helpers_url}/_local/   (outbox, schedules, functions)\n"
            f"  SAM --env-vars file         {config.env_vars_path}\n"
        )
    return (
        "\nLocal stack ready\n"
        f"  API (template.yaml routes)  {config.api_url}   (GET {config.api_url}/health)\n"
        f"  Paystack emulator           {config.gateway_url}\n"
        f"  Flutterwave emulator        {config.flutterwave_url}\n"
        f"  AWS emulator (moto)         {config.aws_endpoint}\n"
        f"  Outbox                      {config.api_url}/_local/outbox?to=<email>\n"
    )


class AwsRequestLog:
    """The latest requests that reached the AWS emulator through a wrapped listener: who called, and from where.

    botocore puts ``exec-env/<AWS_EXECUTION_ENV>`` in its User-Agent, so each entry also tells
    which Lambda runtime made the call.
    """

    def __init__(self, size: int = 2000) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def wrap(self, app: Any) -> Callable[[dict[str, Any], Any], Any]:
        def logged(environ: dict[str, Any], start_response: Any) -> Any:
            agent = str(environ.get("HTTP_USER_AGENT", ""))
            exec_env = next((part.split("/", 1)[1] for part in agent.split() if part.startswith("exec-env/")), None)
            entry = {
                "time": time.time(),
                "source_ip": environ.get("REMOTE_ADDR"),
                "exec_env": exec_env,
                "target": environ.get("HTTP_X_AMZ_TARGET")
                or f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}",
            }
            with self._lock:
                self._items.append(entry)
            return app(environ, start_response)

        return logged

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(reversed(self._items))


def lambda_containers() -> list[dict[str, Any]]:
    """The Lambda containers `sam local` runs (docker ps), with the function each serves and its address."""
    listed = subprocess.run(
        ["docker", "ps", "-q", "--no-trunc", "--filter", "label=sam.cli.container.type=lambda"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    ids = listed.stdout.split()
    if listed.returncode != 0 or not ids:
        return []
    inspected = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, timeout=20, check=False)
    if inspected.returncode != 0:
        return []
    containers = []
    for item in json.loads(inspected.stdout):
        labels = item.get("Config", {}).get("Labels") or {}
        networks = item.get("NetworkSettings", {}).get("Networks") or {}
        containers.append(
            {
                "id": item["Id"][:12],
                "function": labels.get("sam.cli.function.name"),
                "image": item.get("Config", {}).get("Image"),
                "running": bool(item.get("State", {}).get("Running")),
                "started_at": item.get("State", {}).get("StartedAt"),
                "ips": sorted(n["IPAddress"] for n in networks.values() if n.get("IPAddress")),
            }
        )
    return containers


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("LOCAL_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="python -m localdev", description="Start the local stack.")
    parser.add_argument("template", nargs="?", type=Path, help="template.yaml (default: the repository's)")
    parser.add_argument(
        "--mode",
        choices=[EMBEDDED, SAM_LOCAL],
        help="embedded (default): the functions run in worker processes; sam-local: no functions here, "
        "`sam local` runs them (see `make sam-local`)",
    )
    args = parser.parse_args(argv)
    stack = LocalStack(StackConfig.from_env(args.template, mode=args.mode))
    stopped = threading.Event()

    import signal

    def on_signal(signum: int, _: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    sys.stderr.write(ready_banner(stack.config) + "Ctrl-C stops everything.\n\n")
    sys.stderr.flush()
    stopped.wait()
    sys.stderr.write("stopping the local stack...\n")
    stack.stop()
    return 0
