"""template.yaml keeps the contract: names, configuration, least privilege, retention, outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tools.devkit.template import Resolver, load_template, resources_of_type

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
RECEIVER = RESOURCES["WebhookReceiverFunction"]["Properties"]
CONTRACT_VARIABLES = {
    "PPS_ISSUER",
    "PPS_AUDIENCE",
    "PPS_JWKS_URI",
    "PPS_ALLOWED_TENANTS",
    "IDEMPOTENCY_TABLE",
    "TOPIC_ARNS",
    "UNROUTED_TOPIC_ARN",
    "PAYLOAD_BUCKET",
}


def resolver(**parameters: str) -> Resolver:
    refs = {
        name: f"arn:aws:sns:us-east-1:123456789012:{name}" for name in resources_of_type(TEMPLATE, "AWS::SNS::Topic")
    }
    return Resolver(
        TEMPLATE,
        refs={**refs, "IdempotencyTable": "table", "PayloadBucket": "bucket"},
        attributes={},
        parameters=parameters,
    )


def test_the_receiver_is_python_313_on_arm64_behind_post_webhooks() -> None:
    function_globals = TEMPLATE["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == [{"Ref": "Architecture"}]
    assert TEMPLATE["Parameters"]["Architecture"]["Default"] == "arm64"
    assert function_globals["Tracing"] == "Active"
    assert RECEIVER["Handler"] == "app.lambda_handler"
    assert RECEIVER["CodeUri"] == "functions/webhook_receiver/"
    (event,) = RECEIVER["Events"].values()
    assert event["Type"] == "HttpApi"
    assert (event["Properties"]["Method"], event["Properties"]["Path"]) == ("POST", "/webhooks")
    assert RECEIVER["Timeout"] < 30  # inside API Gateway's integration timeout


def test_the_receiver_environment_carries_every_contract_variable() -> None:
    assert set(RECEIVER["Environment"]["Variables"]) >= CONTRACT_VARIABLES


def test_topic_arns_maps_each_pps_topic_to_its_sns_topic() -> None:
    topic_arns = json.loads(resolver().resolve(RECEIVER["Environment"]["Variables"]["TOPIC_ARNS"]))
    assert topic_arns == {
        "orders/placed": "arn:aws:sns:us-east-1:123456789012:OrdersPlacedTopic",
        "orders/updated": "arn:aws:sns:us-east-1:123456789012:OrdersUpdatedTopic",
    }


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"PpsIssuer": "https://issuer.example"}, "https://issuer.example/.well-known/jwks.json"),
        (
            {"PpsIssuer": "https://issuer.example", "PpsJwksUri": "https://keys.example/jwks"},
            "https://keys.example/jwks",
        ),
    ],
)
def test_the_jwks_uri_defaults_to_the_issuers_well_known_path(parameters: dict[str, str], expected: str) -> None:
    assert resolver(**parameters).resolve(RECEIVER["Environment"]["Variables"]["PPS_JWKS_URI"]) == expected


def test_the_parameters_have_the_documented_defaults() -> None:
    parameters = TEMPLATE["Parameters"]
    assert parameters["PpsJwksUri"]["Default"] == ""
    assert parameters["AllowedTenantIds"]["Default"] == ""
    assert parameters["PpsRequiredClaims"]["Default"] == ""
    assert parameters["PpsTenantClaim"]["Default"] == ""
    assert parameters["ReservedConcurrency"]["Default"] == ""
    assert parameters["RetentionDays"]["Default"] == 7
    assert {"ThrottlingBurstLimit", "ThrottlingRateLimit"} <= set(parameters)


@pytest.mark.parametrize("name", ["PpsIssuer", "PpsAudience"])
def test_whom_to_trust_has_no_default_so_a_deployment_must_say(name: str) -> None:
    """The PPS guide's test-tenant values are an example: a stack that kept them would trust that issuer."""
    assert "Default" not in TEMPLATE["Parameters"][name]
    assert TEMPLATE["Parameters"][name]["MinLength"] == 1


def test_no_api_throttling_below_5000_requests_a_second_by_default() -> None:
    """A stage limit answers 429 before authentication, and PPS never retries a 429: junk could crowd out webhooks."""
    parameters = TEMPLATE["Parameters"]
    routes = resolver().resolve(RESOURCES["WebhookApi"]["Properties"].get("DefaultRouteSettings", {}))
    for limit in ("ThrottlingRateLimit", "ThrottlingBurstLimit"):
        assert int(routes.get(limit, 10_000)) >= 5000
        assert int(parameters[limit]["Default"]) >= 5000
    assert "RouteSettings" not in RESOURCES["WebhookApi"]["Properties"]


@pytest.mark.parametrize(("value", "reserved"), [("", None), ("50", "50")])
def test_the_receiver_concurrency_is_reserved_only_when_asked(value: str, reserved: str | None) -> None:
    concurrency = {name: RECEIVER[name] for name in ("Timeout", "ReservedConcurrentExecutions")}
    assert resolver(ReservedConcurrency=value).resolve(concurrency).get("ReservedConcurrentExecutions") == reserved


def test_the_idempotency_table_is_on_demand_with_ttl_pitr_and_encryption() -> None:
    table = RESOURCES["IdempotencyTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_the_payload_bucket_is_private_encrypted_and_keeps_bodies_by_their_own_parameter() -> None:
    bucket = RESOURCES["PayloadBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "PayloadRetentionDays"}


def test_the_receiver_may_only_do_what_it_does() -> None:
    statements = [s for policy in RECEIVER["Policies"] if "Statement" in policy for s in policy["Statement"]]
    actions = {
        action
        for statement in statements
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert actions == {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "s3:PutObject",
    }
    assert all("*" not in str(statement["Resource"]).replace("payloads/*", "") for statement in statements)
    published_to = {
        policy["SNSPublishMessagePolicy"]["TopicName"]["Fn::GetAtt"][0]
        for policy in RECEIVER["Policies"]
        if "SNSPublishMessagePolicy" in policy
    }
    assert published_to == {"OrdersPlacedTopic", "OrdersUpdatedTopic", "UnroutedTopic"}


def test_every_function_has_a_log_group_with_retention() -> None:
    log_groups = [group["Properties"] for group in resources_of_type(TEMPLATE, "AWS::Logs::LogGroup").values()]
    named_for = {str(group["LogGroupName"]) for group in log_groups}
    for function in resources_of_type(TEMPLATE, "AWS::Serverless::Function"):
        assert any(function in name for name in named_for), function
    assert all("RetentionInDays" in group for group in log_groups)


def test_the_webhook_url_and_every_topic_arn_are_outputs_topics_exported() -> None:
    outputs = TEMPLATE["Outputs"]
    assert "WebhookUrl" in outputs
    for topic in resources_of_type(TEMPLATE, "AWS::SNS::Topic"):
        output = outputs[f"{topic}Arn"]
        assert output["Value"] == {"Ref": topic}
        assert "Export" in output


def test_the_layer_is_built_by_sam_for_python_313_on_the_functions_architecture() -> None:
    layer = RESOURCES["PpsWebhooksLayer"]
    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    assert layer["Metadata"]["BuildArchitecture"] == {"Ref": "Architecture"}
    assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
    assert layer["Properties"]["ContentUri"] == "layers/common/"
