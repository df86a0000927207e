"""template.yaml's operations: alarms that say what to do, the dashboard, the archive."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tools.devkit.paths import ROOT
from tools.devkit.template import load_template, resources_of_type

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
ALARMS = resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm")


def alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """Every metric an alarm reads, whether single-metric or metric math."""
    props = alarm["Properties"]
    if "Metrics" in props:
        return [query["MetricStat"]["Metric"] for query in props["Metrics"] if "MetricStat" in query]
    return [{key: props[key] for key in ("Namespace", "MetricName", "Dimensions") if key in props}]


def watched(namespace: str, metric: str) -> list[dict[str, Any]]:
    return [
        {dimension["Name"]: dimension["Value"] for dimension in watched_metric.get("Dimensions", [])}
        for alarm in ALARMS.values()
        for watched_metric in alarm_metrics(alarm)
        if (watched_metric["Namespace"], watched_metric["MetricName"]) == (namespace, metric)
    ]


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_every_alarm_notifies_the_alarm_topic_and_says_what_to_do(name: str) -> None:
    props = ALARMS[name]["Properties"]
    assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    # The queue-age alarms keep their state without data: SQS stops publishing for a queue idle 6 hours.
    ignored = props.get("MetricName") == "ApproximateAgeOfOldestMessage"
    assert props["TreatMissingData"] == ("ignore" if ignored else "notBreaching")
    description = props["AlarmDescription"]
    assert len(description) > 120
    assert re.search(r"\b(check|read|raise|fix|decide|open|find|ask|make)\b", description, re.IGNORECASE)


def test_the_alarm_topic_can_take_cloudwatch_notifications_and_an_optional_email() -> None:
    assert RESOURCES["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key_policy = RESOURCES["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in key_policy)
    assert RESOURCES["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


@pytest.mark.parametrize(
    ("namespace", "metric", "dimensions"),
    [
        ("AWS/Lambda", "Errors", {"FunctionName": {"Ref": "WebhookReceiverFunction"}}),
        ("AWS/Lambda", "Throttles", {"FunctionName": {"Ref": "WebhookReceiverFunction"}}),
        ("AWS/Lambda", "Duration", {"FunctionName": {"Ref": "WebhookReceiverFunction"}}),
        ("AWS/ApiGateway", "5xx", {"ApiId": {"Ref": "WebhookApi"}, "Stage": "$default"}),
        ("PpsWebhooks", "ApiThrottled", {}),
        ("PpsWebhooks", "DeliveryFailed", {"service": "pps-webhooks"}),
        ("PpsWebhooks", "JwksFetchFailed", {"service": "pps-webhooks"}),
        ("AWS/SNS", "NumberOfMessagesPublished", {"TopicName": {"Fn::GetAtt": ["UnroutedTopic", "TopicName"]}}),
        ("AWS/Lambda", "Errors", {"FunctionName": {"Ref": "OrdersPlacedFunction"}}),
        ("AWS/Lambda", "Errors", {"FunctionName": {"Ref": "OrdersUpdatedFunction"}}),
        ("PpsWebhooks", "ConsumerRecordErrors", {"Function": {"Ref": "OrdersPlacedFunction"}}),
        ("PpsWebhooks", "ConsumerRecordErrors", {"Function": {"Ref": "OrdersUpdatedFunction"}}),
    ],
)
def test_each_failure_an_operator_must_hear_about_has_an_alarm(
    namespace: str, metric: str, dimensions: dict[str, Any]
) -> None:
    assert dimensions in watched(namespace, metric)


def test_every_dead_letter_queue_has_an_alarm() -> None:
    dead_letter_queues = {
        queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for queue in resources_of_type(TEMPLATE, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue.get("Properties", {})
    } | {
        function["Properties"]["DeadLetterQueue"]["TargetArn"]["Fn::GetAtt"][0]
        for function in resources_of_type(TEMPLATE, "AWS::Serverless::Function").values()
        if "DeadLetterQueue" in function["Properties"]
    }
    alarmed = {d["QueueName"]["Fn::GetAtt"][0] for d in watched("AWS/SQS", "ApproximateNumberOfMessagesVisible")}
    assert dead_letter_queues
    assert dead_letter_queues <= alarmed


def consumer_queues(template: dict[str, Any]) -> set[str]:
    """The queues that feed a function through an event source mapping."""
    return {
        mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for mapping in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values()
    }


def test_every_consumer_queue_has_an_alarm_on_the_age_of_its_oldest_message() -> None:
    """A paused or stuck consumer: its webhooks wait, at most 14 days, and nothing else would say so."""
    queues = consumer_queues(TEMPLATE)
    ages = [
        alarm["Properties"]
        for alarm in ALARMS.values()
        if alarm_metrics(alarm)[0]["MetricName"] == "ApproximateAgeOfOldestMessage"
    ]

    assert queues == {"OrdersPlacedQueue", "OrdersUpdatedQueue"}
    assert {age["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for age in ages} == queues
    for age in ages:
        assert (age["Namespace"], age["Statistic"]) == ("AWS/SQS", "Maximum")
        assert age["Threshold"] == {"Ref": "ConsumerQueueAgeAlarmSeconds"}
        assert age["ComparisonOperator"] == "GreaterThanThreshold"
        assert age["TreatMissingData"] == "ignore"
        for step in ("make status", "make resume", "MaximumConcurrency"):
            assert step in age["AlarmDescription"]


def test_the_queue_age_alarm_waits_out_the_retries_before_it_fires() -> None:
    """A message retried ConsumerMaxReceiveCount times, each after the visibility timeout, is old but not stuck."""
    parameters = TEMPLATE["Parameters"]
    timeouts = {
        int(queue["Properties"]["VisibilityTimeout"])
        for name, queue in resources_of_type(TEMPLATE, "AWS::SQS::Queue").items()
        if name in consumer_queues(TEMPLATE)
    }
    retry_span = max(timeouts) * int(parameters["ConsumerMaxReceiveCount"]["Default"])

    assert int(parameters["ConsumerQueueAgeAlarmSeconds"]["Default"]) > retry_span
    assert int(parameters["ConsumerQueueAgeAlarmSeconds"]["MaxValue"]) <= 14 * 24 * 3600  # the queues' retention


def test_throttled_answers_are_counted_from_the_access_log() -> None:
    metric_filter = RESOURCES["ApiThrottledMetricFilter"]["Properties"]
    assert metric_filter["LogGroupName"] == {"Ref": "WebhookApiAccessLogGroup"}
    assert "429" in metric_filter["FilterPattern"]


def test_the_dashboard_shows_outcomes_reasons_latency_consumer_errors_and_dlq_depth() -> None:
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    text = json.dumps(dashboard)
    for shown in ("Accepted", "Duplicate", "Unrouted", "ClaimChecked", "Rejected", "p50", "p99"):
        assert shown in text
    assert "ConsumerRecordErrors" in text
    assert "${OrdersPlacedDeadLetterQueue.QueueName}" in body
    assert "${OrdersUpdatedDeadLetterQueue.QueueName}" in body
    assert "ApproximateAgeOfOldestMessage" in text
    assert "${OrdersPlacedQueue.QueueName}" in body
    assert "${OrdersUpdatedQueue.QueueName}" in body


def test_every_webhook_topic_is_archived_enveloped_so_attributes_are_kept() -> None:
    webhook_topics = set(
        re.findall(
            r"\$\{(\w+)\}",
            RESOURCES["WebhookReceiverFunction"]["Properties"]["Environment"]["Variables"]["TOPIC_ARNS"]["Fn::Sub"],
        )
    )
    webhook_topics.add("UnroutedTopic")
    archived = {
        sub["Properties"]["TopicArn"]["Ref"]
        for sub in resources_of_type(TEMPLATE, "AWS::SNS::Subscription").values()
        if sub["Properties"]["Protocol"] == "firehose"
        and sub["Properties"]["Endpoint"] == {"Fn::GetAtt": ["WebhookArchiveStream", "Arn"]}
        and not sub["Properties"].get("RawMessageDelivery")
    }
    assert archived == webhook_topics


def test_the_archive_is_partitioned_by_topic_and_publishing_date_and_expires_by_parameter() -> None:
    """By the day SNS published each webhook, not the day Firehose got it: a notification re-archived from the
    archive's dead-letter queue days later still lands where `make replay` looks for it."""
    destination = RESOURCES["WebhookArchiveStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert destination["Prefix"] == (
        "webhooks/topic=!{partitionKeyFromQuery:topic}/date=!{partitionKeyFromQuery:date}/"
    )
    assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
    query = destination["ProcessingConfiguration"]["Processors"][0]["Parameters"][0]["ParameterValue"]
    assert 'MessageAttributes["X-Pps-Topic"]' in query
    assert 'date: ((.Timestamp // "unknown")[0:10])' in query
    (rule,) = RESOURCES["ArchiveBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "ArchiveRetentionDays"}
    assert rule["Transitions"][0]["TransitionInDays"] == {"Ref": "ArchiveColdAfterDays"}
    assert TEMPLATE["Outputs"]["ArchiveBucketName"]["Value"] == {"Ref": "ArchiveBucket"}


def subscription_problems(template: dict[str, Any]) -> list[str]:
    """Every SNS subscription (resources, and functions' SNS events) must park what SNS cannot deliver in a
    dead-letter queue that SNS may write to (a queue policy scoped to the topic) and an alarm watches."""
    subscriptions = {
        name: (resource["Properties"]["TopicArn"], resource["Properties"].get("RedrivePolicy"))
        for name, resource in resources_of_type(template, "AWS::SNS::Subscription").items()
        if resource["Properties"]["Protocol"] != "email"  # an operator's inbox: nowhere to redrive from
    }
    for name, function in resources_of_type(template, "AWS::Serverless::Function").items():
        for event_name, event in (function["Properties"].get("Events") or {}).items():
            if event["Type"] == "SNS":
                properties = event["Properties"]
                subscriptions[f"{name}.{event_name}"] = (properties["Topic"], properties.get("RedrivePolicy"))
    alarmed = {
        dimensions["QueueName"]["Fn::GetAtt"][0]
        for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        for metric in alarm_metrics(alarm)
        if metric.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        for dimensions in [{d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}]
    }
    problems = []
    for name, (topic, redrive) in sorted(subscriptions.items()):
        if not redrive:
            problems.append(f"{name}: no RedrivePolicy")
            continue
        queue = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        if queue not in alarmed:
            problems.append(f"{name}: no alarm on {queue}")
        allowed = [
            statement
            for policy in resources_of_type(template, "AWS::SQS::QueuePolicy").values()
            if {"Ref": queue} in policy["Properties"]["Queues"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Principal"] == {"Service": "sns.amazonaws.com"}
            and topic in _listed(statement["Condition"]["ArnEquals"]["aws:SourceArn"])
        ]
        if not allowed:
            problems.append(f"{name}: {queue} does not let {topic} send")
    return problems


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_sns_subscription_parks_what_it_cannot_deliver_where_an_alarm_watches() -> None:
    assert subscription_problems(TEMPLATE) == []
    assert len(resources_of_type(TEMPLATE, "AWS::SNS::Subscription")) >= 5


def test_the_subscriber_example_parks_what_sns_cannot_deliver_too() -> None:
    example = load_template(ROOT / "examples" / "subscriber-stack.yaml")
    assert subscription_problems(example) == []


@pytest.mark.parametrize("name", ["IdempotencyTable", "PayloadBucket", "ArchiveBucket", "OrdersTable"])
def test_the_stores_survive_the_stack_being_deleted_or_replaced(name: str) -> None:
    """A new idempotency table would publish PPS's retries again; the others hold data nobody can recreate."""
    assert RESOURCES[name]["DeletionPolicy"] == "Retain"
    assert RESOURCES[name]["UpdateReplacePolicy"] == "Retain"


def test_the_archive_subscription_role_is_assumed_by_sns_for_this_account_only() -> None:
    (statement,) = RESOURCES["ArchiveSubscriptionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_cloudwatch_may_use_the_alarm_key_for_this_account_only() -> None:
    statements = RESOURCES["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_too_large_answers_are_counted_from_the_access_log_and_alarmed() -> None:
    """A body over Lambda's 6 MB never reaches the receiver, and PPS does not retry the 413."""
    metric_filter = RESOURCES["ApiPayloadTooLargeMetricFilter"]["Properties"]
    assert metric_filter["LogGroupName"] == {"Ref": "WebhookApiAccessLogGroup"}
    assert '($.status = "413")' in metric_filter["FilterPattern"]
    assert "$.integrationError" in metric_filter["FilterPattern"]  # Lambda refusing the invoke itself
    assert metric_filter["MetricTransformations"][0]["MetricName"] == "ApiPayloadTooLarge"
    assert {} in watched("PpsWebhooks", "ApiPayloadTooLarge")
    description = RESOURCES["ApiPayloadTooLargeAlarm"]["Properties"]["AlarmDescription"]
    assert "ask PPS to resend" in description
    assert "6 MB" in description


def test_the_429_alarm_stays_for_the_accounts_own_throttling() -> None:
    assert {} in watched("PpsWebhooks", "ApiThrottled")
    assert "account" in RESOURCES["ApiThrottledAlarm"]["Properties"]["AlarmDescription"]


@pytest.mark.parametrize("consumer", ["OrdersPlaced", "OrdersUpdated"])
def test_each_consumer_is_capped_by_its_own_maximum_concurrency_parameter(consumer: str) -> None:
    mapping = RESOURCES[f"{consumer}EventSource"]["Properties"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": f"{consumer}MaximumConcurrency"}}
    parameter = TEMPLATE["Parameters"][f"{consumer}MaximumConcurrency"]
    assert parameter["MinValue"] == 2  # Lambda's minimum for SQS
    assert 2 <= parameter["Default"] <= 50


def archive_table() -> dict[str, Any]:
    table: dict[str, Any] = RESOURCES["ArchiveTable"]["Properties"]["TableInput"]
    return table


def test_the_archive_tables_projection_reads_exactly_where_firehose_writes() -> None:
    """Partition projection, no crawler: storage.location.template is the stream's Prefix with Firehose's partition
    keys as the table's partition columns, under the bucket the stream writes to."""
    table = archive_table()
    prefix = RESOURCES["WebhookArchiveStream"]["Properties"]["ExtendedS3DestinationConfiguration"]["Prefix"]
    keys = re.findall(r"!\{partitionKeyFromQuery:(\w+)\}", prefix)
    as_projected = re.sub(r"!\{partitionKeyFromQuery:(\w+)\}", r"${!\1}", prefix)

    assert [key["Name"] for key in table["PartitionKeys"]] == keys == ["topic", "date"]
    assert table["Parameters"]["storage.location.template"] == {"Fn::Sub": f"s3://${{ArchiveBucket}}/{as_projected}"}
    assert table["StorageDescriptor"]["Location"] == {"Fn::Sub": "s3://${ArchiveBucket}/webhooks/"}
    assert not resources_of_type(TEMPLATE, "AWS::Glue::Crawler")


def test_topic_is_injected_and_date_projected_by_day_in_firehoses_format() -> None:
    """An enum of topics could not hold the unrouted ones, which are archived under their own names."""
    parameters = archive_table()["Parameters"]

    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.topic.type"] == "injected"
    assert parameters["projection.date.type"] == "date"
    assert parameters["projection.date.format"] == "yyyy-MM-dd"  # Firehose's date: Timestamp[0:10]
    start, end = parameters["projection.date.range"].split(",")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", start)
    assert end == "NOW"
    assert (parameters["projection.date.interval"], parameters["projection.date.interval.unit"]) == ("1", "DAYS")


def test_the_archive_table_reads_each_line_as_an_sns_notification() -> None:
    descriptor = archive_table()["StorageDescriptor"]
    columns = {column["Name"]: column["Type"] for column in descriptor["Columns"]}

    assert descriptor["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert descriptor["SerdeInfo"]["Parameters"]["case.insensitive"] == "true"  # MessageId -> messageid
    assert descriptor["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"  # gzip by its extension
    for key in ("Type", "MessageId", "TopicArn", "Message", "Timestamp", "MessageAttributes"):
        assert key.lower() in columns
    assert all(name == name.lower() for name in columns)
    assert columns["messageattributes"] == "map<string,struct<type:string,value:string>>"
    assert {column: type_ for column, type_ in columns.items() if column != "messageattributes"} == dict.fromkeys(
        set(columns) - {"messageattributes"}, "string"
    )


def test_the_workgroup_enforces_its_encrypted_short_lived_results_and_a_scan_cutoff() -> None:
    configuration = RESOURCES["ArchiveWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    results = configuration["ResultConfiguration"]
    bucket = RESOURCES["ArchiveQueryResultsBucket"]["Properties"]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]

    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert 0 < configuration["BytesScannedCutoffPerQuery"] <= 100 * 2**30
    assert results["OutputLocation"] == {"Fn::Sub": "s3://${ArchiveQueryResultsBucket}/results/"}
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_S3"
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert 1 <= rule["ExpirationInDays"] <= 14
    assert RESOURCES["ArchiveQueryResultsBucketPolicy"]["Properties"]["Bucket"] == {"Ref": "ArchiveQueryResultsBucket"}


def test_the_outputs_name_the_database_table_and_workgroup_as_created() -> None:
    """Written out rather than !Ref, so that the emulator (which cannot create them) reads the same names."""
    outputs = TEMPLATE["Outputs"]
    database = RESOURCES["ArchiveDatabase"]["Properties"]["DatabaseInput"]["Name"]

    assert outputs["ArchiveDatabaseName"]["Value"] == database == {"Ref": "ArchiveDatabaseName"}
    assert RESOURCES["ArchiveTable"]["Properties"]["DatabaseName"] == {"Ref": "ArchiveDatabase"}
    assert outputs["ArchiveTableName"]["Value"] == archive_table()["Name"]
    assert outputs["ArchiveWorkGroupName"]["Value"] == RESOURCES["ArchiveWorkGroup"]["Properties"]["Name"]
    assert outputs["ArchiveQueryResultsBucketName"]["Value"] == {"Ref": "ArchiveQueryResultsBucket"}
    # Athena takes lower-case letters, digits and underscores: no generated name (it would hold a hyphen)
    assert re.fullmatch(r"\^\[a-z\].*\$", TEMPLATE["Parameters"]["ArchiveDatabaseName"]["AllowedPattern"])
    assert re.fullmatch(
        TEMPLATE["Parameters"]["ArchiveDatabaseName"]["AllowedPattern"],
        TEMPLATE["Parameters"]["ArchiveDatabaseName"]["Default"],
    )


def test_no_bucket_can_make_deleting_the_stack_fail() -> None:
    """CloudFormation cannot delete a bucket that holds objects: each is kept (its lifecycle empties it)."""
    buckets = resources_of_type(TEMPLATE, "AWS::S3::Bucket")
    assert "ArchiveQueryResultsBucket" in buckets
    assert {name: bucket.get("DeletionPolicy") for name, bucket in buckets.items()} == dict.fromkeys(buckets, "Retain")
