"""A deploy rehearsal: template.yaml created as `sam deploy` would create it (in moto), and the wiring unit tests
cannot see: what each function's environment names, how webhooks reach the consumers, what each role grants.

Whatever moto cannot create or apply is reported as a RehearsalGap warning (pytest's warnings summary) saying what
was checked instead; everything else is checked on the created resources.
"""

from __future__ import annotations

import json
import time
import warnings
from collections import defaultdict
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from tests.deploy import exercise
from tests.deploy.conftest import API_EVENTS, event_types
from tests.deploy.iam import Statement, allows, granted_actions, raw_statements, statements
from tools.devkit.cloudformation import Stack, subscriptions
from tools.devkit.paths import ROOT
from tools.devkit.template import Resolver, load_template

FUNCTIONS = sorted(
    name for name, resource in load_template()["Resources"].items() if resource["Type"] == "AWS::Serverless::Function"
)
CONSUMES = {"OrdersPlacedFunction": "orders/placed", "OrdersUpdatedFunction": "orders/updated"}
"""What each example consumer is for: the X-Pps-Topic whose every webhook it must get, unfiltered and raw."""
CHECKED_INSTEAD = {
    "AWS::SNS::Subscription": "resolved from the transformed template and checked against the created topics, "
    "queues and roles; the SQS ones are then subscribed through the SNS API, so webhooks flow to the consumers",
    "AWS::SQS::QueuePolicy": "resolved from the transformed template: each subscribed queue lets its topic send",
    "AWS::ApiGatewayV2::Api": "resolved from the transformed template: POST /webhooks integrates the receiver",
    "AWS::CloudWatch::Alarm": "resolved from the transformed template: they notify created topics, and their "
    "dimensions name this stack's resources and the functions' own metrics",
    "AWS::Logs::MetricFilter": "resolved from the transformed template: each filters a created log group",
    "AWS::Glue::Database": "created through the Glue API with the template's properties (make find reads it)",
    "AWS::Glue::Table": "created through the Glue API with the template's properties, and read back: its location "
    "and projection name the created archive bucket",
    "AWS::Athena::WorkGroup": "created through the Athena API with the template's configuration, and read back: "
    "results go to the created results bucket, enforced",
}
DIMENSIONS = {
    "FunctionName": ("AWS::Lambda::Function", None),
    "QueueName": ("AWS::SQS::Queue", "QueueName"),
    "TopicName": ("AWS::SNS::Topic", "TopicName"),
    "TableName": ("AWS::DynamoDB::Table", None),
    "ApiId": ("AWS::ApiGatewayV2::Api", None),
}
"""CloudWatch dimension -> the resource type it names, and the attribute (else the physical id) that names it."""

# Granted to a function although its own code never calls them, each for a reason.
LAMBDA_LOGS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
"""Lambda writes the function's logs with its role (AWSLambdaBasicExecutionRole)."""
ACTIVE_TRACING = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
}
"""Tracing: Active: the X-Ray daemon in the sandbox sends the traces (AWSXrayWriteOnlyAccess)."""
SQS_POLLER = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:DeleteMessageBatch",
    "sqs:ChangeMessageVisibility",
    "sqs:ChangeMessageVisibilityBatch",
    "sqs:GetQueueAttributes",
}
"""An SQS event source mapping polls with the function's role (SAM's SQSPollerPolicy on the function's queue)."""
CODE_EXTRAS = {
    # Powertools idempotency reads a record only when a failed conditional write returns no item.
    "WebhookReceiverFunction": {"dynamodb:GetItem"},
}


class RehearsalGap(UserWarning):
    """Something moto could not create or apply; the message says what was checked instead."""


def gap(message: str) -> None:
    warnings.warn(RehearsalGap(message), stacklevel=2)


