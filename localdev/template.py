"""Reads ``template.yaml`` and turns it into local resources and function specs.

There is no second copy of the table, bucket, queue or route definitions: the local
stack and the unit-test fixtures both create what the template declares, with names
of their own, and give each function the environment the template gives it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"


class _NoValue:
    """What ``!Ref AWS::NoValue`` resolves to: the enclosing property or map entry is dropped."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


def load_template(path: Path | str = DEFAULT_TEMPLATE) -> dict[str, Any]:
    """Parse the SAM template with its short-form intrinsics (``!Ref``, ``!GetAtt``...)."""
    from cfnlint.decode import decode  # heavy import, only when a template is read

    template, matches = decode(str(path))
    if template is None:
        raise ValueError(f"cannot parse {path}: {matches}")
    return dict(template)


@dataclass
class HttpRoute:
    method: str  # GET, POST... or ANY
    path: str  # /products/{id}, /{proxy+} or $default


@dataclass
class SqsSource:
    queue_logical_id: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    memory: int
    environment: dict[str, str]
    http_routes: list[HttpRoute] = field(default_factory=list)
    sqs_sources: list[SqsSource] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)  # rate(...) / cron(...) expressions
    layer_dirs: list[Path] = field(default_factory=list)


class LocalTemplate:
    """The template resolved against local names: what `!Ref X` and `!GetAtt X.Arn` mean here."""

    def __init__(
        self,
        template: dict[str, Any],
        *,
        stack_name: str = "market-local",
        region: str = "us-east-1",
        parameter_overrides: dict[str, str] | None = None,
        base_dir: Path = REPO_ROOT,
    ) -> None:
        self.template = template
        self.stack_name = stack_name
        self.region = region
        self.base_dir = base_dir
        self.resources: dict[str, dict[str, Any]] = template.get("Resources", {})
        self.parameters: dict[str, str] = {}
        for name, spec in template.get("Parameters", {}).items():
            if "Default" in spec:
                self.parameters[name] = str(spec["Default"])
        self.parameters.update(parameter_overrides or {})
        self.queue_urls: dict[str, str] = {}

    # ------------------------------------------------------------------ names
    def physical_name(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::S3::Bucket":
            return f"{self.stack_name}-{logical_id}".lower()
        return f"{self.stack_name}-{logical_id}"

    def queue_url(self, logical_id: str) -> str:
        if logical_id in self.queue_urls:
            return self.queue_urls[logical_id]
        return f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{self.physical_name(logical_id)}"

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{name}"
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{name}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{ACCOUNT_ID}:{name}"
        return f"arn:aws:local:{self.region}:{ACCOUNT_ID}:{name}"

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:stack/{self.stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            if self.resources[name]["Type"] == "AWS::SQS::Queue":
                return self.queue_url(name)
            return self.physical_name(name)
        raise KeyError(f"unresolvable Ref {name}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in {"QueueName", "Name"}:
            return self.physical_name(logical_id)
        if attribute == "QueueUrl":
            return self.queue_url(logical_id)
        raise KeyError(f"unresolvable GetAtt {logical_id}.{attribute}")

    # ------------------------------------------------------------------ intrinsics
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if key == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(parts[0], parts[1])
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(self.resolve(item)) for item in self.resolve(items))
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::If":
                condition, yes, no = arg
                return self.resolve(yes if self.condition(condition) else no)
            if key == "Fn::Equals":
                left, right = arg
                return str(self.resolve(left)) == str(self.resolve(right))
            if key == "Fn::Not":
                return not self.resolve(arg[0])
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token in variables:
                return str(self.resolve(variables[token]))
            if "." in token and not token.startswith("AWS::"):
                logical_id, attribute = token.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(token)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    # ------------------------------------------------------------------ resources
    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {logical_id: spec for logical_id, spec in self.resources.items() if spec.get("Type") == kind}

    def create_resources(
        self, session: Any, *, endpoint_url: str | None = None, visibility_timeout_override: int | None = None
    ) -> None:
        """Create the tables, queues (DLQs first), buckets and their notifications in the emulator."""
        dynamodb = session.client("dynamodb", region_name=self.region, endpoint_url=endpoint_url)
        sqs = session.client("sqs", region_name=self.region, endpoint_url=endpoint_url)
        s3 = session.client("s3", region_name=self.region, endpoint_url=endpoint_url)
        for logical_id, spec in self.of_type("AWS::DynamoDB::Table").items():
            self._create_table(dynamodb, logical_id, self.resolve(spec.get("Properties", {})))
        queues = self.of_type("AWS::SQS::Queue")
        # Queues without a redrive policy (the DLQs) first, so their ARNs exist when referenced.
        for logical_id in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q].get("Properties", {})):
            self._create_queue(sqs, logical_id, queues[logical_id].get("Properties", {}), visibility_timeout_override)
        for logical_id, spec in self.of_type("AWS::S3::Bucket").items():
            self._create_bucket(s3, logical_id, spec.get("Properties", {}))

    def _create_table(self, dynamodb: Any, logical_id: str, props: dict[str, Any]) -> None:
        name = self.physical_name(logical_id)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if kwargs["BillingMode"] == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = props["ProvisionedThroughput"]
        dynamodb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )

    def _create_queue(
        self, sqs: Any, logical_id: str, raw_props: dict[str, Any], visibility_timeout_override: int | None
    ) -> None:
        props = self.resolve(raw_props)
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
            if key in props:
                attributes[key] = str(props[key])
        if visibility_timeout_override is not None:
            attributes["VisibilityTimeout"] = str(visibility_timeout_override)
        if "RedrivePolicy" in props:
            redrive = props["RedrivePolicy"]
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": redrive["deadLetterTargetArn"],
                    "maxReceiveCount": int(redrive["maxReceiveCount"]),
                }
            )
        url = sqs.create_queue(QueueName=self.physical_name(logical_id), Attributes=attributes)["QueueUrl"]
        self.queue_urls[logical_id] = url

    def _create_bucket(self, s3: Any, logical_id: str, raw_props: dict[str, Any]) -> None:
        name = self.physical_name(logical_id)
        s3.create_bucket(Bucket=name)
        props = self.resolve(raw_props)
        cors = props.get("CorsConfiguration")
        if cors:
            rules = [
                {
                    "AllowedMethods": rule["AllowedMethods"],
                    "AllowedOrigins": rule["AllowedOrigins"],
                    "AllowedHeaders": rule.get("AllowedHeaders", []),
                    "MaxAgeSeconds": int(rule.get("MaxAge", 0)),
                }
                for rule in cors["CorsRules"]
            ]
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        notification = props.get("NotificationConfiguration", {})
        queue_configs = []
        for config in notification.get("QueueConfigurations", []):
            entry: dict[str, Any] = {"QueueArn": config["Queue"], "Events": [config["Event"]]}
            rules = config.get("Filter", {}).get("S3Key", {}).get("Rules")
            if rules:
                entry["Filter"] = {"Key": {"FilterRules": rules}}
            queue_configs.append(entry)
        if queue_configs:
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"QueueConfigurations": queue_configs}
            )

    # ------------------------------------------------------------------ functions
    def functions(self) -> list[FunctionSpec]:
        globals_fn = self.template.get("Globals", {}).get("Function", {})
        global_env = globals_fn.get("Environment", {}).get("Variables", {})
        layers = self.of_type("AWS::Serverless::LayerVersion")
        specs = []
        for logical_id, spec in self.of_type("AWS::Serverless::Function").items():
            props = spec.get("Properties", {})
            env_raw = {**global_env, **props.get("Environment", {}).get("Variables", {})}
            environment = {key: str(value) for key, value in self.resolve(env_raw).items()}
            layer_refs = props.get("Layers", globals_fn.get("Layers", []))
            layer_dirs = []
            for layer in layer_refs:
                if isinstance(layer, dict) and "Ref" in layer and layer["Ref"] in layers:
                    content = layers[layer["Ref"]]["Properties"]["ContentUri"]
                    layer_dirs.append(self.base_dir / content / "python")
            function = FunctionSpec(
                logical_id=logical_id,
                code_dir=self.base_dir / props["CodeUri"],
                handler=props.get("Handler", globals_fn.get("Handler", "app.lambda_handler")),
                timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
                memory=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
                environment=environment,
                layer_dirs=layer_dirs,
            )
            for event in props.get("Events", {}).values():
                event_props = event.get("Properties", {})
                if event["Type"] == "HttpApi":
                    function.http_routes.append(
                        HttpRoute(
                            method=str(event_props.get("Method", "ANY")).upper(),
                            path=event_props.get("Path", "$default"),
                        )
                    )
                elif event["Type"] == "SQS":
                    queue = event_props["Queue"]
                    queue_id = (
                        queue["Fn::GetAtt"].split(".")[0]
                        if isinstance(queue["Fn::GetAtt"], str)
                        else queue["Fn::GetAtt"][0]
                    )
                    function.sqs_sources.append(
                        SqsSource(
                            queue_logical_id=queue_id,
                            batch_size=int(event_props.get("BatchSize", 10)),
                            report_batch_item_failures="ReportBatchItemFailures"
                            in event_props.get("FunctionResponseTypes", []),
                        )
                    )
                elif event["Type"] == "Schedule":
                    function.schedules.append(str(self.resolve(event_props["Schedule"])))
            specs.append(function)
        return specs


def schedule_period_seconds(expression: str) -> int:
    """``rate(5 minutes)`` -> 300. Cron expressions fire hourly locally."""
    match = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not match:
        return 3600
    amount, unit = int(match.group(1)), match.group(2)
    return amount * {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}[unit]
