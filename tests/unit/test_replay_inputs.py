"""What an operator types for a replay: the window to the minute, the webhook ids (a list or @file), the rate."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pps_ops.replay.archive import Notification
from pps_ops.replay.pacing import parse_rate
from pps_ops.replay.selection import Selection, parse_webhook_ids
from pps_ops.replay.window import Window, parse_moment


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2024-01-01", "2024-01-01T00:00:00"),
        ("2024-01-01T10:05", "2024-01-01T10:05:00"),
        ("2024-01-01 10:05", "2024-01-01T10:05:00"),
        ("2024-01-01T10:05Z", "2024-01-01T10:05:00"),
        ("2024-01-01T10:05:30.250Z", "2024-01-01T10:05:30.250000"),
        ("2024-01-01T12:05+02:00", "2024-01-01T10:05:00"),
        ("2024-01-01 05:05-05:00", "2024-01-01T10:05:00"),
        ("  2024-01-01T10:05  ", "2024-01-01T10:05:00"),
    ],
)
def test_a_moment_is_read_to_the_minute_in_utc_unless_it_names_an_offset(text: str, utc: str) -> None:
    assert parse_moment(text) == datetime.fromisoformat(utc).replace(tzinfo=UTC)


@pytest.mark.parametrize("text", ["last tuesday", "2024-13-01", "2024-01-01T25:00", "10:05", ""])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a date or an ISO date-time"):
        parse_moment(text)


def test_a_window_to_the_minute_holds_its_start_not_its_end_and_reads_its_days_and_the_next() -> None:
    window = Window(parse_moment("2024-01-01 23:55"), parse_moment("2024-01-02T00:05"))

    assert parse_moment("2024-01-01T23:55:00.000Z") in window
    assert parse_moment("2024-01-02T00:04:59.999Z") in window
    assert parse_moment("2024-01-01T23:54:59.999Z") not in window
    assert parse_moment("2024-01-02T00:05:00.000Z") not in window
    assert window.partition_dates() == [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("a1", ("a1",)),
        ("a1,b2", ("a1", "b2")),
        ("a1, b2  c3\n\td4", ("a1", "b2", "c3", "d4")),
        (",a1,,b2,", ("a1", "b2")),
        ("a1 b2 a1", ("a1", "b2")),
    ],
)
def test_webhook_ids_are_separated_by_commas_and_or_whitespace_each_once(text: str, ids: tuple[str, ...]) -> None:
    assert parse_webhook_ids(text) == ids


def test_webhook_ids_from_a_file_one_a_line_without_blank_lines_or_comments(tmp_path: Path) -> None:
    listing = tmp_path / "ids.txt"
    listing.write_text("# the webhooks of INC-42\n\n  a1  \nb2   # the big one\n#c3\n\na1\n", encoding="utf-8")

    assert parse_webhook_ids(f"@{listing}") == ("a1", "b2")


@pytest.mark.parametrize(("text", "error"), [(" , ", "no webhook id given"), ("@{empty}", "no webhook id in")])
def test_no_webhook_id_at_all_is_refused_rather_than_read_as_every_webhook(
    tmp_path: Path, text: str, error: str
) -> None:
    empty = tmp_path / "ids.txt"
    empty.write_text("# nothing yet\n\n", encoding="utf-8")

    with pytest.raises(ValueError, match=error):
        parse_webhook_ids(text.format(empty=empty))


def test_a_file_that_cannot_be_read_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"cannot read {tmp_path / 'missing.txt'}"):
        parse_webhook_ids(f"@{tmp_path / 'missing.txt'}")


def received(tenant: str, sub_topic: str, webhook_id: str) -> Notification:
    attributes = {
        "X-Pps-Tenant-Id": {"Type": "String", "Value": tenant},
        "X-Pps-Sub-Topic": {"Type": "String", "Value": sub_topic},
        "X-Pps-Webhook-Id": {"Type": "String", "Value": webhook_id},
    }
    envelope = {"MessageId": webhook_id, "MessageAttributes": attributes}
    return Notification(envelope, parse_moment("2024-01-01T10:00Z"))


@pytest.mark.parametrize(
    ("selection", "rejected_by"),
    [
        (Selection(), None),
        (Selection(tenant="OU1243"), None),
        (Selection(tenant="OU2000"), "TENANT"),
        (Selection(tenant="OU124"), "TENANT"),
        (Selection(sub_topic_prefix="product:adv/"), None),
        (Selection(sub_topic_prefix="product:adv/adv-120"), None),
        (Selection(sub_topic_prefix="product:std/"), "SUB_TOPIC_PREFIX"),
        (Selection(webhook_ids=frozenset({"w-1", "w-2"})), None),
        (Selection(webhook_ids=frozenset({"w-2"})), "WEBHOOK_IDS"),
        (Selection("OU2000", "product:std/", frozenset({"w-2"})), "TENANT"),
    ],
)
def test_each_filter_selects_by_its_attribute(selection: Selection, rejected_by: str | None) -> None:
    assert selection.rejects(received("OU1243", "product:adv/adv-120", "w-1")) == rejected_by


def test_a_webhook_without_the_attribute_a_filter_reads_is_left_out() -> None:
    bare = Notification({"MessageId": "m-1", "MessageAttributes": {}}, parse_moment("2024-01-01"))

    assert Selection(tenant="OU1243").rejects(bare) == "TENANT"
    assert Selection(sub_topic_prefix="").rejects(bare) is None  # the empty prefix selects everything
    assert Selection(sub_topic_prefix="p").rejects(bare) == "SUB_TOPIC_PREFIX"
    assert Selection(webhook_ids=frozenset({"m-1"})).rejects(bare) == "WEBHOOK_IDS"


@pytest.mark.parametrize(("text", "rate"), [("10", 10.0), ("0.5", 0.5), (" 2.5 ", 2.5), ("1e3", 1000.0)])
def test_a_rate_is_a_positive_number_of_messages_per_second(text: str, rate: float) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["0", "-1", "fast", "nan", "inf", ""])
def test_any_other_rate_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="must be a positive number of messages per second"):
        parse_rate(text)
