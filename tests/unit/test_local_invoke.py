"""`make local-invoke`'s decisions: which image, and what the env file adds to events/env.json."""

from __future__ import annotations

import json
from typing import Any

import docker
import docker.errors
import pytest

from tools.build import lambda_image
from tools.build.local_invoke import choose_image, env_file
from tools.devkit.cloudformation import package, transformed
from tools.devkit.emulator import ACCOUNT, REGION, STACK_NAME
from tools.devkit.paths import EVENTS, ROOT
from tools.devkit.stack import Deployment
from tools.devkit.template import load_template

AWS_IMAGE = "public.ecr.aws/lambda/python:3.13-x86_64"
OFFLINE = "pps-webhooks/lambda-python:3.13-x86_64-0123456789ab"


class Images:
    def __init__(self, *, pulls: bool, has: bool) -> None:
        self.pulls, self.has = pulls, has

    def pull(self, name: str) -> None:
        if not self.pulls:
            raise docker.errors.APIError("no registry answers")

    def get(self, name: str) -> object:
        if not self.has:
            raise docker.errors.ImageNotFound(name)
        return object()


class Client:
    def __init__(self, *, pulls: bool, has: bool = False) -> None:
        self.images = Images(pulls=pulls, has=has)


@pytest.fixture
def docker_engine(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(lambda_image, "ensure", lambda client, architecture, say: OFFLINE)

    def engine(*, pulls: bool, has: bool = False) -> Client:
        client = Client(pulls=pulls, has=has)
        monkeypatch.setattr(docker, "from_env", lambda **_: client)
        return client

    return engine


def test_the_aws_image_when_docker_can_pull_it(docker_engine: Any) -> None:
    image = choose_image(docker_engine(pulls=True), "x86_64")

    assert image.invoke_image is None  # SAM CLI's own choice: that image, already pulled
    assert image.described.startswith(AWS_IMAGE)


def test_the_aws_image_pulled_before_when_the_registry_is_out_of_reach(docker_engine: Any) -> None:
    image = choose_image(docker_engine(pulls=False, has=True), "x86_64")

    assert image.invoke_image is None
    assert image.described.startswith(AWS_IMAGE)


def test_the_offline_image_when_the_aws_one_cannot_be_had(docker_engine: Any) -> None:
    image = choose_image(docker_engine(pulls=False, has=False), "x86_64")

    assert image.invoke_image == OFFLINE
    assert image.described.startswith(OFFLINE)


def test_the_offline_image_is_named_by_its_content_never_as_the_aws_image() -> None:
    assert lambda_image.tag("x86_64").startswith("pps-webhooks/lambda-python:3.13-x86_64-")
    assert lambda_image.tag("arm64").startswith("pps-webhooks/lambda-python:3.13-arm64-")
    assert lambda_image.tag("x86_64") == lambda_image.tag("x86_64")
    assert lambda_image.pins()["boto3"] == next(
        line.split("==")[1]
        for line in (ROOT / "layers" / "common" / "requirements.txt").read_text().splitlines()
        if line.startswith("boto3==")
    )


def a_deployment() -> Deployment:
    """The transformed template as a created stack would hold it, with names as CloudFormation makes them up."""
    parameters = {"PpsIssuer": "https://pps.example.com", "PpsAudience": "pps-webhooks"}
    template = transformed(package(load_template(), lambda key, body: None), parameters)
    names = {name: f"{STACK_NAME}-{name}-1A2B3C" for name in template["Resources"]}
    arns = {
        name: f"arn:aws:sns:{REGION}:{ACCOUNT}:{names[name]}"
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::SNS::Topic"
    }
    source = load_template()
    return Deployment("http://127.0.0.1:1", STACK_NAME, "stack-id", parameters, source, template, {}, names | arns)


def test_the_env_file_adds_what_the_readme_tells_a_user_to_add() -> None:
    deployment = a_deployment()
    names = deployment.physical_ids
    env_json = json.loads((EVENTS / "env.json").read_text())

    env = env_file(deployment, "http://moto.local:4566")

    receiver = env.pop("WebhookReceiverFunction")
    assert receiver == {
        **env_json["WebhookReceiverFunction"],
        "IDEMPOTENCY_TABLE": names["IdempotencyTable"],
        "PAYLOAD_BUCKET": names["PayloadBucket"],
        "TOPIC_ARNS": json.dumps(
            {"orders/placed": names["OrdersPlacedTopic"], "orders/updated": names["OrdersUpdatedTopic"]}
        ),
        "UNROUTED_TOPIC_ARN": names["UnroutedTopic"],
        "AWS_ENDPOINT_URL": "http://moto.local:4566",
    }
    assert env == {
        consumer: {"ORDERS_TABLE": names["OrdersTable"], "AWS_ENDPOINT_URL": "http://moto.local:4566"}
        for consumer in ("OrdersPlacedFunction", "OrdersUpdatedFunction")
    }
