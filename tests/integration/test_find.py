"""`make find`: the SQL it builds, run for real on archive files in the exact Firehose layout, and the whole command
against the stack in moto, its queues real.

Athena cannot run here, so the SQL runs in DuckDB, on a view defined from the Glue table in template.yaml (its
columns and types, its partition keys, its storage.location.template), reading the files as the OpenX SerDe does:
keys matched to the lower-case columns and fields whatever their case. The lines are what the stack's topics
deliver to a non-raw subscriber (the capture queues, as to Firehose), for webhooks the real receiver accepted, put
where Firehose's MetadataExtraction puts them. The query text and its parameters are bound as Athena binds them:
each `?` replaced by its parameter's SQL text. moto's Athena runs no SQL: the end-to-end test hands it the rows DuckDB
computed for the very query the command then sends, and checks that it sent that query.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pps_ops.find.archive import sightings
from pps_ops.find.query import COLUMNS, Query, find_query
from tests.support.make import make as run_make
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment
from tools.devkit.events import api_event, pps_headers
from tools.devkit.paths import ROOT
from tools.devkit.template import load_template

TABLE_INPUT: dict[str, Any] = load_template()["Resources"]["ArchiveTable"]["Properties"]["TableInput"]
DATABASE, TABLE = "pps_webhooks_archive", TABLE_INPUT["Name"]
SINCE = datetime(2024, 2, 1, tzinfo=UTC)
BIG = 300_000
"""Above SNS's 256 KiB: the receiver claim-checks the body."""


# --- Hive types (Glue) as DuckDB types -------------------------------------------------------------------------------

SCALARS = {"string": "VARCHAR", "boolean": "BOOLEAN", "int": "INTEGER", "bigint": "BIGINT", "double": "DOUBLE"}


def split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "<"
        depth -= char == ">"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def duckdb_type(hive: str, keys: Mapping[str, str]) -> str:
    """A Hive type in DuckDB's words; struct fields named as the JSON writes them (`keys`: lower case -> as written),
    since DuckDB's JSON reader matches names exactly where the OpenX SerDe ignores case."""
    hive = hive.strip()
    if hive in SCALARS:
        return SCALARS[hive]
    outer, _, inner = hive.partition("<")
    inner = inner.removesuffix(">")
    if outer == "array":
        return f"{duckdb_type(inner, keys)}[]"
    if outer == "map":
        key, value = split_top_level(inner)
        return f"MAP({duckdb_type(key, keys)}, {duckdb_type(value, keys)})"
    if outer == "struct":
        fields = [field.split(":", 1) for field in split_top_level(inner)]
        return "STRUCT(" + ", ".join(f'"{keys.get(name, name)}" {duckdb_type(t, keys)}' for name, t in fields) + ")"
    raise ValueError(f"no DuckDB type for Hive type {hive!r}")


def json_keys(lines: Sequence[str]) -> dict[str, str]:
    """Every object key in the lines: lower case -> as written."""
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                found.setdefault(key.lower(), key)
                walk(value)

    for line in lines:
        walk(json.loads(line))
    return found


def create_archive_view(
    connection: duckdb.DuckDBPyConnection, root: Path, lines: Sequence[str], *, lowercase_map_keys: bool = False
) -> None:
    """The Glue table as a DuckDB view of the same name: its columns and types, its partitions read from the path as
    storage.location.template lays them out. `lowercase_map_keys`: as the original OpenX SerDe reads a map."""
    keys = json_keys(lines)
    template = TABLE_INPUT["Parameters"]["storage.location.template"]["Fn::Sub"]
    pattern = re.sub(r"\$\{!\w+\}", "*", template.replace("s3://${ArchiveBucket}", str(root))) + "*"
    columns, selected = {}, []
    for column in TABLE_INPUT["StorageDescriptor"]["Columns"]:
        written = keys.get(column["Name"], column["Name"])
        columns[written] = duckdb_type(column["Type"], keys)
        value = f'"{written}"'
        if lowercase_map_keys and column["Type"].startswith("map<"):
            value = (
                f"map_from_entries(list_transform(map_entries({value}), "
                "lambda e: struct_pack(key := lower(e.key), value := e.value)))"
            )
        selected.append(f'{value} AS "{column["Name"]}"')
    partitions = {key["Name"]: duckdb_type(key["Type"], keys) for key in TABLE_INPUT["PartitionKeys"]}
    selected += [f'"{name}"' for name in partitions]
    connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{DATABASE}"')
    # Built from template.yaml and the test's own paths only
    source = (
        f"read_json('{pattern}', format='newline_delimited', compression='gzip', hive_partitioning=true, "
        f"hive_types={partitions!r}, columns={columns!r})"
    )
    view = f'CREATE OR REPLACE VIEW "{DATABASE}"."{TABLE}" AS SELECT {", ".join(selected)} FROM {source}'  # noqa: S608
    connection.execute(view)


