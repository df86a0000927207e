"""The receiver's decisions, in the order that keeps every event safe:
authenticate, validate, record the webhook id, publish, mark the record completed.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from pps_webhooks.auth import SigningKeys, TokenNotYetValid, TokenRules, authorize_tenant, bearer_token, verify_token
from pps_webhooks.errors import Forbidden, PublishFailed
from pps_webhooks.http_event import HttpRequest
from pps_webhooks.idempotency import Idempotency, Record, Remembered
from pps_webhooks.publish import Publisher
from pps_webhooks.webhook import TENANT_ID, Webhook, ambiguous, read_webhook

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.typing import LambdaContext


@dataclass(frozen=True, slots=True)
class Outcome:
    webhook: Webhook
    remembered: Remembered

    @property
    def duplicate(self) -> bool:
        return self.remembered.duplicate

    @property
    def unrouted(self) -> bool:
        return bool(self.remembered.record.get("unrouted"))

    @property
    def offloaded(self) -> bool:
        return bool(self.remembered.record.get("payload_key"))


class Receiver:
    def __init__(
        self,
        rules: TokenRules,
        keys: SigningKeys,
        allowed_tenants: Set[str],
        idempotency: Idempotency,
        publisher: Publisher,
        logger: Logger,
    ) -> None:
        self._rules = rules
        self._keys = keys
        self._allowed_tenants = allowed_tenants
        self._idempotency = idempotency
        self._publisher = publisher
        self._logger = logger

    def receive(self, request: HttpRequest, context: LambdaContext) -> Outcome:
        """Raises Forbidden, BadRequest, RetryLater or PublishFailed; nothing is written before auth."""
        if request.repeated("Authorization"):
            raise Forbidden("repeated-authorization")
        # An ambiguous tenant is left for validation to refuse (400), as on either front.
        tenant_id = None if ambiguous(request, TENANT_ID) else request.header(TENANT_ID)
        try:
            claims = verify_token(bearer_token(request.header("Authorization")), self._rules, self._keys)
        except TokenNotYetValid as early:  # a refusal that time cannot lift comes first
            authorize_tenant(tenant_id, self._allowed_tenants, early.claims, self._rules.tenant_claim)
            raise
        authorize_tenant(tenant_id, self._allowed_tenants, claims, self._rules.tenant_claim)
        webhook = read_webhook(request)
        self._logger.append_keys(webhook_id=webhook.webhook_id, topic=webhook.topic, tenant_id=webhook.tenant_id)
        try:
            remembered = self._idempotency.once(
                webhook.tenant_id, webhook.webhook_id, context, lambda: self._publish(webhook)
            )
        except (BotoCoreError, ClientError) as error:  # the record was released: the retry will publish
            raise PublishFailed("publish-failed", type(error).__name__) from error
        return Outcome(webhook=webhook, remembered=remembered)

    def _publish(self, webhook: Webhook) -> Record:
        published = self._publisher.publish(webhook)
        return {
            "tenant_id": webhook.tenant_id,
            "webhook_id": webhook.webhook_id,
            "topic": webhook.topic,
            "topic_arn": published.topic_arn,
            "message_id": published.message_id,
            "unrouted": published.unrouted,
            "payload_key": published.payload_key,
        }