def test_the_stack_is_created_with_every_resource_moto_can_create(stack: Stack) -> None:
    cloudformation = stack.client("cloudformation")
    (described,) = cloudformation.describe_stacks(StackName=stack.stack_id)["Stacks"]
    statuses = {
        resource["LogicalResourceId"]: resource["ResourceStatus"]
        for resource in cloudformation.describe_stack_resources(StackName=stack.stack_id)["StackResources"]
    }

    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    expected = [name for name in stack.resources if name not in stack.left_out and stack.is_created(name)]
    assert {name: statuses.get(name) for name in expected} == dict.fromkeys(expected, "CREATE_COMPLETE")
    left_out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name in filter(stack.is_created, stack.left_out):
        left_out[stack.resources[name]["Type"], stack.left_out[name]].append(name)
    for (resource_type, reason), logical_ids in sorted(left_out.items()):
        instead = CHECKED_INSTEAD.get(resource_type, "not checked")
        gap(f"left out ({reason}): {', '.join(logical_ids)}. Instead: {instead}")


def test_each_function_is_created_as_the_template_configures_it(stack: Stack) -> None:
    for function in stack.of_type("AWS::Lambda::Function"):
        expected = stack.properties(function)
        created = exercise.lambda_configuration(stack, function)
        as_created = {
            "Architectures": created.get("Architectures"),
            "Layers": [layer["Arn"] for layer in created.get("Layers", [])],
            "TracingConfig": created.get("TracingConfig"),
        }
        not_applied = [key for key, value in as_created.items() if key in expected and value != expected[key]]
        if not_applied:
            gap(
                f"moto's CloudFormation does not apply {', '.join(not_applied)} to functions: each function's layers "
                "are checked in the transformed template to be created and compatible instead"
            )

        assert created["Handler"] == expected["Handler"]
        assert created["Runtime"] == expected["Runtime"]
        assert created["Timeout"] == expected.get("Timeout", 3)
        assert created["MemorySize"] == expected.get("MemorySize", 128)
        assert created["Role"] == expected["Role"]
        # Otherwise Lambda creates the group itself on first write, and keeps its logs forever.
        assert names(stack, f"/aws/lambda/{stack.physical_ids[function]}", "AWS::Logs::LogGroup"), function
        for layer in stack.resources[function]["Properties"].get("Layers", []):
            name = layer["Ref"]
            assert stack.resources[name]["Type"] == "AWS::Lambda::LayerVersion"
            assert name not in stack.left_out
            layer_properties = stack.properties(name)
            assert expected["Runtime"] in layer_properties["CompatibleRuntimes"]
            assert set(expected.get("Architectures", ["x86_64"])) <= set(layer_properties["CompatibleArchitectures"])


def test_the_receiver_environment_names_the_stacks_own_table_topics_and_bucket(stack: Stack) -> None:
    assert receivers(stack)
    for function in receivers(stack):
        env = exercise.environment(stack, function)
        dynamodb = stack.client("dynamodb")

        table = created_of_type(stack, env["IDEMPOTENCY_TABLE"], "AWS::DynamoDB::Table")
        described = dynamodb.describe_table(TableName=env["IDEMPOTENCY_TABLE"])["Table"]
        assert described["KeySchema"] == stack.properties(table)["KeySchema"]
        ttl_specification = stack.properties(table).get("TimeToLiveSpecification", {})
        assert ttl_specification.get("Enabled"), "claims must expire: the table needs a TTL"
        ttl = dynamodb.describe_time_to_live(TableName=env["IDEMPOTENCY_TABLE"])["TimeToLiveDescription"]
        if ttl["TimeToLiveStatus"] == "DISABLED":
            gap(
                f"moto's CloudFormation does not apply {table}'s TimeToLiveSpecification: its attribute is checked "
                "against the claims the receiver writes instead"
            )
        else:
            assert ttl["AttributeName"] == ttl_specification["AttributeName"]

        routed = json.loads(env["TOPIC_ARNS"])
        topics = {topic["TopicArn"] for topic in stack.client("sns").list_topics()["Topics"]}
        for arn in [*routed.values(), env["UNROUTED_TOPIC_ARN"]]:
            assert arn in topics
            created_of_type(stack, arn, "AWS::SNS::Topic")
        assert env["UNROUTED_TOPIC_ARN"] not in routed.values()
        assert len(set(routed.values())) == len(routed), "two X-Pps-Topics share a topic"

        created_of_type(stack, env["PAYLOAD_BUCKET"], "AWS::S3::Bucket")
        stack.client("s3").head_bucket(Bucket=env["PAYLOAD_BUCKET"])


