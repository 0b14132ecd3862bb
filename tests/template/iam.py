"""The functions' IAM policies as template.yaml writes them, resolved, and a small evaluator of them.

Every function has a role of its own (``Role: !GetAtt <Function>Role.Arn``) whose inline policy is
all it may do; nothing else (no managed policy, no SAM-generated statement) is attached. The
evaluator answers "may this function call this action on this resource with these partition
keys?" the way IAM does for these statements: Allow only (no Deny is written), an exact action
(no wildcard is written, and the tests forbid one), a resource matched as an IAM glob, and the
``ForAllValues:StringLike`` condition on ``dynamodb:LeadingKeys`` (every key must match a pattern;
an absent key set passes, which is why no action without partition keys, such as Scan, is granted).

It reads, it never guesses: moto does not enforce IAM, so this is what stands in for it in tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from localdev.template import LocalTemplate, load_template

STACK = "t"
REGION = "us-east-1"
ACCOUNT = "123456789012"
LEADING_KEYS = "dynamodb:LeadingKeys"
LEADING_KEYS_OPERATOR = "ForAllValues:StringLike"


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    # ``dynamodb:LeadingKeys`` patterns when the statement has that condition, else None.
    leading_keys: tuple[str, ...] | None
    condition: dict[str, Any] = field(default_factory=dict, compare=False)


@cache
def template() -> dict[str, Any]:
    return load_template()


@cache
def local(parameter_overrides: tuple[tuple[str, str], ...] = ()) -> LocalTemplate:
    return LocalTemplate(template(), stack_name=STACK, region=REGION, parameter_overrides=dict(parameter_overrides))


def functions() -> dict[str, dict[str, Any]]:
    return {
        name: spec for name, spec in template()["Resources"].items() if spec.get("Type") == "AWS::Serverless::Function"
    }


def role_logical_id(function: str) -> str:
    role = functions()[function].get("Properties", {}).get("Role")
    if not isinstance(role, dict) or "Fn::GetAtt" not in role:
        raise AssertionError(f"{function} has no Role: !GetAtt <its role>.Arn (SAM would generate one)")
    target = role["Fn::GetAtt"]
    logical_id, attribute = target if isinstance(target, list) else target.split(".", 1)
    assert attribute == "Arn", f"{function}: Role must be the role's Arn"
    return str(logical_id)


def role(function: str) -> dict[str, Any]:
    spec = template()["Resources"][role_logical_id(function)]
    assert spec["Type"] == "AWS::IAM::Role", f"{function}'s Role is not an AWS::IAM::Role"
    return dict(spec["Properties"])


def _as_tuple(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(str(item) for item in items)


@cache
def _statements(function: str) -> tuple[Statement, ...]:
    return tuple(_read_statements(function))


def statements(function: str) -> list[Statement]:
    """The function's statements with every intrinsic resolved against the local names."""
    return list(_statements(function))


def _read_statements(function: str) -> list[Statement]:
    resolved = local().resolve(role(function).get("Policies", []))
    out = []
    for policy in resolved:
        for raw in policy["PolicyDocument"]["Statement"]:
            assert raw["Effect"] == "Allow", f"{function}: only Allow statements are expected ({raw})"
            assert "NotAction" not in raw, f"{function}: {raw}"
            assert "NotResource" not in raw, f"{function}: {raw}"
            condition = raw.get("Condition", {})
            keys = condition.get(LEADING_KEYS_OPERATOR, {}).get(LEADING_KEYS)
            out.append(
                Statement(
                    sid=str(raw.get("Sid", "")),
                    actions=_as_tuple(raw["Action"]),
                    resources=_as_tuple(raw["Resource"]),
                    leading_keys=_as_tuple(keys) if keys is not None else None,
                    condition=condition,
                )
            )
    return out


# ---------------------------------------------------------------- names of what the template creates


def table_arn() -> str:
    return local().arn("Table")


def index_arn(index: str) -> str:
    return f"{table_arn()}/index/{index}"


def bucket_arn() -> str:
    return local().arn("FilesBucket")


def queue_arn(logical_id: str) -> str:
    return local().arn(logical_id)


def parameter_arn(parameter: str) -> str:
    name = local().parameters[parameter]
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name}"


# ---------------------------------------------------------------- evaluation


def _glob(pattern: str) -> re.Pattern[str]:
    """IAM's StringLike / resource matching: ``*`` any run of characters, ``?`` one character."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def matches(pattern: str, value: str) -> bool:
    return _glob(pattern).fullmatch(value) is not None


def statement_allows(statement: Statement, action: str, resource: str, leading_keys: Sequence[str] = ()) -> bool:
    if action not in statement.actions:
        return False
    if not any(matches(pattern, resource) for pattern in statement.resources):
        return False
    unknown = set(statement.condition) - {LEADING_KEYS_OPERATOR}
    if unknown:
        raise AssertionError(f"{statement.sid}: a condition this evaluator does not know: {sorted(unknown)}")
    if statement.leading_keys is None:
        return True
    return all(any(matches(pattern, key) for pattern in statement.leading_keys) for key in leading_keys)


def allowed(function: str, action: str, resource: str, leading_keys: Iterable[str] = ()) -> bool:
    keys = list(leading_keys)
    return any(statement_allows(s, action, resource, keys) for s in statements(function))
