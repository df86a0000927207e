"""Each webhook id, scoped by tenant, is published once: Powertools' idempotency utility on DynamoDB.

Powertools gives exactly the contract: one conditional PutItem records the id (INPROGRESS, expiring
when this invocation would time out, so a crashed sandbox never blocks it for good); a completed
record answers duplicates for the retention period (TTL); a failed action deletes the record so the
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

from pps_webhooks.errors import PublishFailed, RetryLater

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

# A fixed prefix instead of Powertools' default (the function's name): the records survive a
# renamed or replaced function, and two fronts (HTTP API, REST API) share one set of records.
KEY_PREFIX = "pps-webhook"
_REPLAYED = "__replayed__"

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Remembered:
    record: Record
    """What the first publish stored: ids, topic ARN, message id, offloaded body's key."""
    duplicate: bool
    completion_failed: bool = False
    """Published, but the record could not be marked completed (it expires with the invocation)."""


class Idempotency:
    def __init__(self, table_name: str, client: DynamoDBClient, retention_seconds: int) -> None:
        self._config = IdempotencyConfig(
            expires_after_seconds=retention_seconds,
            raise_on_no_idempotency_key=True,
            hash_function="sha256",
            response_hook=_mark_replayed,
        )
        self._run_once = idempotent_function(
            data_keyword_argument="webhook",
            persistence_store=DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client),
            config=self._config,
            key_prefix=KEY_PREFIX,
        )(_run)

    def once(self, tenant_id: str, webhook_id: str, context: LambdaContext, action: Callable[[], Record]) -> Remembered:
        """Run `action` unless this webhook was already published; an action's exception propagates."""
        self._config.register_lambda_context(context)
        done: list[Record] = []

        def act() -> Record:
            done.append(action())
            return done[0]

        try:
            record = self._run_once(webhook={"tenant_id": tenant_id, "webhook_id": webhook_id}, action=act)
        except IdempotencyAlreadyInProgressError as error:  # the reasons' names are documented (README): kept
            raise RetryLater("claim-in-flight") from error
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as error:
            if done:
                return Remembered(record=done[0], duplicate=False, completion_failed=True)
            raise PublishFailed("claim-store-failed", type(error.__cause__ or error).__name__) from error
        replayed = bool(record.pop(_REPLAYED, False))
        return Remembered(record=record, duplicate=replayed)


def _run(*, webhook: Record, action: Callable[[], Record]) -> Record:
    return action()


def _mark_replayed(response: Record, idempotent_data: DataRecord) -> Record:
    """Powertools calls this only when it answers from a completed record."""
    return {**response, _REPLAYED: True}
