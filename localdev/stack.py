"""The embedded local stack: one process tree on 127.0.0.1.

- the AWS emulator (moto server), with what ``template.yaml`` declares created in it;
- the local API gateway, routing every ``HttpApi`` event of the template to its function;
- SQS pollers and schedules for the template's event sources;
- the Paystack emulator;
- local-only helpers under ``/_local/`` (outbox, clock, schedules, functions).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from localdev.gateway import LocalGateway, RouteTable, compile_route
from localdev.outbox import Outbox
from localdev.pumps import Schedule, SqsPoller
from localdev.runtime import ClockShift, FunctionRuntime, InvocationError
from localdev.template import DEFAULT_TEMPLATE, LocalTemplate, load_template, schedule_period_seconds

log = logging.getLogger("localdev")
HOST = "127.0.0.1"
PARAMETERS_FILE = Path(__file__).resolve().parent / "parameters.json"


@dataclass
class StackConfig:
    template_path: Path = DEFAULT_TEMPLATE
    api_port: int = 3000
    gateway_port: int = 3001
    aws_port: int = 5000
    region: str = "us-east-1"
    stack_name: str = "market-local"
    paystack_secret_key: str = "sk_test_local"  # noqa: S105 - the emulator's published test key
    jwt_signing_key: str = "local-dev-signing-key-not-for-production-0123456789"
    visibility_timeout_override: int | None = None
    schedule_period_override: float | None = None
    max_concurrency: int = 4
    pollers_per_queue: int = 2
    parameter_overrides: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, template_path: Path | None = None) -> StackConfig:
        env = os.environ
        overrides = json.loads(PARAMETERS_FILE.read_text())["Parameters"] if PARAMETERS_FILE.exists() else {}
        api_port = int(env.get("LOCAL_API_PORT", "3000"))
        gateway_port = int(env.get("LOCAL_GATEWAY_PORT", "3001"))
        overrides = {
            key: value.replace("{api}", f"http://{HOST}:{api_port}").replace(
                "{gateway}", f"http://{HOST}:{gateway_port}"
            )
            for key, value in overrides.items()
        }
        return cls(
            template_path=template_path or Path(env.get("LOCAL_TEMPLATE", str(DEFAULT_TEMPLATE))),
            api_port=api_port,
            gateway_port=gateway_port,
            aws_port=int(env.get("LOCAL_AWS_PORT", "5000")),
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
            paystack_secret_key=env.get("PAYSTACK_SECRET_KEY", "sk_test_local"),
            visibility_timeout_override=int(env["LOCAL_SQS_VISIBILITY_TIMEOUT"])
            if env.get("LOCAL_SQS_VISIBILITY_TIMEOUT")
            else None,
            schedule_period_override=float(env["LOCAL_SCHEDULE_PERIOD_SECONDS"])
            if env.get("LOCAL_SCHEDULE_PERIOD_SECONDS")
            else None,
            max_concurrency=int(env.get("LOCAL_MAX_CONCURRENCY", "4")),
            parameter_overrides=overrides,
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


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.stop_event = threading.Event()
        self.clock = ClockShift()
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.schedules: dict[str, Schedule] = {}
        self.pollers: list[SqsPoller] = []
        self.servers: list[BaseWSGIServer] = []
        self.threads: list[threading.Thread] = []
        self.moto: Any = None
        self.emulator: Any = None
        self.local: LocalTemplate | None = None

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        config = self.config
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ.setdefault("AWS_DEFAULT_REGION", config.region)
        from moto.server import ThreadedMotoServer

        from localdev.moto_patches import serialize_dynamodb

        serialize_dynamodb()
        self.moto = ThreadedMotoServer(ip_address=HOST, port=config.aws_port, verbose=False)
        self.moto.start()

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
            self.runtimes[spec.logical_id] = FunctionRuntime(
                spec, self._function_environment(spec), max_concurrency=config.max_concurrency, clock=self.clock
            )

        routes = [
            compile_route(route.method, route.path, self.runtimes[spec.logical_id])
            for spec in functions
            for route in spec.http_routes
        ]
        outbox = Outbox(config.region)
        gateway = LocalGateway(
            RouteTable(routes),
            {
                "/_local/outbox": lambda request: self._outbox(outbox, request),
                "/_local/clock": self._clock_route,
                "/_local/schedules": self._schedule_route,
                "/_local/functions": self._functions_route,
            },
        )
        self._serve(gateway, config.api_port, "api")

        from localdev.paystack import PaystackEmulator

        self.emulator = PaystackEmulator(
            secret_key=config.paystack_secret_key,
            webhook_url=f"{config.api_url}/webhooks/paystack",
            public_url=config.gateway_url,
        )
        self._serve(self.emulator, config.gateway_port, "paystack")

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

    def _seed_parameters_and_identities(self, session: Any) -> None:
        """What an operator sets up once per account: the secrets in SSM and the SES sender."""
        assert self.local is not None  # noqa: S101 - set in start()
        ssm = session.client("ssm", endpoint_url=self.config.aws_endpoint)
        secrets = {
            "PaystackSecretParameter": self.config.paystack_secret_key,
            "JwtSigningKeyParameter": self.config.jwt_signing_key,
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
        """The template's variables, plus what the Lambda runtime sets (and the emulator endpoint)."""
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
        return {**runtime_env, **spec.environment}

    def _serve(self, app: Any, port: int, name: str) -> None:
        server = make_server(HOST, port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name=f"http-{name}", daemon=True)
        thread.start()
        self.servers.append(server)
        self.threads.append(thread)

    # ------------------------------------------------------------------ local helpers
    def _outbox(self, outbox: Outbox, request: Request) -> Response:
        items = outbox.items(request.args.get("to"))
        return Response(json.dumps({"items": items}), content_type="application/json")

    def _clock_route(self, request: Request) -> Response:
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
        body = {
            name: {"handler": rt.spec.handler, "instances": rt.instance_pids(), "mode": "embedded"}
            for name, rt in self.runtimes.items()
        }
        return Response(json.dumps(body), content_type="application/json")

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        self.stop_event.set()
        for server in self.servers:
            server.shutdown()
        for runtime in self.runtimes.values():
            runtime.close()
        if self.emulator is not None:
            self.emulator.close()
        for poller in self.pollers:
            poller.join(timeout=3)
        if self.moto is not None:
            self.moto.stop()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("LOCAL_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    args = argv if argv is not None else sys.argv[1:]
    template = Path(args[0]) if args else None
    stack = LocalStack(StackConfig.from_env(template))
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
    config = stack.config
    sys.stderr.write(
        "\nLocal stack ready\n"
        f"  API (template.yaml routes)  {config.api_url}   (GET {config.api_url}/health)\n"
        f"  Paystack emulator           {config.gateway_url}\n"
        f"  AWS emulator (moto)         {config.aws_endpoint}\n"
        f"  Outbox                      {config.api_url}/_local/outbox?to=<email>\n"
        "Ctrl-C stops everything.\n\n"
    )
    sys.stderr.flush()
    stopped.wait()
    sys.stderr.write("stopping the local stack...\n")
    stack.stop()
    return 0
