"""template.yaml as `sam deploy` hands it to CloudFormation, created as a stack in moto: the one path from the
template to anything that imitates AWS (the deploy rehearsal, the local run, the tests, the bench, local-invoke).

Packaged as `sam package` does (each CodeUri/ContentUri directory zipped to S3, the property rewritten to its
s3:// location), transformed by the SAM translator as CloudFormation's AWS::Serverless transform does, then
created with CreateStack. Moto's CloudFormation cannot create every resource type: those resources are left
out of the created stack, each with its reason, and a reference to one from a created resource becomes a
placeholder ARN, so the rest can still be created and checked. What the callers need of the left-out ones is
created here instead, once (`_fill_in`), and moto's own Lambda is kept from running the functions
(`_take_over_polling`): whoever creates the stack runs them.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import boto3
from moto.cloudformation.parsing import NULL_MODELS, get_model_map
from moto.sqs.models import Queue, sqs_backends
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.translator.transform import transform

from tools.devkit.emulator import ACCOUNT, REGION, STACK_NAME
from tools.devkit.paths import ROOT
from tools.devkit.template import Resolver

ARTIFACTS_BUCKET = "pps-webhooks-artifacts"
_LOCAL_CODE = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


# Its own session, never boto3's default: the calls the functions' code makes are recorded on that one.
_SESSION = boto3.session.Session(region_name=REGION)


@cache
def client(endpoint: str, service: str) -> Any:
    """One client per emulator and service for the whole process (clients are thread-safe, and slow to make)."""
    return _SESSION.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


class BundledManagedPolicies:
    """In place of samtranslator's ManagedPolicyLoader, which lists AWS managed policies from IAM: the map of
    their names to ARNs that samtranslator ships (there is no IAM to ask here)."""

    def load(self) -> dict[str, str]:
        return dict(get_bundled_managed_policy_map("aws") or {})


def package(template: Mapping[str, Any], upload: Callable[[str, bytes], None]) -> dict[str, Any]:
    """What `sam package` does: zip each local code directory, upload it, point the template at it."""
    packaged = copy.deepcopy(dict(template))
    for name, resource in packaged["Resources"].items():
        key = _LOCAL_CODE.get(resource["Type"])
        properties = resource.get("Properties", {})
        location = properties.get(key)
        if key is None or not isinstance(location, str) or location.startswith("s3://"):
            continue
        archive = zip_directory(ROOT / location)
        object_key = f"{name}/{hashlib.md5(archive, usedforsecurity=False).hexdigest()}.zip"
        upload(object_key, archive)
        properties[key] = f"s3://{ARTIFACTS_BUCKET}/{object_key}"
    return packaged


def zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(directory.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                archive.write(file, file.relative_to(directory))
    return buffer.getvalue()


def transformed(packaged: Mapping[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = transform(copy.deepcopy(dict(packaged)), dict(parameters), BundledManagedPolicies())
    return result


def unsupported_by_moto(template: Mapping[str, Any]) -> dict[str, str]:
    """Logical id -> why moto's CloudFormation cannot create it, from moto's own model map."""
    models = get_model_map()
    return {
        name: f"moto's CloudFormation has no model for {resource['Type']}"
        for name, resource in template["Resources"].items()
        if resource["Type"] not in models
        and resource["Type"] not in NULL_MODELS
        and not resource["Type"].startswith("Custom::")
    }


def placeholder(logical_id: str, attribute: str | None = None) -> str:
    suffix = f"/{attribute}" if attribute else ""
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:left-out/{logical_id}{suffix}"


def without(template: Mapping[str, Any], left_out: Mapping[str, str]) -> dict[str, Any]:
    """The template minus the left-out resources; references to them become placeholders."""

    def scrub(node: Any) -> Any:
        if isinstance(node, list):
            return [scrub(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref" and value in left_out:
                return placeholder(value)
            if key == "Fn::GetAtt" and value[0] in left_out:
                return placeholder(value[0], ".".join(value[1:]))
            if key == "Fn::Sub":
                return {key: _sub_without(value, left_out) if isinstance(value, str) else scrub(value)}
        return {key: scrub(value) for key, value in node.items()}

    kept: dict[str, Any] = {}
    for name, resource in template["Resources"].items():
        if name in left_out:
            continue
        resource = scrub(resource)
        depends_on = resource.get("DependsOn")
        if depends_on is not None:
            remaining = [d for d in ([depends_on] if isinstance(depends_on, str) else depends_on) if d not in left_out]
            if remaining:
                resource["DependsOn"] = remaining
            else:
                del resource["DependsOn"]
        kept[name] = resource
    return {**template, "Resources": kept, "Outputs": scrub(template.get("Outputs", {}))}


def _sub_without(text: str, left_out: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, _, attribute = match.group(1).partition(".")
        return placeholder(name, attribute or None) if name in left_out else match.group(0)

    return re.sub(r"\$\{([^}!]+)\}", replace, text)


class _StackAttributes(Mapping[str, str]):
    """`Fn::GetAtt` values of the created stack's resources, worked out when first asked for."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._cache: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        if key not in self._cache:
            self._cache[key] = self._stack.attribute(*key.split(".", 1))
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)