def test_every_resource_a_function_environment_names_is_the_created_one(stack: Stack) -> None:
    for function in stack.of_type("AWS::Lambda::Function"):
        declared = stack.resources[function]["Properties"].get("Environment", {}).get("Variables", {})
        created = exercise.environment(stack, function)
        for variable, value in declared.items():
            target = value.get("Ref") if isinstance(value, dict) else None
            if target in stack.resources:
                assert target not in stack.left_out, f"{function}.{variable} names {target}, which moto left out"
                assert created[variable] == stack.physical_ids[target], f"{function}.{variable}"


def test_the_records_the_receiver_writes_expire_by_the_tables_ttl_attribute(
    stack: Stack, runs: dict[str, exercise.Run]
) -> None:
    deserializer = TypeDeserializer()
    for function in receivers(stack):
        table = exercise.environment(stack, function)["IDEMPOTENCY_TABLE"]
        logical_id = created_of_type(stack, table, "AWS::DynamoDB::Table")
        ttl_attribute = stack.properties(logical_id)["TimeToLiveSpecification"]["AttributeName"]
        records = stack.client("dynamodb").scan(TableName=table)["Items"]

        assert records, f"{function} wrote no record"
        for record in records:
            assert ttl_attribute in record, f"records carry no {ttl_attribute}: the table's TTL never expires them"
            assert time.time() < deserializer.deserialize(record[ttl_attribute]) < time.time() + 366 * 86_400


def test_each_consumer_polls_its_queue_and_parks_failures_in_its_own_dead_letter_queue(stack: Stack) -> None:
    sqs = stack.client("sqs")
    mappings = consumers(stack)
    assert set(CONSUMES) <= set(mappings)
    dead_letter_queues = []
    for function, mapping in mappings.items():
        queue = created_of_type(stack, mapping["EventSourceArn"], "AWS::SQS::Queue")
        configuration = exercise.lambda_configuration(stack, function)
        attributes = sqs.get_queue_attributes(QueueUrl=stack.physical_ids[queue], AttributeNames=["All"])["Attributes"]

        assert mapping["FunctionArn"] == configuration["FunctionArn"]
        assert mapping["State"] == "Enabled"
        # The consumers answer batchItemFailures: without this Lambda ignores the answer and deletes the whole batch.
        assert "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", [])
        # Lambda refuses an SQS event source whose visibility timeout is shorter than the function's timeout.
        assert int(attributes["VisibilityTimeout"]) >= configuration["Timeout"]
        redrive = json.loads(attributes["RedrivePolicy"])
        dead_letters = created_of_type(stack, redrive["deadLetterTargetArn"], "AWS::SQS::Queue")
        assert int(redrive["maxReceiveCount"]) == int(stack.parameter("ConsumerMaxReceiveCount"))
        parked = sqs.get_queue_attributes(QueueUrl=stack.physical_ids[dead_letters], AttributeNames=["All"])
        # A message keeps its first enqueue time in the dead-letter queue: it must outlive the source's retention.
        assert int(parked["Attributes"]["MessageRetentionPeriod"]) >= int(attributes["MessageRetentionPeriod"])
        assert "RedrivePolicy" not in parked["Attributes"]
        dead_letter_queues.append(dead_letters)
    assert len(set(dead_letter_queues)) == len(dead_letter_queues), "consumers share a dead-letter queue"
    sources = {stack.logical_id_of(mapping["EventSourceArn"]) for mapping in mappings.values()}
    assert not sources & set(dead_letter_queues), "a dead-letter queue is also a consumer's source"


