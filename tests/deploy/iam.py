"""What an IAM role grants, and the AWS calls a function's code makes, each with the resource it named.

Action and Resource are matched as IAM does (wildcards; actions case-insensitive, resources not). Conditions are
not evaluated: they only ever narrow an Allow, the function roles carry none, and where one matters (a queue
policy's aws:SourceArn) the test reads it itself.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    negated_action: bool = False
    negated_resource: bool = False

    def covers(self, action: str, resource: str) -> bool:
        action_hit = any(matches(pattern, action, case_sensitive=False) for pattern in self.actions)
        resource_hit = any(matches(pattern, resource, case_sensitive=True) for pattern in self.resources)
        return action_hit != self.negated_action and resource_hit != self.negated_resource


@dataclass(frozen=True)
class Call:
    operation: str
    """As the AWS proxy names it: "dynamodb.PutItem"."""
    resource: str
    """The ARN of what the call named (table, topic, object, queue)."""

    @property
    def action(self) -> str:
        """The IAM action that authorizes it: "dynamodb:PutItem"."""
        return self.operation.replace(".", ":", 1)


@dataclass
class CallRecorder:
    """Records every call made through a boto3 session's clients (hooked on `provide-client-params`)."""

    calls: list[Call] = field(default_factory=list)
    region: str = "us-east-1"
    account: str = "123456789012"

    def __call__(self, params: Mapping[str, Any], model: OperationModel, **kwargs: Any) -> None:
        service = model.service_model.signing_name or model.service_model.endpoint_prefix
        self.calls.append(Call(f"{service}.{model.name}", self.resource_of(service, params)))

    def resource_of(self, service: str, params: Mapping[str, Any]) -> str:
        if service == "dynamodb":
            table = str(params["TableName"])
            return table if table.startswith("arn:") else f"arn:aws:dynamodb:{self.region}:{self.account}:table/{table}"
        if service == "sns":
            return str(params.get("TopicArn") or params["TargetArn"])
        if service == "s3":
            return f"arn:aws:s3:::{params['Bucket']}" + (f"/{params['Key']}" if "Key" in params else "")
        if service == "sqs":
            return f"arn:aws:sqs:{self.region}:{self.account}:{str(params['QueueUrl']).rsplit('/', 1)[-1]}"
        raise NotImplementedError(f"which resource a {service} call names: add it to CallRecorder.resource_of")


def matches(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    expression = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(expression, value, 0 if case_sensitive else re.IGNORECASE) is not None


def document(raw: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        parsed: dict[str, Any] = json.loads(raw)
    except json.JSONDecodeError:
        # moto's CloudFormation stores an inline policy it was given as an object as that object's repr.
        parsed = ast.literal_eval(raw)
    return parsed


def raw_statements(policy: Mapping[str, Any] | str) -> list[dict[str, Any]]:
    found = document(policy)["Statement"]
    return list(found) if isinstance(found, list) else [found]


def statements(policy: Mapping[str, Any] | str) -> list[Statement]:
    return [_statement(item) for item in raw_statements(policy)]


def _statement(raw: Mapping[str, Any]) -> Statement:
    def strings(value: str | Iterable[str]) -> tuple[str, ...]:
        return (value,) if isinstance(value, str) else tuple(value)

    return Statement(
        effect=raw["Effect"],
        actions=strings(raw.get("Action", raw.get("NotAction", ()))),
        resources=strings(raw.get("Resource", raw.get("NotResource", ()))),
        negated_action="NotAction" in raw,
        negated_resource="NotResource" in raw,
    )


def allows(policy: Iterable[Statement], action: str, resource: str) -> bool:
    policy = list(policy)
    denied = any(s.effect == "Deny" and s.covers(action, resource) for s in policy)
    return not denied and any(s.effect == "Allow" and s.covers(action, resource) for s in policy)


def granted_actions(policy: Iterable[Statement]) -> set[str]:
    """Every action pattern an Allow grants; NotAction grants everything but a few, so it counts as "*"."""
    granted: set[str] = set()
    for statement in policy:
        if statement.effect == "Allow":
            granted.update(("*",) if statement.negated_action else statement.actions)
    return granted
