"""template.yaml's resources, created in an AWS emulator (moto) as CloudFormation would create them.

Tables, buckets, topics, queues (with their redrive policies) and queue subscriptions (with their
raw-delivery and filter-policy settings) are made from their definitions in the template, and each function's
environment is the template's own, resolved against them: the local run and the tests cannot drift from
what `sam deploy` creates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tools.devkit.emulator import ACCOUNT, REGION
from tools.devkit.paths import ROOT
from tools.devkit.template import Resolver, declared_environment, load_template, resources_of_type


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    events: dict[str, dict[str, Any]]
    """The function's SAM events (Type + Properties), intrinsics resolved."""


@dataclass
class Deployment:
    endpoint: str
    parameters: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)
    """What `!Ref <logical id>` gives: table and bucket names, topic ARNs, queue URLs."""
    attributes: dict[str, str] = field(default_factory=dict)
    """What `!GetAtt <logical id>.<attribute>` gives."""

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)  # type: ignore[call-overload]

    def resolver(self) -> Resolver:
        return Resolver(load_template(), refs=self.refs, attributes=self.attributes, parameters=self.parameters)

    def environment(self, function: str) -> dict[str, str]:
        """The function's environment as CloudFormation would set it (Globals first)."""
        variables = declared_environment(load_template(), function)
        return {name: str(value) for name, value in self.resolver().resolve(variables).items()}

    def functions(self) -> list[FunctionSpec]:
        resolver = self.resolver()
        return [
            FunctionSpec(
                logical_id=name,
                code_dir=ROOT / resource["Properties"]["CodeUri"],
                handler=resource["Properties"]["Handler"],
                events={**resolver.resolve(resource["Properties"].get("Events", {})), **self._queue_mappings(name)},
            )
            for name, resource in resources_of_type(load_template(), "AWS::Serverless::Function").items()
        ]

    def _queue_mappings(self, function: str) -> dict[str, dict[str, Any]]:
        """Event source mappings declared as resources, read as the SAM SQS events they are equivalent to."""
        events = {}
        for name, mapping in resources_of_type(load_template(), "AWS::Lambda::EventSourceMapping").items():
            props = self.resolver().resolve(mapping["Properties"])
            if mapping["Properties"].get("FunctionName") == {"Ref": function} and ":sqs:" in props["EventSourceArn"]:
                settings = ("BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "Enabled")
                events[name] = {
                    "Type": "SQS",
                    "Properties": {"Queue": props["EventSourceArn"], **{k: props[k] for k in settings if k in props}},
                }
        return events


def deploy(endpoint: str, parameters: dict[str, str] | None = None) -> Deployment:
    """Create the template's resources (named after their logical ids) in the emulator at `endpoint`."""
    template = load_template()
    deployment = Deployment(endpoint=endpoint, parameters=dict(parameters or {}))
    dynamodb, s3, sns, sqs = (deployment.client(name) for name in ("dynamodb", "s3", "sns", "sqs"))
    refs, attributes = deployment.refs, deployment.attributes

    for name, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        dynamodb.create_table(
            TableName=name,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props["BillingMode"],
        )
        if "TimeToLiveSpecification" in props:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
        refs[name] = name
        attributes[f"{name}.Arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"

    for name in resources_of_type(template, "AWS::S3::Bucket"):
        bucket = f"{name.lower()}-{ACCOUNT}"
        s3.create_bucket(Bucket=bucket)
        refs[name] = bucket
        attributes[f"{name}.Arn"] = f"arn:aws:s3:::{bucket}"

    for name in resources_of_type(template, "AWS::SNS::Topic"):
        refs[name] = sns.create_topic(Name=name)["TopicArn"]
        attributes[f"{name}.TopicName"] = name
        attributes[f"{name}.Arn"] = refs[name]

    queues = resources_of_type(template, "AWS::SQS::Queue")
    # Dead-letter queues first: a queue's redrive policy names its DLQ's ARN.
    for name in sorted(queues, key=lambda queue: "RedrivePolicy" in queues[queue].get("Properties", {})):
        props = deployment.resolver().resolve(queues[name].get("Properties", {}))
        queue_attributes = {"VisibilityTimeout": str(props.get("VisibilityTimeout", 30))}
        if "RedrivePolicy" in props:
            queue_attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        refs[name] = sqs.create_queue(QueueName=name, Attributes=queue_attributes)["QueueUrl"]
        attributes[f"{name}.Arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        attributes[f"{name}.QueueName"] = name
        attributes[f"{name}.QueueUrl"] = refs[name]

    for name, resource in resources_of_type(template, "AWS::SNS::Subscription").items():
        # Only queue subscriptions are emulated: the archive's Firehose stream and e-mail are not.
        if resource["Properties"]["Protocol"] != "sqs":
            continue
        props = deployment.resolver().resolve(resource["Properties"])
        refs[name] = subscribe(
            sns,
            props["TopicArn"],
            props["Protocol"],
            props["Endpoint"],
            raw=bool(props.get("RawMessageDelivery")),
            filter_policy=props.get("FilterPolicy"),
            filter_policy_scope=props.get("FilterPolicyScope"),
        )
    for name in template["Resources"]:
        refs.setdefault(name, name)  # not emulated (HTTP API, layers, log groups...), but still referenced
    return deployment


def subscribe(
    sns: Any,
    topic_arn: str,
    protocol: str,
    endpoint: str,
    *,
    raw: bool = False,
    filter_policy: dict[str, Any] | None = None,
    filter_policy_scope: str | None = None,
) -> str:
    subscription_attributes = {"RawMessageDelivery": "true" if raw else "false"}
    if filter_policy:
        subscription_attributes["FilterPolicy"] = json.dumps(filter_policy)
    if filter_policy_scope:
        subscription_attributes["FilterPolicyScope"] = filter_policy_scope
    arn: str = sns.subscribe(
        TopicArn=topic_arn,
        Protocol=protocol,
        Endpoint=endpoint,
        Attributes=subscription_attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return arn