def test_each_consumer_queue_gets_every_webhook_of_its_topic_raw(stack: Stack) -> None:
    routed = {
        pps_topic: arn
        for function in receivers(stack)
        for pps_topic, arn in json.loads(exercise.environment(stack, function)["TOPIC_ARNS"]).items()
    }
    for function, mapping in consumers(stack).items():
        feeding = [s for s in subscriptions(stack) if s.protocol == "sqs" and s.endpoint == mapping["EventSourceArn"]]

        assert feeding, f"nothing delivers to {function}'s queue"
        for subscription in feeding:
            if subscription.from_template:
                gap("SNS subscriptions are checked as resolved from the transformed template (moto left them out)")
            created_of_type(stack, subscription.topic_arn, "AWS::SNS::Topic")
            # The consumers read the X-Pps-* headers from SQS message attributes: raw delivery.
            assert subscription.attributes.get("RawMessageDelivery") == "true", subscription.logical_id
        if function in CONSUMES:
            (subscription,) = feeding
            assert subscription.topic_arn == routed[CONSUMES[function]]
            assert "FilterPolicy" not in subscription.attributes, f"{function} must get every {CONSUMES[function]}"


def test_the_queue_subscriptions_moto_left_out_are_filled_in_as_the_template_sets_them(stack: Stack) -> None:
    left_out = [s for s in subscriptions(stack) if s.from_template and s.protocol == "sqs"]
    sns = stack.client("sns")

    assert left_out
    assert {s.logical_id for s in left_out} == {
        name for name in stack.filled_in if stack.resources[name]["Type"] == "AWS::SNS::Subscription"
    }
    for subscription in left_out:
        created = sns.get_subscription_attributes(SubscriptionArn=stack.filled_in[subscription.logical_id])
        attributes = created["Attributes"]
        assert (attributes["TopicArn"], attributes["Protocol"], attributes["Endpoint"]) == (
            subscription.topic_arn,
            subscription.protocol,
            subscription.endpoint,
        )
        for name, value in subscription.attributes.items():
            as_json = name.endswith("Policy")
            assert (json.loads(attributes[name]) if as_json else attributes[name]) == (
                json.loads(value) if as_json else value
            ), f"{subscription.logical_id}.{name}"
        # Whatever the reading of the template: raw, and parked in one of this stack's queues
        assert attributes["RawMessageDelivery"] == "true", subscription.logical_id
        parked_in = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
        assert stack.logical_id_of(parked_in, "AWS::SQS::Queue"), f"{subscription.logical_id} parks in {parked_in}"


def test_each_subscribed_queue_lets_its_topic_send_and_no_other(stack: Stack) -> None:
    for subscription in subscriptions(stack):
        if subscription.protocol != "sqs":
            continue
        queue = created_of_type(stack, subscription.endpoint, "AWS::SQS::Queue")
        granting = [
            statement
            for statement in queue_policy_statements(stack, stack.physical_ids[queue])
            if statement["Effect"] == "Allow"
            and statement.get("Principal") == {"Service": "sns.amazonaws.com"}
            and allows(statements({"Statement": [statement]}), "sqs:SendMessage", subscription.endpoint)
        ]

        assert granting, f"{queue}'s policy does not let SNS deliver {subscription.logical_id}"
        for statement in granting:
            condition = statement.get("Condition", {})
            source = condition.get("ArnEquals", condition.get("ArnLike", {})).get("aws:SourceArn")
            assert source in (subscription.topic_arn, [subscription.topic_arn]), (
                f"{queue} lets SNS send from {source}, not only from {subscription.topic_arn}"
            )


