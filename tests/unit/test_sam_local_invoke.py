"""What `sam local invoke` with events/env.json relies on, and what keeps it safe in a deployment.

SAM CLI hands a function only the environment variables its template declares (Globals included): --env-vars
overrides their values and never adds a variable, so a name the template does not declare is dropped silently.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.local.lambdafn.env_vars import EnvironmentVariables

from pps_webhooks import aws
from pps_webhooks.settings import ReceiverSettings
from tests.support.receiver import RECEIVER
from tools.devkit import dev_key
from tools.devkit.paths import EVENTS
from tools.devkit.template import declared_environment, load_template, resources_of_type

TEMPLATE = load_template()
FUNCTIONS = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
ENV_JSON: dict[str, dict[str, str]] = json.loads((EVENTS / "env.json").read_text())
# What the README tells a user to add to events/env.json for the receiver: the names of their stack's resources.
STACK_NAMES = {
    "IDEMPOTENCY_TABLE": "pps-webhooks-IdempotencyTable-1",
    "TOPIC_ARNS": json.dumps({"orders/placed": "arn:aws:sns:eu-west-1:111122223333:placed"}),
    "UNROUTED_TOPIC_ARN": "arn:aws:sns:eu-west-1:111122223333:unrouted",
    "PAYLOAD_BUCKET": "pps-webhooks-payloadbucket-1",
}


def declared(function: str) -> dict[str, Any]:
    return declared_environment(TEMPLATE, function)


def sam_cli_environment(template: dict[str, Any], function: str, env_vars: dict[str, str]) -> dict[str, str]:
    """What `sam local invoke --env-vars` sets in the function's container: SAM CLI's own resolution of the template
    (parameters, Globals, intrinsics) and its own rule for the values given."""
    stacks, _ = SamLocalStackProvider.get_stacks(template_dictionary=template)
    spec = SamFunctionProvider(stacks).get(function)
    environment = EnvironmentVariables(
        spec.name,
        spec.memory,
        spec.timeout,
        spec.handler,
        variables=spec.environment["Variables"],
        override_values=env_vars,
    )
    resolved: dict[str, str] = environment.resolve()
    return resolved


def without_defaults(*parameters: str) -> dict[str, Any]:
    template = copy.deepcopy(TEMPLATE)
    for name in parameters:
        template["Parameters"][name].pop("Default", None)
    return template


def test_every_variable_in_env_json_is_declared_on_its_function() -> None:
    assert set(ENV_JSON) <= set(FUNCTIONS)
    for function, variables in ENV_JSON.items():
        assert set(variables) - set(declared(function)) == set(), f"SAM CLI would drop these on {function}"


@pytest.mark.filterwarnings("ignore::DeprecationWarning:sam")  # samcli and samtranslator
@pytest.mark.parametrize(
    "template",
    [TEMPLATE, without_defaults("PpsIssuer", "PpsAudience")],
    ids=["template.yaml", "without issuer and audience defaults"],
)
def test_with_env_json_the_receiver_trusts_the_development_key_offline(template: dict[str, Any]) -> None:
    environment = sam_cli_environment(template, RECEIVER, {**ENV_JSON[RECEIVER], **STACK_NAMES, "NOT_DECLARED": "x"})

    settings = ReceiverSettings.from_env(environment)
    assert (settings.issuer, settings.audience) == (dev_key.ISSUER, dev_key.AUDIENCE)
    assert json.loads(settings.jwks) == dev_key.jwks()
    assert environment["AWS_SAM_LOCAL"] == "true"  # how code can tell it runs in `sam local`, not in Lambda
    assert "NOT_DECLARED" not in environment  # the rule env.json must follow


def test_the_variables_declared_for_local_runs_are_empty_in_a_deployment() -> None:
    # An empty PPS_JWKS means: fetch the keys from PPS_JWKS_URI (and follow PPS's key rotation).
    assert declared("WebhookReceiverFunction")["PPS_JWKS"] == ""
    for function in FUNCTIONS:
        assert declared(function)["AWS_ENDPOINT_URL"] == "", function


class Sent(Exception):
    """Not an error: the request stopped where it would leave the process."""

    def __init__(self, url: str) -> None:
        self.url = url


def url_of_a_call(client: Any) -> str:
    """Where the SDK sends a request, stopped just before it would leave the process."""

    def stop(request: Any, **_: Any) -> None:
        raise Sent(request.url)

    client.meta.events.register("before-send", stop)
    with pytest.raises(Sent) as sent:
        client.list_topics() if client.meta.service_model.service_name == "sns" else client.list_tables()
    return sent.value.url


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "unit")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unit")
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SNS", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    return monkeypatch


def test_an_empty_aws_endpoint_url_leaves_the_sdk_on_aws(aws_environment: pytest.MonkeyPatch) -> None:
    aws_environment.setenv("AWS_ENDPOINT_URL", "")

    assert url_of_a_call(aws.dynamodb_client()) == "https://dynamodb.eu-west-1.amazonaws.com/"
    assert url_of_a_call(aws.sns_client()) == "https://sns.eu-west-1.amazonaws.com/"
    assert aws.s3_client().meta.endpoint_url == "https://s3.eu-west-1.amazonaws.com"


def test_aws_endpoint_url_points_every_client_at_an_emulator(aws_environment: pytest.MonkeyPatch) -> None:
    aws_environment.setenv("AWS_ENDPOINT_URL", "http://moto.local:4566")

    assert url_of_a_call(aws.dynamodb_client()) == "http://moto.local:4566/"
    assert url_of_a_call(aws.sns_client()) == "http://moto.local:4566/"
    assert aws.s3_client().meta.endpoint_url == "http://moto.local:4566"
