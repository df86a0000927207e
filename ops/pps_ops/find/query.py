"""The SQL `make find` runs on the archive table, in the subset of SQL that Athena (Trino) and DuckDB share, so the
tests run this very text on archive files in the real layout.

Values reach the SQL two ways. The webhook id and tenant, which come from whoever runs the command, are Athena
execution parameters (`?`); Athena reads each parameter as SQL text, a string only when quoted, so each is sent as
`literal(value)`, a single-quoted string with its quotes doubled: Trino's only escape, no backslash escapes. The topic
partitions and the dates are written into the text itself: the injected `topic` projection needs literal values
(Athena documents literals or constant expressions), they come from the archive's own S3 listing and from a parsed
date, and they are quoted the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pps_ops.lambda_events import sns_timestamp

TOPIC = "X-Pps-Topic"
SUB_TOPIC = "X-Pps-Sub-Topic"
TENANT_ID = "X-Pps-Tenant-Id"
WEBHOOK_ID = "X-Pps-Webhook-Id"
SIZE_ATTRIBUTE = "ExtendedPayloadSize"
"""Present on a notification whose body was claim-checked (offloaded): its message is then a pointer to the body."""

COLUMNS = ("arrived", "pps_topic", "sub_topic", "tenant", "webhook_id", "claim_checked", "message_id", "topic_arn")
"""What each row holds, in order (the SELECT list's names)."""
LIMIT = 100


@dataclass(frozen=True)
class Query:
    sql: str
    parameters: tuple[str, ...]
    """Athena ExecutionParameters, in the order of the `?` they stand for: each a quoted SQL string literal."""


def literal(text: str) -> str:
    """A SQL string literal holding exactly `text`, for Trino and DuckDB alike."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted identifier (a database or table name with a hyphen, a column called date)."""
    return '"' + name.replace('"', '""') + '"'


def attribute(name: str) -> str:
    """The value of one message attribute, NULL when the notification has none of that name.

    A map subscript fails in Trino when the key is absent, so it is read only where `map_keys` holds it (CASE is
    evaluated lazily in both engines). The attribute is looked up under its own name and in lower case: Trino's
    OpenX SerDe keeps map keys as written, the original (rcongiu) one lower-cases every key.
    """
    cases = " ".join(
        f"WHEN contains(map_keys(messageattributes), {literal(key)}) THEN messageattributes[{literal(key)}].value"
        for key in dict.fromkeys((name, name.lower()))
    )
    return f"CASE {cases} END"


def has_attribute(name: str) -> str:
    return " OR ".join(
        f"contains(map_keys(messageattributes), {literal(key)})" for key in dict.fromkeys((name, name.lower()))
    )


def find_query(
    database: str,
    table: str,
    partitions: Sequence[str],
    since: datetime,
    webhook_id: str,
    tenant: str | None = None,
) -> Query:
    """Every archived notification of `webhook_id` (of `tenant`) since `since`, in the `partitions` (topic=...
    names), oldest first. Only those topics' date partitions from `since` on are read: that bounds the cost."""
    if not partitions:
        raise ValueError("at least one topic partition is needed: Athena injects topic from the query")
    topics = ", ".join(literal(partition) for partition in partitions)
    conditions = [
        f"topic IN ({topics})",
        f'"date" >= {literal(since.astimezone(UTC).date().isoformat())}',
        f'"timestamp" >= {literal(sns_timestamp(since))}',
        f"{attribute(WEBHOOK_ID)} = ?",
    ]
    parameters = [literal(webhook_id)]
    if tenant is not None:
        conditions.append(f"{attribute(TENANT_ID)} = ?")
        parameters.append(literal(tenant))
    where = "\n  AND ".join(conditions)
    sql = (
        "SELECT\n"  # nosec B608 # values are quoted literals or ? parameters: see the module's docstring
        f'  "timestamp" AS arrived,\n'
        f"  {attribute(TOPIC)} AS pps_topic,\n"
        f"  {attribute(SUB_TOPIC)} AS sub_topic,\n"
        f"  {attribute(TENANT_ID)} AS tenant,\n"
        f"  {attribute(WEBHOOK_ID)} AS webhook_id,\n"
        f"  ({has_attribute(SIZE_ATTRIBUTE)}) AS claim_checked,\n"
        "  messageid AS message_id,\n"
        "  topicarn AS topic_arn\n"
        f"FROM {identifier(database)}.{identifier(table)}\n"
        f"WHERE {where}\n"
        f'ORDER BY "timestamp", messageid\n'
        f"LIMIT {LIMIT}"
    )
    return Query(sql, tuple(parameters))