def test_every_subscription_parks_what_sns_cannot_deliver_in_a_created_queue_its_topic_may_write(
    stack: Stack,
) -> None:
    for subscription in subscriptions(stack):
        redrive = json.loads(subscription.attributes.get("RedrivePolicy", "{}"))
        assert redrive.get("deadLetterTargetArn"), f"{subscription.logical_id} has no RedrivePolicy"
        queue = created_of_type(stack, redrive["deadLetterTargetArn"], "AWS::SQS::Queue")
        granting = [
            statement
            for statement in queue_policy_statements(stack, stack.physical_ids[queue])
            if statement["Effect"] == "Allow"
            and statement.get("Principal") == {"Service": "sns.amazonaws.com"}
            and allows(statements({"Statement": [statement]}), "sqs:SendMessage", redrive["deadLetterTargetArn"])
        ]
        sources = [
            source
            for statement in granting
            for source in _as_list(statement.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn"))
        ]
        assert subscription.topic_arn in sources, f"{queue} does not let {subscription.topic_arn} park messages"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("consumer", ["OrdersPlaced", "OrdersUpdated"])
def test_each_consumer_mapping_is_created_with_its_maximum_concurrency(consumer: str, stack: Stack) -> None:
    mapping = stack.client("lambda").get_event_source_mapping(UUID=stack.physical_ids[f"{consumer}EventSource"])
    configured = mapping.get("ScalingConfig", {}).get("MaximumConcurrency")
    if configured is None:
        gap(f"moto's CloudFormation does not keep {consumer}EventSource's ScalingConfig: read from the template")
        configured = stack.properties(f"{consumer}EventSource")["ScalingConfig"]["MaximumConcurrency"]
    assert int(configured) == int(load_template()["Parameters"][f"{consumer}MaximumConcurrency"]["Default"])


def test_the_receiver_reserves_no_concurrency_unless_asked(stack: Stack) -> None:
    receiver = stack.physical_ids["WebhookReceiverFunction"]
    assert "ReservedConcurrentExecutions" not in stack.properties("WebhookReceiverFunction")
    assert "ReservedConcurrentExecutions" not in stack.client("lambda").get_function_concurrency(FunctionName=receiver)


def test_every_subscription_is_on_a_created_topic_and_can_reach_its_endpoint(stack: Stack) -> None:
    iam = stack.client("iam")
    for subscription in subscriptions(stack):
        created_of_type(stack, subscription.topic_arn, "AWS::SNS::Topic")
        endpoint = stack.logical_id_of(subscription.endpoint)
        if subscription.protocol in ("sqs", "lambda"):
            assert endpoint is not None, f"{subscription.logical_id} delivers to {subscription.endpoint}"
        role_arn = subscription.attributes.get("SubscriptionRoleArn")
        if role_arn is None:
            continue
        role = role_arn.rsplit("/", 1)[-1]
        trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        assert any(
            statement["Effect"] == "Allow"
            and statement.get("Principal") == {"Service": "sns.amazonaws.com"}
            and "sts:AssumeRole" in statement["Action"]
            for statement in raw_statements(trust)
        ), f"{role} does not let SNS assume it"
        action = {"firehose": "firehose:PutRecord"}.get(subscription.protocol)
        if action:
            assert allows(role_statements(stack, role), action, subscription.endpoint), f"{role} cannot {action}"
        if endpoint is None:
            gap(
                f"{subscription.logical_id}: its {subscription.protocol} endpoint was left out, so only the role "
                "that delivers to it is checked"
            )


def test_post_webhooks_on_the_http_api_invokes_the_receiver(stack: Stack) -> None:
    routes = stack.routes()
    (receiver,) = receivers(stack)
    policy = json.loads(stack.client("lambda").get_policy(FunctionName=stack.physical_ids[receiver])["Policy"])

    assert routes["POST /webhooks"] == (exercise.lambda_configuration(stack, receiver)["FunctionArn"], "2.0")
    assert any(
        statement["Effect"] == "Allow"
        and statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
        and statement["Action"] == "lambda:InvokeFunction"
        and str(statement["Condition"]["ArnLike"]["AWS:SourceArn"]).endswith("/POST/webhooks")
        for statement in policy["Statement"]
    ), policy


def test_alarms_watch_and_notify_resources_of_this_stack(stack: Stack) -> None:
    emitted = {
        (env["POWERTOOLS_METRICS_NAMESPACE"], env["POWERTOOLS_SERVICE_NAME"])
        for env in (exercise.environment(stack, name) for name in stack.of_type("AWS::Lambda::Function"))
        if "POWERTOOLS_METRICS_NAMESPACE" in env
    }
    for alarm in stack.of_type("AWS::CloudWatch::Alarm"):
        properties = stack.properties(alarm)
        for action in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            for arn in properties.get(action, []):
                created_of_type(stack, arn, "AWS::SNS::Topic")
        for metric in [properties, *(node for node in nodes(properties) if "Namespace" in node)]:
            for dimension in metric.get("Dimensions", []):
                name, value = dimension["Name"], dimension["Value"]
                if name in DIMENSIONS:
                    assert names(stack, value, *DIMENSIONS[name]), f"{alarm}: {name} {value} is none of this stack's"
                if name == "service":  # Powertools' dimension on the functions' own metrics
                    assert (metric["Namespace"], value) in emitted, f"{alarm}: no function emits {value} metrics"
    for metric_filter in stack.of_type("AWS::Logs::MetricFilter"):
        log_group = stack.properties(metric_filter)["LogGroupName"]
        assert names(stack, log_group, "AWS::Logs::LogGroup"), f"{metric_filter} filters {log_group}, not ours"


def test_the_example_subscriber_stack_imports_only_what_this_stack_exports(stack: Stack) -> None:
    exports = {export["Name"] for export in stack.client("cloudformation").list_exports()["Exports"]}
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        example = load_template(path)
        stack_name = {name: stack.name for name in example.get("Parameters", {}) if name.endswith("StackName")}
        resolver = Resolver(example, refs={}, attributes={}, parameters=stack_name)
        imports = {resolver.resolve(node["Fn::ImportValue"]) for node in nodes(example) if "Fn::ImportValue" in node}

        assert imports, path
        assert imports <= exports, f"{path.name} imports {sorted(imports - exports)}"


def test_webhooks_flow_from_the_receiver_through_the_topics_to_the_consumers(
    stack: Stack, runs: dict[str, exercise.Run]
) -> None:
    for function in receivers(stack):
        outcomes = dict(runs[function].outcomes)
        assert outcomes.pop("publish fails") == 500
        assert set(outcomes.values()) == {200}, outcomes
    for function in consumers(stack):
        outcomes = runs[function].outcomes
        assert outcomes["batch"] == {"batchItemFailures": []}
        assert outcomes["batch size"] >= 2
        assert outcomes["offloaded in batch"] >= 1
    for function, pps_topic in CONSUMES.items():
        table = exercise.environment(stack, function)["ORDERS_TABLE"]
        orders = {item["orderId"]["S"] for item in stack.client("dynamodb").scan(TableName=table)["Items"]}
        assert {"ORD-1001", f"ORD-BIG-{pps_topic}"} <= orders


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_recorded_calls_are_all_that_went_over_the_wire(function: str, runs: dict[str, exercise.Run]) -> None:
    if function not in runs:
        gap(f"{function} has no scenario: its role is not compared with what its code calls")
        pytest.skip(f"no scenario for {function}")
    run = runs[function]

    assert run.calls, f"{function} made no AWS call"
    assert {call.operation for call in run.calls} == set(run.over_the_wire)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_role_grants_every_call_its_code_makes(
    function: str, stack: Stack, runs: dict[str, exercise.Run]
) -> None:
    if function not in runs:
        pytest.skip(f"no scenario for {function}")
    role = function_role(stack, function)

    refused = {(c.action, c.resource) for c in runs[function].calls if not allows(role, c.action, c.resource)}
    assert not refused, f"{function}'s role refuses calls its code makes"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_role_grants_only_what_its_code_calls(
    function: str, stack: Stack, runs: dict[str, exercise.Run]
) -> None:
    if function not in runs:
        pytest.skip(f"no scenario for {function}")
    role = function_role(stack, function)
    called = {call.action.lower() for call in runs[function].calls}
    justified: set[str] = LAMBDA_LOGS | CODE_EXTRAS.get(function, set())
    if stack.properties(function).get("TracingConfig", {}).get("Mode") == "Active":
        justified |= ACTIVE_TRACING
    if function in consumers(stack):
        justified |= SQS_POLLER
    explained = called | {action.lower() for action in justified}

    unexplained = {action for action in granted_actions(role) if action.lower() not in explained}
    assert not unexplained, f"{function}'s role grants actions its code never calls"
    everywhere = {
        statement.actions
        for statement in role
        if statement.effect == "Allow"
        and "*" in statement.resources
        and {action.lower() for action in statement.actions} & called
    }
    assert not everywhere, f"{function}'s role grants what its code calls on every resource"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_consumer_may_poll_its_own_queue_and_no_other(function: str, stack: Stack) -> None:
    mappings = consumers(stack)
    if function not in mappings:
        pytest.skip(f"{function} is not fed by a queue")
    role = function_role(stack, function)
    own = mappings[function]["EventSourceArn"]
    region, account = own.split(":")[3:5]
    others = [
        f"arn:aws:sqs:{region}:{account}:{stack.physical_ids[queue].rsplit('/', 1)[-1]}"
        for queue in stack.of_type("AWS::SQS::Queue")
    ]

    assert all(allows(role, action, own) for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage"))
    assert [arn for arn in others if arn != own and allows(role, "sqs:ReceiveMessage", arn)] == []


# Reading the created stack.


def receivers(stack: Stack) -> list[str]:
    return [name for name in stack.of_type("AWS::Lambda::Function") if event_types(name) & set(API_EVENTS)]


def consumers(stack: Stack) -> dict[str, dict[str, Any]]:
    """Each function fed by an SQS queue -> its event source mapping, as CloudFormation created it (before the
    stack's creator took over its polling from moto's Lambda)."""
    found = {}
    for mapping in stack.event_source_mappings.values():
        function = stack.logical_id_of(mapping["FunctionArn"], "AWS::Lambda::Function")
        if function is not None and mapping["EventSourceArn"].startswith("arn:aws:sqs:"):
            found[function] = mapping
    return found


def created_of_type(stack: Stack, physical: str, resource_type: str) -> str:
    """The logical id of the created resource of `resource_type` that `physical` (a name, URL or ARN) names."""
    name = stack.logical_id_of(physical)
    assert name is not None, f"{physical} is no resource of this stack"
    assert stack.resources[name]["Type"] == resource_type, f"{physical} is a {stack.resources[name]['Type']}"
    return name


def names(stack: Stack, value: str, resource_type: str, attribute: str | None = None) -> bool:
    """Whether `value` is how this stack names one of its resources of that type (left-out ones included)."""
    return any(
        value == (stack.attribute(name, attribute) if attribute else stack.resolver().resolve({"Ref": name}))
        for name in stack.of_type(resource_type)
    )


def queue_policy_statements(stack: Stack, queue_url: str) -> list[dict[str, Any]]:
    """The statements of the queue policies that apply to this queue: as created, or from the template."""
    policies = stack.of_type("AWS::SQS::QueuePolicy")
    if not policies.keys() & stack.left_out.keys():
        policy = stack.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])
        return raw_statements(policy["Attributes"].get("Policy", '{"Statement": []}'))
    found: list[dict[str, Any]] = []
    for name in policies:
        properties = stack.properties(name)
        if queue_url in properties["Queues"]:
            found += raw_statements(properties["PolicyDocument"])
    return found