class StackResolver(Resolver):
    """tools.devkit.template's Resolver, plus the condition functions a transformed template may hold."""

    def resolve(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, value),) = node.items()
            if key == "Fn::Not":
                return not self._truth(value[0])
            if key == "Fn::And":
                return all(self._truth(item) for item in value)
            if key == "Fn::Or":
                return any(self._truth(item) for item in value)
        return super().resolve(node)

    def _truth(self, node: Any) -> bool:
        if isinstance(node, dict) and set(node) == {"Condition"}:
            return self.condition(node["Condition"])
        return bool(self.resolve(node))

    def _sub(self, value: Any) -> str:
        # "${!name}" is CloudFormation's escape for a literal "${name}" (Athena's storage.location.template).
        return super()._sub(value).replace("${!", "${")


@dataclass
class Stack:
    endpoint: str
    name: str
    stack_id: str
    parameters: dict[str, str]
    source: dict[str, Any]
    """The SAM template it was created from, as written (local CodeUri directories)."""
    template: dict[str, Any]
    """The transformed template: what CloudFormation creates from the source."""
    left_out: dict[str, str]
    """Logical id -> why moto's CloudFormation could not create it."""
    physical_ids: dict[str, str] = field(default_factory=dict)
    """Logical id -> physical id of each resource moto's CloudFormation created."""
    filled_in: dict[str, str] = field(default_factory=dict)
    """Logical id -> physical id of each left-out resource created here instead, through its service's API."""
    event_source_mappings: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Logical id -> each event source mapping's configuration as CloudFormation created it (`_take_over_polling`
    then detached moto's own polling of it; its live State is whatever `make pause`/`make resume` made it)."""

    def client(self, service: str) -> Any:
        return client(self.endpoint, service)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template["Resources"]
        return resources

    @property
    def refs(self) -> dict[str, str]:
        """What `!Ref <logical id>` gives: table and bucket names, topic ARNs, queue URLs, function names; a
        placeholder ARN for what was left out."""
        return {**{name: placeholder(name) for name in self.left_out}, **self.physical_ids, **self.filled_in}

    @cached_property
    def attributes(self) -> Mapping[str, str]:
        """What `!GetAtt <logical id>.<attribute>` gives, keyed "<logical id>.<attribute>"."""
        return _StackAttributes(self)

    def resolver(self) -> StackResolver:
        return StackResolver(
            self.template,
            refs=self.refs,
            attributes=self.attributes,
            parameters=self.parameters,
            region=REGION,
            account=ACCOUNT,
            stack_name=self.name,
        )

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """The template's resources of that type that CloudFormation creates (conditions applied)."""
        return {
            name: resource
            for name, resource in self.resources.items()
            if resource["Type"] == resource_type and self.is_created(name)
        }

    def is_created(self, logical_id: str) -> bool:
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.resolver().condition(condition)

    def parameter(self, name: str) -> str:
        return self.parameters.get(name, str(self.template["Parameters"][name].get("Default", "")))

    def properties(self, logical_id: str) -> dict[str, Any]:
        """A resource's properties as CloudFormation would pass them: intrinsics resolved against this stack."""
        resolved: dict[str, Any] = self.resolver().resolve(self.resources[logical_id].get("Properties", {}))
        return resolved

    def attribute(self, logical_id: str, attribute: str) -> str:
        if logical_id in self.left_out:
            return placeholder(logical_id, attribute)
        resource_type = self.resources[logical_id]["Type"]
        reader = _ATTRIBUTES.get((resource_type, attribute))
        if reader is None:
            raise KeyError(f"{logical_id}.{attribute}: cannot read {resource_type}.{attribute} yet")
        return reader(self, self.physical_ids[logical_id])

    def logical_id_of(self, physical: str, resource_type: str | None = None) -> str | None:
        """The logical id of the created resource (of that type) with this physical id or ARN."""
        for name, physical_id in self.physical_ids.items():
            created_type = self.resources[name]["Type"]
            if resource_type not in (None, created_type):
                continue
            has_arn = (created_type, "Arn") in _ATTRIBUTES
            if physical_id and physical in (physical_id, self.attribute(name, "Arn") if has_arn else None):
                return name
        return None

    def routes(self) -> dict[str, tuple[str, str]]:
        """Each HTTP API route ("POST /webhooks", "ANY /orders", "$default") -> the ARN of the function it
        invokes, and the payload format version."""
        found: dict[str, tuple[str, str]] = {}
        for api in self.of_type("AWS::ApiGatewayV2::Api"):
            for path, methods in self.properties(api).get("Body", {}).get("paths", {}).items():
                for method, operation in methods.items():
                    integration = operation.get("x-amazon-apigateway-integration", {})
                    if integration.get("type") != "aws_proxy" or "/functions/" not in integration.get("uri", ""):
                        continue
                    function = integration["uri"].split("/functions/", 1)[1].removesuffix("/invocations")
                    verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                    key = "$default" if path.lstrip("/") == "$default" else f"{verb} {path}"
                    found[key] = (function, str(integration.get("payloadFormatVersion", "1.0")))
        return found