def athena_text(query: Query) -> str:
    """The SQL as Athena runs it: each `?` outside quotes replaced, in order, by its parameter's SQL text."""
    pieces = re.split(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")", query.sql)
    parameters = iter(query.parameters)
    bound = []
    for piece in pieces:
        if piece.startswith(("'", '"')):
            bound.append(piece)
        else:
            bound.append(re.sub(r"\?", lambda _: next(parameters), piece))
    assert next(parameters, None) is None, "more parameters than placeholders"
    return "".join(bound)


def run(connection: duckdb.DuckDBPyConnection, query: Query) -> list[list[str | None]]:
    """The rows as Athena's GetQueryResults gives them: a header row, then text values (NULL: no value)."""
    result = connection.execute(athena_text(query))
    names = [description[0] for description in result.description]
    assert names == list(COLUMNS)
    rows: list[list[str | None]] = [list(names)]
    for row in result.fetchall():
        rows.append([None if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in row])
    return rows


# --- An archive in the real layout --------------------------------------------------------------------------------


def delivered(stack: Deployment, topic: str) -> list[str]:
    """What `topic` (a logical id) delivered to a non-raw subscriber since the last call: Firehose's records."""
    sqs, found = stack.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=stack.capture_queues[topic], MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            found.append(message["Body"])
            sqs.delete_message(QueueUrl=stack.capture_queues[topic], ReceiptHandle=message["ReceiptHandle"])
    return found


def published_on(line: str, timestamp: str) -> str:
    """The notification as if SNS had published it at `timestamp` (archives hold many days; moto publishes now)."""
    envelope = json.loads(line)
    envelope["Timestamp"] = timestamp
    return json.dumps(envelope)


def partition_of(line: str) -> str:
    """Where Firehose writes the line: its MetadataExtraction query (topic: X-Pps-Topic with / as _, date:
    Timestamp[0:10]) put into the stream's Prefix."""
    envelope = json.loads(line)
    topic = (envelope.get("MessageAttributes", {}).get("X-Pps-Topic", {}).get("Value") or "unknown").replace("/", "_")
    return f"webhooks/topic={topic}/date={(envelope.get('Timestamp') or 'unknown')[0:10]}/"


@dataclass
class Archive:
    root: Path
    stack: Deployment
    lines: list[str]
    connection: duckdb.DuckDBPyConnection

    def write(self, lines: Sequence[str], *, prefix: str | None = None, data: bytes | None = None) -> None:
        """One object per partition, as one Firehose buffer, gzip; to disk and to the stack's archive bucket."""
        groups: dict[str, list[str]] = defaultdict(list)
        for line in lines:
            groups[prefix or partition_of(line)].append(line)
        if data is not None and prefix:
            groups.setdefault(prefix, [])
        for partition, grouped in groups.items():
            day = partition.rstrip("/").rsplit("=", 1)[-1]
            key = f"{partition}pps-webhooks-archive-1-{day}-10-00-00-{uuid.uuid4()}.gz"
            body = data if data is not None else gzip.compress("".join(f"{line}\n" for line in grouped).encode())
            (self.root / key).parent.mkdir(parents=True, exist_ok=True)
            (self.root / key).write_bytes(body)
            self.stack.client("s3").put_object(Bucket=self.stack.refs["ArchiveBucket"], Key=key, Body=body)
        self.lines += [line for line in lines if data is None]
        create_archive_view(self.connection, self.root, self.lines)

    def partitions(self) -> list[str]:
        return sorted(path.name.removeprefix("topic=") for path in (self.root / "webhooks").iterdir())

    def find(self, webhook_id: str, tenant: str | None = None, since: datetime = SINCE) -> list[list[str | None]]:
        query = find_query(DATABASE, TABLE, self.partitions(), since, webhook_id, tenant)
        return run(self.connection, query)


def accept(
    sandbox: Sandbox, token: Callable[..., str], webhook_id: str, body: str = '{"orderId":"O-1"}', **headers: Any
) -> None:
    response = sandbox.invoke(api_event("http", pps_headers(token(), webhook_id=webhook_id, **headers), body))
    assert response.status == 200, response.body


