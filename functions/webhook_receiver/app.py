"""API Gateway (HTTP API or REST API) -> verify the PPS webhook, record its id once, publish it to SNS."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from pps_webhooks import aws
from pps_webhooks.auth import TokenRules
from pps_webhooks.errors import WebhookError
from pps_webhooks.http_event import read_request
from pps_webhooks.idempotency import Idempotency
from pps_webhooks.jwks import JwksKeys, StaticKeys
from pps_webhooks.observability import logger, metrics, tracer
from pps_webhooks.publish import Publisher, Routes
from pps_webhooks.receiver import Receiver
from pps_webhooks.responses import accepted, refused
from pps_webhooks.settings import ReceiverSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _count_jwks_failure(reason: str) -> None:
    metrics.add_metric(name="JwksFetchFailed", unit=MetricUnit.Count, value=1)
    logger.warning("Could not fetch the sender's JWKS", extra={"detail": reason})


# Created once per sandbox and reused by every warm invocation.
settings = ReceiverSettings.from_env()
receiver = Receiver(
    rules=TokenRules(
        settings.issuer,
        settings.audience,
        settings.leeway_seconds,
        settings.max_token_bytes,
        settings.required_claims,
        settings.tenant_claim,
    ),
    keys=StaticKeys(settings.jwks)
    if settings.jwks
    else JwksKeys(
        settings.jwks_uri,
        cache_seconds=settings.jwks_cache_seconds,
        refresh_cooldown_seconds=settings.jwks_refresh_cooldown_seconds,
        timeout_seconds=settings.jwks_timeout_seconds,
        on_fetch_failure=_count_jwks_failure,
    ),
    allowed_tenants=settings.allowed_tenants,
    idempotency=Idempotency(settings.idempotency_table, aws.dynamodb_client(), settings.retention_seconds),
    publisher=Publisher(
        aws.sns_client(),
        cache(aws.s3_client),
        Routes(settings.topic_arns, settings.unrouted_topic_arn),
        settings.payload_bucket,
        settings.offload_threshold_bytes,
    ),
    logger=logger,
)


@logger.inject_lambda_context(log_event=False, clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        outcome = receiver.receive(read_request(event), context)
    except WebhookError as error:
        return refused(error, logger, metrics).to_api_gateway()
    return accepted(outcome, logger, metrics).to_api_gateway()