def _sqs_arn(url: str) -> str:
    account, name = url.rstrip("/").split("/")[-2:]
    return f"arn:aws:sqs:{REGION}:{account}:{name}"


# GetAtt as CloudFormation answers it, from the physical id. A role's ARN holds its path, so that one is asked.
_ATTRIBUTES: dict[tuple[str, str], Callable[[Stack, str], str]] = {
    ("AWS::SQS::Queue", "Arn"): lambda stack, url: _sqs_arn(url),
    ("AWS::SQS::Queue", "QueueName"): lambda stack, url: url.rstrip("/").rsplit("/", 1)[-1],
    ("AWS::SQS::Queue", "QueueUrl"): lambda stack, url: url,
    ("AWS::SNS::Topic", "TopicArn"): lambda stack, arn: arn,
    ("AWS::SNS::Topic", "TopicName"): lambda stack, arn: arn.rsplit(":", 1)[-1],
    ("AWS::S3::Bucket", "Arn"): lambda stack, name: f"arn:aws:s3:::{name}",
    ("AWS::DynamoDB::Table", "Arn"): lambda stack, name: f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
    ("AWS::Lambda::Function", "Arn"): lambda stack, name: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
    ("AWS::IAM::Role", "Arn"): lambda stack, name: str(stack.client("iam").get_role(RoleName=name)["Role"]["Arn"]),
    ("AWS::KMS::Key", "Arn"): lambda stack, key: f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}",
    ("AWS::KMS::Key", "KeyId"): lambda stack, key: key,
    ("AWS::Logs::LogGroup", "Arn"): lambda stack, name: f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
}


@dataclass(frozen=True)
class _Prepared:
    template: dict[str, Any]
    left_out: dict[str, str]
    archives: dict[str, bytes]
    """Artifact key -> body: the packaged code, and the template CreateStack reads."""


@cache
def _prepared(source: str, parameters: tuple[tuple[str, str], ...]) -> _Prepared:
    """Packaged and transformed once per source and parameter set in a process: the translator is pure, and the
    code does not change under a running process (the local run imports it from its directories anyway)."""
    archives: dict[str, bytes] = {}
    template = transformed(package(json.loads(source), archives.__setitem__), dict(parameters))
    left_out = unsupported_by_moto(template)
    archives["template.json"] = json.dumps(without(template, left_out)).encode()
    return _Prepared(template, left_out, archives)


