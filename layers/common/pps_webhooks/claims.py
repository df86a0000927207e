"""Each webhook id, scoped by tenant, is published once: Powertools' idempotency utility on DynamoDB.

Powertools gives exactly the contract: one conditional PutItem claims the id (INPROGRESS, expiring
when this invocation would time out, so a crashed sandbox never blocks it for good); a completed
record answers duplicates for the retention period (TTL); a failed action deletes the claim so the
sender's retry can publish.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
)

from pps_webhooks.errors import DeliveryFailed, RetryLater

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

# A fixed prefix instead of Powertools' default (the function's name): the claims survive a
# renamed or replaced function, and two fronts (HTTP API, REST API) share one set of claims.
KEY_PREFIX = "pps-webhook"
_REPLAYED = "__replayed__"

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Claimed:
    record: Record
    """What the first delivery stored: ids, topic ARN, message id, claim-check key."""
    duplicate: bool
    completion_failed: bool = False
    """Published, but the claim could not be marked completed (it expires with the invocation)."""


class Claims:
    def __init__(self, table_name: str, client: DynamoDBClient, retention_seconds: int) -> None:
        self._config = IdempotencyConfig(
            expires_after_seconds=retention_seconds,
            raise_on_no_idempotency_key=True,
            hash_function="sha256",
            response_hook=_mark_replayed,
        )
        self._run_once = idempotent_function(
            data_keyword_argument="claim",
            persistence_store=DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client),
            config=self._config,
            key_prefix=KEY_PREFIX,
        )(_run)

    def once(self, tenant_id: str, webhook_id: str, context: LambdaContext, action: Callable[[], Record]) -> Claimed:
        """Run `action` unless this webhook was already delivered; an action's exception propagates."""
        self._config.register_lambda_context(context)
        done: list[Record] = []

        def act() -> Record:
            done.append(action())
            return done[0]

        try:
            record = self._run_once(claim={"tenant_id": tenant_id, "webhook_id": webhook_id}, action=act)
        except IdempotencyAlreadyInProgressError as error:
            raise RetryLater("claim-in-flight") from error
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as error:
            if done:
                return Claimed(record=done[0], duplicate=False, completion_failed=True)
            raise DeliveryFailed("claim-store-failed", type(error.__cause__ or error).__name__) from error
        replayed = bool(record.pop(_REPLAYED, False))
        return Claimed(record=record, duplicate=replayed)


def _run(*, claim: Record, action: Callable[[], Record]) -> Record:
    return action()


def _mark_replayed(response: Record, idempotent_data: DataRecord) -> Record:
    """Powertools calls this only when it answers from a completed record."""
    return {**response, _REPLAYED: True}
