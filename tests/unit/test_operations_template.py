"""template.yaml's operations: alarms that say what to do, the dashboard, the archive."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from local.template import load_template, resources_of_type

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
    assert props["TreatMissingData"] == "notBreaching"
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


def test_the_archive_is_partitioned_by_topic_and_date_and_expires_by_parameter() -> None:
    destination = RESOURCES["WebhookArchiveStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert destination["Prefix"] == "webhooks/topic=!{partitionKeyFromQuery:topic}/date=!{timestamp:yyyy-MM-dd}/"
    assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
    query = destination["ProcessingConfiguration"]["Processors"][0]["Parameters"][0]["ParameterValue"]
    assert 'MessageAttributes["X-Pps-Topic"]' in query
    (rule,) = RESOURCES["ArchiveBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "ArchiveRetentionDays"}
    assert rule["Transitions"][0]["TransitionInDays"] == {"Ref": "ArchiveColdAfterDays"}
    assert TEMPLATE["Outputs"]["ArchiveBucketName"]["Value"] == {"Ref": "ArchiveBucket"}