def create_stack[S: Stack](
    kind: type[S], endpoint: str, source: Mapping[str, Any], parameters: Mapping[str, str], name: str = STACK_NAME
) -> S:
    """Package, transform and create `source` (a SAM template) as the CloudFormation stack `name` in moto; then
    fill in what moto's CloudFormation left out and take over the functions' event source mappings."""
    prepared = _prepared(json.dumps(source), tuple(sorted(parameters.items())))
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    for key, body in prepared.archives.items():
        s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=body)
    cloudformation = client(endpoint, "cloudformation")
    # Over 51,200 bytes a template must go through S3, as `sam deploy` sends it.
    stack_id: str = cloudformation.create_stack(
        StackName=name,
        TemplateURL=f"https://{ARTIFACTS_BUCKET}.s3.amazonaws.com/template.json",
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )["StackId"]
    template, left_out = copy.deepcopy(prepared.template), dict(prepared.left_out)
    stack = kind(endpoint, name, stack_id, dict(parameters), copy.deepcopy(dict(source)), template, left_out)
    for resource in cloudformation.describe_stack_resources(StackName=stack_id)["StackResources"]:
        stack.physical_ids[resource["LogicalResourceId"]] = resource.get("PhysicalResourceId") or ""
    _fill_in(stack)
    _take_over_polling(stack)
    return stack


def _fill_in(stack: Stack) -> None:
    """The left-out resources that webhooks flow through, created through their service's API as CloudFormation
    would: each SNS subscription of a queue of this stack (the consumers' queues).

    And the archive's Glue database and table and its Athena workgroup, through the Glue and Athena APIs with the
    template's properties, so that they can be read back (moto's Athena runs no SQL: make find's tests hand it the
    rows instead).

    Not emulated: the HTTP API and subscriptions to a function (whoever runs the functions serves and delivers
    those), the archive's Firehose stream and its subscriptions, e-mail, alarms, metric filters and policies.
    """
    for subscription in subscriptions(stack):
        queue = stack.logical_id_of(subscription.endpoint, "AWS::SQS::Queue")
        if subscription.from_template and subscription.protocol == "sqs" and queue is not None:
            stack.filled_in[subscription.logical_id] = subscribe(
                stack.client("sns"),
                subscription.topic_arn,
                subscription.protocol,
                subscription.endpoint,
                subscription.attributes,
            )
    for name in stack.of_type("AWS::Glue::Database"):
        if name in stack.left_out:
            database = stack.properties(name)["DatabaseInput"]
            stack.client("glue").create_database(DatabaseInput=database)
            stack.filled_in[name] = database["Name"]
    for name in stack.of_type("AWS::Glue::Table"):
        if name in stack.left_out:
            properties = stack.properties(name)
            stack.client("glue").create_table(
                DatabaseName=properties["DatabaseName"], TableInput=properties["TableInput"]
            )
            stack.filled_in[name] = properties["TableInput"]["Name"]
    for name in stack.of_type("AWS::Athena::WorkGroup"):
        if name in stack.left_out:
            properties = stack.properties(name)
            stack.client("athena").create_work_group(
                Name=properties["Name"],
                Description=properties.get("Description", ""),
                Configuration=properties.get("WorkGroupConfiguration", {}),
            )
            stack.filled_in[name] = properties["Name"]