@pytest.fixture
def archive(tmp_path: Path, stack: Deployment, sandbox: Sandbox, token: Callable[..., str]) -> Iterator[Archive]:
    """Webhooks the receiver accepted, archived over several days:
    W-1 (orders/placed, OU1243, delivered twice), W-1 again for tenant OU9999 (orders/updated), W-BIG (claim-checked),
    W-OLD (before SINCE), W-UNROUTED (a topic nobody routes), it's-1 (a quote in its id)."""
    accept(sandbox, token, "W-1", topic="orders/placed", tenant_id="OU1243")
    accept(sandbox, token, "W-BIG", '{"blob":"' + "x" * BIG + '"}', topic="orders/placed")
    accept(sandbox, token, "W-OLD", topic="orders/placed")
    accept(sandbox, token, "it's-1", topic="orders/placed")
    placed = delivered(stack, "OrdersPlacedTopic")
    accept(sandbox, token, "W-1", topic="orders/updated", tenant_id="OU9999")
    updated = delivered(stack, "OrdersUpdatedTopic")
    accept(sandbox, token, "W-UNROUTED", topic="shipments/created")
    unrouted = delivered(stack, "UnroutedTopic")
    assert (len(placed), len(updated), len(unrouted)) == (4, 1, 1)
    w1, big, old, quoted = placed
    connection = duckdb.connect()
    archive = Archive(tmp_path, stack, [], connection)
    archive.write([published_on(w1, "2024-03-01T10:00:00.000Z"), published_on(quoted, "2024-03-01T11:00:00.000Z")])
    archive.write([published_on(w1, "2024-03-01T10:00:00.000Z")])  # Firehose delivers at least once
    archive.write([published_on(big, "2024-03-02T09:30:00.123Z"), published_on(old, "2024-01-10T08:00:00.000Z")])
    archive.write([published_on(updated[0], "2024-03-02T12:00:00.000Z")])
    archive.write([published_on(unrouted[0], "2024-03-03T00:00:00.000Z")])
    yield archive
    connection.close()


# --- The SQL, in DuckDB --------------------------------------------------------------------------------------------


def found(rows: list[list[str | None]]) -> list[tuple[str | None, ...]]:
    return [(s.arrived, s.pps_topic, s.tenant, s.webhook_id, str(s.claim_checked)) for s in sightings(rows)]


def test_every_delivery_of_the_id_is_found_with_when_what_and_whose(archive: Archive) -> None:
    rows = archive.find("W-1")

    assert found(rows) == [
        ("2024-03-01T10:00:00.000Z", "orders/placed", "OU1243", "W-1", "False"),
        ("2024-03-01T10:00:00.000Z", "orders/placed", "OU1243", "W-1", "False"),
        ("2024-03-02T12:00:00.000Z", "orders/updated", "OU9999", "W-1", "False"),
    ]
    first = sightings(rows)[0]
    assert first.sub_topic == "product:adv/adv-120"
    assert first.topic_arn == archive.stack.refs["OrdersPlacedTopic"]
    assert first.message_id == sightings(rows)[1].message_id  # the same notification, archived twice


def test_tenant_narrows_to_that_tenants_webhook(archive: Archive) -> None:
    assert [row[3] for row in archive.find("W-1", tenant="OU9999")[1:]] == ["OU9999"]
    assert archive.find("W-1", tenant="OU0000")[1:] == []


def test_since_excludes_what_arrived_before_to_the_day_and_to_the_minute(archive: Archive) -> None:
    assert archive.find("W-OLD")[1:] == []
    assert len(archive.find("W-OLD", since=datetime(2024, 1, 10, tzinfo=UTC))[1:]) == 1
    assert len(archive.find("W-1", since=datetime(2024, 3, 1, 10, 0, tzinfo=UTC))[1:]) == 3
    assert len(archive.find("W-1", since=datetime(2024, 3, 1, 10, 1, tzinfo=UTC))[1:]) == 1


def test_a_claim_checked_body_is_flagged_and_an_unrouted_topic_is_searched_too(archive: Archive) -> None:
    assert found(archive.find("W-BIG")) == [("2024-03-02T09:30:00.123Z", "orders/placed", "OU1243", "W-BIG", "True")]
    assert found(archive.find("W-UNROUTED")) == [
        ("2024-03-03T00:00:00.000Z", "shipments/created", "OU1243", "W-UNROUTED", "False")
    ]


