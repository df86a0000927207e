"""`make find`'s decisions: the SQL text it builds and how it waits for Athena (the SQL itself runs on real archive
files in tests/integration/test_find.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from click.testing import CliRunner

from pps_ops.find.archive import QueryFailed, run_query, sightings
from pps_ops.find.cli import main
from pps_ops.find.query import COLUMNS, LIMIT, find_query, literal
from pps_ops.find.queues import QueueSearch, search_queue
from pps_ops.find.summary import Summary
from pps_ops.lambda_events import sns_timestamp

SINCE = datetime(2024, 2, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["W-1", "it's", "''", "a'); DROP TABLE t; --", "\\'", "?", "é\n\t"])
def test_a_literal_is_one_quoted_string_with_its_quotes_doubled(text: str) -> None:
    quoted = literal(text)

    assert quoted.startswith("'")
    assert quoted.endswith("'")
    inner = quoted[1:-1]
    assert inner.replace("''", "").count("'") == 0  # no quote left alone to end the string early
    assert inner.replace("''", "'") == text


def test_the_query_names_its_topic_partitions_and_day_in_the_text_and_the_id_and_tenant_as_parameters() -> None:
    query = find_query("pps_webhooks_archive", "webhooks", ["orders_placed", "it's"], SINCE, "W-1'", "OU'1")

    assert "topic IN ('orders_placed', 'it''s')" in query.sql
    assert """"date" >= '2024-02-01'""" in query.sql
    assert """"timestamp" >= '2024-02-01T09:30:00.000Z'""" in query.sql
    assert 'FROM "pps_webhooks_archive"."webhooks"' in query.sql
    assert query.parameters == ("'W-1'''", "'OU''1'")
    assert query.sql.count("?") == 2
    assert query.sql.index("?") > query.sql.index("WHERE")  # Athena takes parameters in WHERE only
    assert "W-1" not in query.sql
    assert "OU" not in query.sql


def test_without_a_tenant_only_the_id_is_a_parameter() -> None:
    query = find_query("db", "t", ["orders_placed"], SINCE, "W-1")

    assert query.parameters == ("'W-1'",)
    assert query.sql.count("?") == 1


def test_no_topic_partition_is_no_query() -> None:
    """Athena refuses a query on an injected partition without its values."""
    with pytest.raises(ValueError, match="topic partition"):
        find_query("db", "t", [], SINCE, "W-1")


def test_since_is_bounded_in_utc_as_sns_writes_timestamps() -> None:
    moment = datetime(2024, 2, 1, 1, 2, 3, 456789, tzinfo=timezone(timedelta(hours=2)))

    assert sns_timestamp(moment) == "2024-01-31T23:02:03.456Z"
    query = find_query("db", "t", ["orders_placed"], moment, "W-1")
    assert """"date" >= '2024-01-31'""" in query.sql


class StandInAthena:
    """Athena's answers, in the order a query gets them: states, then result pages."""

    def __init__(self, states: list[str], pages: list[list[list[str | None]]] | None = None) -> None:
        self.states = states
        self.pages = pages or [[list(COLUMNS)]]
        self.requests: list[dict[str, Any]] = []
        self.stopped = False

    def start_query_execution(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        status: dict[str, Any] = {"State": "CANCELLED" if self.stopped else state}
        if state == "FAILED":
            status["StateChangeReason"] = "Query exhausted resources at this scale factor"
        return {"QueryExecution": {"Status": status, "Statistics": {"DataScannedInBytes": 1234}}}

    def stop_query_execution(self, QueryExecutionId: str) -> None:
        self.stopped = True

    def get_paginator(self, name: str) -> StandInAthena:
        assert name == "get_query_results"
        return self

    def paginate(self, QueryExecutionId: str) -> Iterator[dict[str, Any]]:
        for rows in self.pages:
            yield {
                "ResultSet": {
                    "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]
                }
            }


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def row(webhook_id: str, claim_checked: str = "false") -> list[str | None]:
    return ["2024-03-01T10:00:00.000Z", "orders/placed", None, "OU1243", webhook_id, claim_checked, "m", "arn:t"]


def test_the_query_is_awaited_with_growing_pauses_and_every_page_read() -> None:
    athena = StandInAthena(
        ["QUEUED", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"], [[list(COLUMNS), row("W-1")], [row("W-1", "true")]]
    )
    clock = Clock()
    query = find_query("db", "t", ["orders_placed"], SINCE, "W-1")

    outcome = run_query(athena, "pps-webhooks-archive", query, sleep=clock.sleep, clock=clock)

    assert athena.requests == [
        {"QueryString": query.sql, "WorkGroup": "pps-webhooks-archive", "ExecutionParameters": ["'W-1'"]}
    ]
    assert clock.pauses == [0.2, 0.4, 0.8, 1.6]
    assert [(s.webhook_id, s.claim_checked, s.sub_topic) for s in outcome.sightings] == [
        ("W-1", False, None),
        ("W-1", True, None),
    ]
    assert outcome.scanned_bytes == 1234


def test_a_query_still_running_at_the_timeout_is_stopped() -> None:
    athena, clock = StandInAthena(["RUNNING"]), Clock()

    with pytest.raises(QueryFailed, match="did not finish within 10 s"):
        run_query(athena, "wg", find_query("db", "t", ["x"], SINCE, "W-1"), timeout=10, sleep=clock.sleep, clock=clock)
    assert athena.stopped
    assert max(clock.pauses) == 5.0


def test_a_failed_query_says_why() -> None:
    athena, clock = StandInAthena(["RUNNING", "FAILED"]), Clock()

    with pytest.raises(QueryFailed, match="FAILED: Query exhausted resources"):
        run_query(athena, "wg", find_query("db", "t", ["x"], SINCE, "W-1"), sleep=clock.sleep, clock=clock)


def test_rows_without_the_header_are_read_as_they_are() -> None:
    assert [s.webhook_id for s in sightings([row("W-2")])] == ["W-2"]


def test_a_queue_report_says_what_was_searched_and_what_was_not() -> None:
    deep = QueueSearch("OrdersPlacedFunction", "dead-letter queue", "dlq", True, 0, 500, complete=False)
    skipped = QueueSearch("OrdersPlacedFunction", "queue", "q", False, note="not searched: consumer running")

    assert "not there (500 looked at; not searched fully, 500 of its messages looked at)" in deep.line()
    assert skipped.line().endswith("q: not searched: consumer running")
    assert not deep.holds


def test_help_documents_every_variable_the_cost_and_why_a_running_queue_is_not_searched() -> None:
    result = CliRunner().invoke(main, ["--help"], terminal_width=120)
    text = " ".join(result.output.split())

    assert result.exit_code == 0
    for variable in ("WEBHOOK_ID", "TENANT", "SINCE", "TIMEOUT", "MAX_RECEIVES", "ARCHIVE_BUCKET", "DATABASE", "TABLE"):
        assert re.search(rf"env var: {variable}[;\]]", text)
    assert re.search(r"env var: WORKGROUP[;\]]", text)
    assert re.search(r"env var: STACK[;\]]", text)
    assert "this bounds what Athena scans and bills" in text
    assert 'reported as "not searched: consumer running"' in text
    assert "count toward its maxReceiveCount" in text


def test_a_listing_cut_at_the_limit_says_so() -> None:
    summary = Summary("W-1", None, SINCE, "archive", ["orders_placed"], sightings([row("W-1")] * LIMIT))

    assert summary.ok
    assert f"Note: only the first {LIMIT} deliveries are listed: narrow with TENANT= or SINCE=" in summary.lines()
    assert "Note: only" not in " ".join(
        Summary("W-1", None, SINCE, "archive", sightings=sightings([row("W-1")])).lines()
    )


class SamplingQueue:
    """An SQS queue as a short poll can see it: it holds 3 messages but its first receive comes back empty."""

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"ApproximateNumberOfMessages": "3"}}

    def receive_message(self, **_: Any) -> dict[str, Any]:
        return {"Messages": []}

    def change_message_visibility_batch(self, **_: Any) -> dict[str, Any]:
        return {"Successful": []}


def test_a_queue_that_showed_fewer_messages_than_it_holds_is_not_called_searched_fully() -> None:
    searched = search_queue(SamplingQueue(), "https://sqs.example/queue", "W-1", None)

    assert (searched.matches, searched.messages, searched.complete) == (0, 0, False)