def _take_over_polling(stack: Stack) -> None:
    """Keep moto's own Lambda from polling the stack's event source mappings, and leave each mapping as created
    (State Enabled, its configuration recorded in `stack.event_source_mappings`): whoever created the stack polls
    instead, as Lambda would, and the mapping's live State is the switch it honours (`make pause` / `make resume`
    call UpdateEventSourceMapping; tools.local.pollers reads the State before each receive). The tests and the
    rehearsal invoke the consumers themselves.

    Left to itself, moto's Lambda takes every message sent to a mapped queue and runs the function in Docker
    (without Docker, fails it, counting a receive towards maxReceiveCount). It does so from one place only, the
    queue's own `add_message` (moto.sqs.models.Queue), for each mapping in the queue's `lambda_event_source_mappings`
    that is enabled. Those mappings are detached from the queue objects here, in this process's moto backend: moto's
    server (tools.devkit.emulator.moto_server, a thread) runs in the process that creates the stack. Where moto runs
    in another process (the bench's own moto_server), no queue of the stack is in this process: the mappings are
    disabled through the API instead, as before pausing existed (nothing polls them there). A stack whose queues
    are only partly found here fails loudly: something else would be taking its messages.
    """
    aws_lambda = stack.client("lambda")
    mappings: dict[str, dict[str, Any]] = {}
    for name in stack.of_type("AWS::Lambda::EventSourceMapping"):
        if name in stack.left_out:
            continue
        created = aws_lambda.get_event_source_mapping(UUID=stack.physical_ids[name])
        created.pop("ResponseMetadata", None)
        stack.event_source_mappings[name] = mappings[name] = created
    queues = {name: _in_process_queue(m["EventSourceArn"]) for name, m in mappings.items() if _is_sqs(m)}
    if queues and not any(queues.values()):
        for name in mappings:
            aws_lambda.update_event_source_mapping(UUID=stack.physical_ids[name], Enabled=False)
        return
    for name, queue in queues.items():
        if queue is None:
            raise RuntimeError(
                f"{name}: its queue {mappings[name]['EventSourceArn']} is not in this process's moto, though the "
                "stack's other queues are: moto's own Lambda would take its messages"
            )
        queue.lambda_event_source_mappings.pop(mappings[name]["FunctionArn"], None)


def _is_sqs(mapping: Mapping[str, Any]) -> bool:
    return str(mapping.get("EventSourceArn", "")).startswith("arn:aws:sqs:")


def _in_process_queue(arn: str) -> Queue | None:
    """The moto queue object of `arn` in this process's SQS backend (the emulator's internals), or None."""
    _, _, _, region, account, name = arn.split(":", 5)
    return sqs_backends[account][region].queues.get(name)


_SUBSCRIPTION_ATTRIBUTES = (
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "ReplayPolicy",
    "SubscriptionRoleArn",
)


@dataclass(frozen=True)
class Subscription:
    logical_id: str
    topic_arn: str
    protocol: str
    endpoint: str
    attributes: dict[str, str]
    """As SNS takes them: "true"/"false", policies as JSON text."""
    from_template: bool
    """Moto could not create it: these are the transformed template's settings, not a created subscription's."""


def subscriptions(stack: Stack) -> list[Subscription]:
    """Every AWS::SNS::Subscription of the stack: as created, or, if moto could not create it, as resolved from
    the transformed template."""
    found = []
    for name in stack.of_type("AWS::SNS::Subscription"):
        if name not in stack.left_out:
            arn = stack.physical_ids[name]
            attributes = stack.client("sns").get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
            found.append(
                Subscription(
                    name,
                    attributes["TopicArn"],
                    attributes["Protocol"],
                    attributes["Endpoint"],
                    {key: attributes[key] for key in _SUBSCRIPTION_ATTRIBUTES if key in attributes},
                    from_template=False,
                )
            )
            continue
        properties = stack.properties(name)
        found.append(
            Subscription(
                name,
                properties["TopicArn"],
                properties["Protocol"],
                properties["Endpoint"],
                {key: _attribute(properties[key]) for key in _SUBSCRIPTION_ATTRIBUTES if key in properties},
                from_template=True,
            )
        )
    return found


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def subscribe(
    sns: Any, topic_arn: str, protocol: str, endpoint: str, attributes: Mapping[str, Any] | None = None
) -> str:
    """Subscribe through the SNS API; `attributes` (RawMessageDelivery, FilterPolicy, RedrivePolicy...) as SNS
    takes them or as a template writes them (true, policies as objects); None leaves one unset."""
    arn: str = sns.subscribe(
        TopicArn=topic_arn,
        Protocol=protocol,
        Endpoint=endpoint,
        Attributes={key: _attribute(value) for key, value in (attributes or {}).items() if value is not None},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return arn