@pytest.mark.parametrize(
    "attack",
    ["W-1' OR '1'='1", "W-1'--", "' OR 1=1 OR webhook_id = '", "W-1\\' OR 1=1 --", "?", "W-1'; DROP TABLE x; --"],
)
def test_an_id_is_matched_as_a_literal_and_cannot_change_the_query(archive: Archive, attack: str) -> None:
    assert archive.find(attack)[1:] == []
    assert found(archive.find("it's-1")) == [("2024-03-01T11:00:00.000Z", "orders/placed", "OU1243", "it's-1", "False")]


def test_only_the_listed_topics_and_the_days_since_are_read(archive: Archive) -> None:
    """Files that are no gzip, in another topic's partition and in a day before SINCE: a query that read either
    would fail, so the ones that pass read neither (DuckDB prunes hive partitions as Athena projects them)."""
    archive.write([], prefix="webhooks/topic=corrupt/date=2024-03-01/", data=b"not gzip")
    archive.write([], prefix="webhooks/topic=orders_placed/date=2024-01-31/", data=b"not gzip")
    since = find_query(DATABASE, TABLE, ["orders_placed", "orders_updated"], SINCE, "W-1")

    assert len(run(archive.connection, since)) == 4
    with pytest.raises(duckdb.IOException):
        run(archive.connection, find_query(DATABASE, TABLE, ["orders_placed", "corrupt"], SINCE, "W-1"))
    with pytest.raises(duckdb.IOException):
        run(
            archive.connection, find_query(DATABASE, TABLE, ["orders_placed"], datetime(2024, 1, 31, tzinfo=UTC), "W-1")
        )


def test_the_attributes_are_found_when_the_serde_lower_cases_map_keys(archive: Archive) -> None:
    """The original OpenX SerDe lower-cases every key, map keys too; Trino's keeps them: the query reads both."""
    create_archive_view(archive.connection, archive.root, archive.lines, lowercase_map_keys=True)
    view = f'"{DATABASE}"."{TABLE}"'
    keys = archive.connection.execute(f"SELECT map_keys(messageattributes) FROM {view} LIMIT 1")  # noqa: S608

    assert "x-pps-webhook-id" in keys.fetchone()[0]  # type: ignore[index]
    assert [row[1:6] for row in archive.find("W-BIG")[1:]] == [
        ["orders/placed", "product:adv/adv-120", "OU1243", "W-BIG", "true"]
    ]


# --- The whole command, against the stack in moto ---------------------------------------------------------------------


