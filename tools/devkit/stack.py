"""template.yaml deployed to an AWS emulator (moto) as `sam deploy` deploys it, and what runs its functions reads.

The stack is created the one way the deploy rehearsal creates it (tools.devkit.cloudformation: the SAM translator,
then moto's CloudFormation), so the local run and the tests cannot drift from what `sam deploy` creates. Physical
names are CloudFormation's own (pps-webhooks-OrdersTable-1A2B3C...): read them from `refs`, never guess them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tools.devkit.cloudformation import Stack, create_stack
from tools.devkit.emulator import STACK_NAME
from tools.devkit.handlers import Code, code_of
from tools.devkit.paths import ROOT
from tools.devkit.template import load_template


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code: Code
    """Where its code and layers are, as its template says: what the handler loader imports."""
    events: dict[str, dict[str, Any]]
    """Its event sources in the created stack, each by its logical id, read as the SAM event (Type + Properties,
    resolved) it is equivalent to: HttpApi routes, SQS event source mappings, SNS subscriptions."""


@dataclass
class Deployment(Stack):
    """The created stack, as whoever runs its functions reads it: each function's code, environment and events."""

    def environment(self, function: str) -> dict[str, str]:
        """The function's environment as CloudFormation sets it (the SAM translator merged the Globals in)."""
        variables = self.resources[function]["Properties"].get("Environment", {}).get("Variables", {})
        return {name: str(value) for name, value in self.resolver().resolve(variables).items()}

    def functions(self) -> list[FunctionSpec]:
        events: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.of_type("AWS::Lambda::Function")}
        for key, (arn, version) in self.routes().items():
            method, _, path = key.partition(" ")
            route = {"Method": method, "Path": path, "PayloadFormatVersion": version} if path else {}
            self._add(events, arn, key, {"Type": "HttpApi", "Properties": route})
        for name, mapping in self.event_source_mappings.items():
            if mapping["EventSourceArn"].startswith("arn:aws:sqs:"):
                settings = ("BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes")
                sqs = {"Queue": mapping["EventSourceArn"], **{key: mapping[key] for key in settings if key in mapping}}
                # As created. Moto's own polling of it is detached (cloudformation._take_over_polling): whoever
                # polls for it honours its live State, which `make pause` / `make resume` switch.
                sqs["Enabled"] = mapping.get("State") == "Enabled"
                self._add(events, mapping["FunctionArn"], name, {"Type": "SQS", "Properties": sqs})
        for name, subscription in self.of_type("AWS::SNS::Subscription").items():
            if subscription["Properties"].get("Protocol") == "lambda":
                properties = self.properties(name)
                sns = {"Topic": properties["TopicArn"]}
                sns |= {key: properties[key] for key in ("FilterPolicy", "FilterPolicyScope") if key in properties}
                self._add(events, properties["Endpoint"], name, {"Type": "SNS", "Properties": sns})
        return [
            FunctionSpec(name, code_of(self.source, name, ROOT), function_events)
            for name, function_events in events.items()
        ]

    def _add(self, events: dict[str, dict[str, dict[str, Any]]], arn: str, key: str, event: dict[str, Any]) -> None:
        function = self.logical_id_of(arn, "AWS::Lambda::Function")
        if function in events:
            events[function][key] = event


def deploy(endpoint: str, parameters: dict[str, str] | None = None) -> Deployment:
    """template.yaml created as the stack pps-webhooks in the emulator at `endpoint`."""
    return create_stack(Deployment, endpoint, load_template(), parameters or {}, STACK_NAME)