def role_statements(stack: Stack, role: str) -> list[Statement]:
    """Every statement of the role's inline and managed policies, as created."""
    iam = stack.client("iam")
    found: list[Statement] = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        found += statements(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
    managed = [policy["PolicyArn"] for policy in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
    declared = stack.properties(created_of_type(stack, role, "AWS::IAM::Role")).get("ManagedPolicyArns", [])
    if declared and not managed:
        gap(
            "moto's CloudFormation does not attach ManagedPolicyArns: they are read from the transformed template, "
            "their documents from moto's copy of the AWS managed policies"
        )
        managed = declared
    for arn in managed:
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        found += statements(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
    return found


def function_role(stack: Stack, function: str) -> list[Statement]:
    return role_statements(stack, exercise.lambda_configuration(stack, function)["Role"].rsplit("/", 1)[-1])


def nodes(node: Any) -> list[dict[str, Any]]:
    """Every mapping in a template, depth first."""
    if isinstance(node, list):
        return [found for item in node for found in nodes(item)]
    if isinstance(node, dict):
        return [node, *(found for value in node.values() for found in nodes(value))]
    return []


def test_the_archive_table_reads_the_created_archive_bucket_where_the_stream_writes(stack: Stack) -> None:
    """moto's CloudFormation cannot create Glue or Athena resources: create_stack makes them through their APIs
    (RehearsalGap says so), and here they are read back as make find uses them, by the stack's outputs."""
    outputs = {
        output["OutputKey"]: output["OutputValue"]
        for output in stack.client("cloudformation").describe_stacks(StackName=stack.stack_id)["Stacks"][0]["Outputs"]
    }
    bucket = stack.physical_ids["ArchiveBucket"]
    glue = stack.client("glue")

    table = glue.get_table(DatabaseName=outputs["ArchiveDatabaseName"], Name=outputs["ArchiveTableName"])["Table"]
    stream = stack.properties("WebhookArchiveStream")["ExtendedS3DestinationConfiguration"]

    assert outputs["ArchiveBucketName"] == bucket
    assert stream["BucketARN"] == f"arn:aws:s3:::{bucket}"
    assert table["StorageDescriptor"]["Location"] == f"s3://{bucket}/webhooks/"
    assert table["Parameters"]["storage.location.template"] == f"s3://{bucket}/" + stream["Prefix"].replace(
        "!{partitionKeyFromQuery:", "${"
    )
    assert table["Parameters"]["projection.topic.type"] == "injected"
    assert [key["Name"] for key in table["PartitionKeys"]] == ["topic", "date"]
    assert glue.get_database(Name=outputs["ArchiveDatabaseName"])["Database"]["Name"] == "pps_webhooks_archive"


def test_the_archive_workgroup_writes_encrypted_results_to_the_created_results_bucket(stack: Stack) -> None:
    outputs = {
        output["OutputKey"]: output["OutputValue"]
        for output in stack.client("cloudformation").describe_stacks(StackName=stack.stack_id)["Stacks"][0]["Outputs"]
    }
    results_bucket = stack.physical_ids["ArchiveQueryResultsBucket"]
    s3 = stack.client("s3")

    workgroup = stack.client("athena").get_work_group(WorkGroup=outputs["ArchiveWorkGroupName"])["WorkGroup"]
    configuration = workgroup["Configuration"]

    assert outputs["ArchiveQueryResultsBucketName"] == results_bucket
    assert configuration["ResultConfiguration"]["OutputLocation"] == f"s3://{results_bucket}/results/"
    assert configuration["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] > 0
    assert s3.head_bucket(Bucket=results_bucket)
    # moto's CloudFormation does not apply a bucket's lifecycle, encryption or public access block: the resolved
    # properties are checked (tests/unit/test_operations_template.py checks their values)
    gap("moto's CloudFormation does not apply S3 lifecycle rules: ArchiveQueryResultsBucket's are resolved instead")
    (rule,) = stack.properties("ArchiveQueryResultsBucket")["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] <= 14
