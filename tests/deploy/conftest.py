"""One rehearsal for all of tests/deploy: template.yaml packaged, transformed and created as a CloudFormation stack
in a fresh moto, as the local run and the tests create it (tools.devkit.cloudformation), then every function's real
handler run against that stack through the recording proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.deploy import exercise
from tests.support.aws_proxy import AwsProxy
from tests.support.jwks_server import JwksServer
from tests.support.stack import reset_moto
from tests.support.tokens import AUDIENCE, Signer
from tools.devkit.cloudformation import Stack, create_stack
from tools.devkit.template import load_template

API_EVENTS = ("HttpApi", "Api")


@pytest.fixture(scope="package")
def stack(moto_endpoint: str, jwks_server: JwksServer, sender: Signer) -> Iterator[Stack]:
    jwks_server.reset([sender.jwk()])
    reset_moto(moto_endpoint)
    with pytest.MonkeyPatch.context() as monkeypatch:
        # IAM, created with the stack, knows the AWS managed policies SAM attaches, as it does in an account (slow to
        # load: only the rehearsal reads them). moto runs in this process, so it reads this environment.
        monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        parameters = {"PpsIssuer": jwks_server.issuer, "PpsAudience": AUDIENCE}
        yield create_stack(Stack, moto_endpoint, load_template(), parameters)


def event_types(function: str) -> set[str]:
    """The function's SAM event types, with an SQS event source mapping declared as a resource read as "SQS"."""
    resources = load_template()["Resources"]
    events = resources[function]["Properties"].get("Events") or {}
    queues = {
        name
        for name, mapping in resources.items()
        if mapping["Type"] == "AWS::Lambda::EventSourceMapping"
        and mapping["Properties"].get("FunctionName") == {"Ref": function}
        and resources[mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
    }
    return {str(event["Type"]) for event in events.values()} | ({"SQS"} if queues else set())


@pytest.fixture(scope="package")
def runs(stack: Stack, aws_proxy: AwsProxy, sender: Signer) -> dict[str, exercise.Run]:
    """Every function exercised once, receivers first: the consumers get what the receivers published (through the
    queue subscriptions create_stack filled in)."""
    functions = list(stack.of_type("AWS::Lambda::Function"))
    found: dict[str, exercise.Run] = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for function in functions:
            if event_types(function) & set(API_EVENTS):
                found[function] = exercise.receiver(function, stack, aws_proxy, sender, monkeypatch)
        for function in functions:
            if "SQS" in event_types(function):
                found[function] = exercise.sqs_consumer(function, stack, aws_proxy, monkeypatch)
    return found