def hand_athena(moto_endpoint: str, rows: list[list[str | None]]) -> None:
    """moto's Athena answers the next query's GetQueryResults with these rows."""
    result = {"rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]}
    request = urllib.request.Request(
        f"{moto_endpoint}/moto-api/static/athena/query-results",
        data=json.dumps({"results": [result]}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def make_find(moto_endpoint: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """The real `make find`, as the README shows it."""
    return run_make("find", moto_endpoint, variables)


def pps_find(moto_endpoint: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """The command `make find` runs, itself: make answers every failure with its own exit status 2."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "pps-find")],
        cwd=ROOT,
        env={**os.environ, "AWS_ENDPOINT_URL": moto_endpoint, **variables},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sent_queries(stack: Deployment) -> list[dict[str, Any]]:
    athena = stack.client("athena")
    ids = athena.list_query_executions(WorkGroup="pps-webhooks-archive")["QueryExecutionIds"]
    return [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]


def visible(stack: Deployment, queue: str) -> tuple[int, int]:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.refs[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_make_find_reports_the_archive_the_dead_letter_queue_the_paused_queue_and_skips_a_running_one(
    archive: Archive, stack: Deployment, moto_endpoint: str
) -> None:
    # Given W-1 parked in OrdersPlacedFunction's dead-letter queue (received until maxReceiveCount moved it),
    # W-1 of OU9999 waiting in OrdersUpdatedFunction's queue (consumer paused), and OrdersPlacedFunction running
    sqs, placed = stack.client("sqs"), stack.refs["OrdersPlacedQueue"]
    for _ in range(int(stack.parameter("ConsumerMaxReceiveCount")) + 1):
        sqs.receive_message(QueueUrl=placed, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageAttributeNames=["All"])
    dead_letters = visible(stack, "OrdersPlacedDeadLetterQueue")
    assert dead_letters[0] >= 1
    waiting_id = sqs.send_message(QueueUrl=placed, MessageBody='{"orderId": "ORD-RUNNING"}')["MessageId"]
    aws_lambda = stack.client("lambda")
    aws_lambda.update_event_source_mapping(UUID=stack.physical_ids["OrdersPlacedEventSource"], Enabled=True)
    aws_lambda.update_event_source_mapping(UUID=stack.physical_ids["OrdersUpdatedEventSource"], Enabled=False)
    # ...and Athena given the rows the command's own query yields on the archive
    query = find_query(DATABASE, TABLE, archive.partitions(), SINCE, "W-1")
    hand_athena(moto_endpoint, run(archive.connection, query))

    result = make_find(moto_endpoint, WEBHOOK_ID="W-1", SINCE="2024-02-01")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "W-1: 3 archived deliveries" in out
    assert "topics orders_placed, orders_updated, shipments_created" in out
    assert out.count("arrived        2024-03-01T10:00:00.000Z") == 2
    assert "arrived        2024-03-02T12:00:00.000Z" in out
    assert "sub-topic      product:adv/adv-120" in out
    assert "claim-checked  no" in out
    lines = out.splitlines()
    (dlq,) = [line for line in lines if re.search(r"OrdersPlacedFunction +dead-letter queue", line)]
    assert "HOLDS IT (1 matching of 4 looked at)" in dlq  # W-BIG, W-OLD and it's-1 were parked too
    (running,) = [line for line in lines if re.search(r"OrdersPlacedFunction +queue", line)]
    assert running.endswith("not searched: consumer running (messages are in flight or processed within seconds)")
    (paused,) = [line for line in lines if re.search(r"OrdersUpdatedFunction +queue", line)]
    assert "HOLDS IT (1 matching of 1 looked at)" in paused
    assert "counted one receive toward maxReceiveCount" in paused
    # The query sent is the one DuckDB ran, in the stack's workgroup; the queues hold what they held, visible
    (sent,) = sent_queries(stack)
    assert (sent["Query"], tuple(sent["ExecutionParameters"])) == (query.sql, query.parameters)
    assert sent["WorkGroup"] == "pps-webhooks-archive"
    assert visible(stack, "OrdersPlacedDeadLetterQueue") == dead_letters
    assert visible(stack, "OrdersUpdatedQueue") == (1, 0)
    # The running consumer's queue was not received from: its message has never been received
    (untouched,) = sqs.receive_message(QueueUrl=placed, MessageSystemAttributeNames=["ApproximateReceiveCount"])[
        "Messages"
    ]
    assert (untouched["MessageId"], untouched["Attributes"]["ApproximateReceiveCount"]) == (waiting_id, "1")
    assert "Querying the archive in Athena" in result.stderr  # progress on stderr, the answer on stdout


def test_make_find_narrowed_to_a_tenant_sends_the_tenant_as_a_parameter(
    archive: Archive, stack: Deployment, moto_endpoint: str
) -> None:
    query = find_query(DATABASE, TABLE, archive.partitions(), SINCE, "W-BIG", "OU1243")
    hand_athena(moto_endpoint, run(archive.connection, query))

    result = make_find(moto_endpoint, WEBHOOK_ID="W-BIG", TENANT="OU1243", SINCE="2024-02-01")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Webhook W-BIG of tenant OU1243: 1 archived delivery" in result.stdout
    assert "claim-checked  yes" in result.stdout
    (sent,) = sent_queries(stack)
    assert sent["ExecutionParameters"] == ["'W-BIG'", "'OU1243'"]


def test_an_unknown_id_is_not_found_and_says_where_it_looked(
    archive: Archive, stack: Deployment, moto_endpoint: str
) -> None:
    query = find_query(DATABASE, TABLE, archive.partitions(), SINCE, "W-NOPE")
    hand_athena(moto_endpoint, run(archive.connection, query))

    result = pps_find(moto_endpoint, WEBHOOK_ID="W-NOPE", SINCE="2024-02-01")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "W-NOPE: 0 archived deliveries" in result.stdout
    assert f"s3://{stack.refs['ArchiveBucket']}/webhooks/ since 2024-02-01T00:00:00Z" in result.stdout
    assert "Not found" in result.stdout
    assert "not there" in result.stdout  # the dead-letter queues were searched


@pytest.mark.parametrize(
    ("variables", "error"),
    [({}, "Missing option '--webhook-id' / WEBHOOK_ID"), ({"WEBHOOK_ID": "W-1", "SINCE": "yesterday"}, "SINCE")],
)
def test_a_wrong_setting_is_a_usage_error(moto_endpoint: str, variables: dict[str, str], error: str) -> None:
    result = pps_find(moto_endpoint, **variables)

    assert result.returncode == 2
    assert error in result.stderr
