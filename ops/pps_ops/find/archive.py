"""The archive side of `make find`: which topic partitions exist, and the query run in Athena."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pps_ops.find.query import COLUMNS, Query

PREFIX = "webhooks/"
DONE = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class QueryFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Sighting:
    """One archived notification of the webhook: one delivery by SNS (a replay or a retry publishes another)."""

    arrived: str
    pps_topic: str | None
    sub_topic: str | None
    tenant: str | None
    webhook_id: str | None
    claim_checked: bool
    message_id: str | None
    topic_arn: str | None


@dataclass(frozen=True)
class Outcome:
    sightings: list[Sighting]
    query_id: str
    scanned_bytes: int | None


def topic_partitions(s3: Any, bucket: str) -> list[str]:
    """The topic=... partitions the archive holds (X-Pps-Topic with / as _), sorted: one delimited listing."""
    found: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            segment = str(common["Prefix"]).removeprefix(PREFIX).rstrip("/")
            if segment.startswith("topic=") and len(segment) > len("topic="):
                found.append(segment.removeprefix("topic="))
    return sorted(found)


def run_query(
    athena: Any,
    workgroup: str,
    query: Query,
    *,
    timeout: float = 300,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Start the query in the workgroup (its own result location and limits apply), wait for it with a growing
    pause up to `timeout` seconds (then stop it), and read every page of its rows."""
    request: dict[str, Any] = {"QueryString": query.sql, "WorkGroup": workgroup}
    if query.parameters:
        request["ExecutionParameters"] = list(query.parameters)
    query_id = str(athena.start_query_execution(**request)["QueryExecutionId"])
    deadline, pause = clock() + timeout, 0.2
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        state = execution.get("Status", {}).get("State")
        if state in DONE:
            break
        if clock() >= deadline:
            athena.stop_query_execution(QueryExecutionId=query_id)
            raise QueryFailed(f"Athena query {query_id} did not finish within {timeout:g} s: stopped")
        sleep(pause)
        pause = min(pause * 2, 5.0)
    if state != "SUCCEEDED":
        reason = execution.get("Status", {}).get("StateChangeReason") or "no reason given"
        raise QueryFailed(f"Athena query {query_id} {state}: {reason}")
    rows: list[list[str | None]] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        for row in page.get("ResultSet", {}).get("Rows", []):
            rows.append([cell.get("VarCharValue") for cell in row.get("Data", [])])
    scanned = execution.get("Statistics", {}).get("DataScannedInBytes")
    return Outcome(sightings(rows), query_id, int(scanned) if scanned is not None else None)


def sightings(rows: Sequence[Sequence[str | None]]) -> list[Sighting]:
    """Athena's rows as read: the first holds the column names (a SELECT's header row)."""
    if rows and list(rows[0]) == list(COLUMNS):
        rows = rows[1:]
    found = []
    for row in rows:
        values = dict(zip(COLUMNS, row, strict=False))
        found.append(
            Sighting(
                arrived=values.get("arrived") or "",
                pps_topic=values.get("pps_topic"),
                sub_topic=values.get("sub_topic"),
                tenant=values.get("tenant"),
                webhook_id=values.get("webhook_id"),
                claim_checked=(values.get("claim_checked") or "").lower() == "true",
                message_id=values.get("message_id"),
                topic_arn=values.get("topic_arn"),
            )
        )
    return found
