"""Claim checks: when a message is too large for SNS, and the pointer the AWS extended clients read."""

from __future__ import annotations

import json
import posixpath

import pytest

from pps_webhooks.offload import (
    message_size,
    needs_offload,
    payload_key,
    pointer_attributes,
    pointer_message,
    string_attributes,
)

TOPIC = {"X-Pps-Topic": {"DataType": "String", "StringValue": "orders/placed"}}


def test_string_attributes_carry_each_value_as_a_string() -> None:
    assert string_attributes({"X-Pps-Topic": "orders/placed", "X-Pps-Tenant-Id": "OU1243"}) == {
        "X-Pps-Topic": {"DataType": "String", "StringValue": "orders/placed"},
        "X-Pps-Tenant-Id": {"DataType": "String", "StringValue": "OU1243"},
    }


def test_message_size_counts_the_body_and_each_attribute_name_type_and_value() -> None:
    attributes = {**TOPIC, "ExtendedPayloadSize": {"DataType": "Number", "StringValue": "300000"}}

    size = message_size(b"abc", attributes)

    assert size == 3 + (len("X-Pps-Topic") + len("String") + len("orders/placed")) + (19 + 6 + 6)


def test_message_size_counts_utf8_bytes_not_characters() -> None:
    attributes = {"X-Pps-Sub-Topic": {"DataType": "String", "StringValue": "prodüct"}}

    assert message_size("café".encode(), attributes) == 5 + (15 + 6 + 8)


def test_a_message_without_attributes_is_its_body() -> None:
    assert message_size(b"x" * 1000, {}) == 1000


@pytest.mark.parametrize(("extra", "needed"), [(-1, False), (0, False), (1, True)])
def test_a_claim_check_is_needed_only_above_the_threshold(extra: int, needed: bool) -> None:
    threshold = 1000
    body = "x" * (threshold - message_size(b"", TOPIC) + extra)

    assert message_size(body.encode(), TOPIC) == threshold + extra
    assert needs_offload(body, TOPIC, threshold) is needed


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1f", "\ufffe"])
def test_a_small_body_sns_cannot_carry_as_text_is_offloaded(character: str) -> None:
    assert needs_offload('{"note":"' + character + '"}', TOPIC, 1000)


@pytest.mark.parametrize("body", ['{"a":"tab\tnew\nline\r"}', '{"café":"☕😀"}'])
def test_a_small_body_of_legal_text_is_not_offloaded(body: str) -> None:
    assert not needs_offload(body, TOPIC, 1000)


def test_the_pointer_is_the_payload_offloading_format() -> None:
    assert pointer_message("b", "k") == (
        '["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName": "b", "s3Key": "k"}]'
    )


def test_the_pointer_escapes_its_values_as_json() -> None:
    assert json.loads(pointer_message("bucket", 'payloads/a"b/c')) == [
        "software.amazon.payloadoffloading.PayloadS3Pointer",
        {"s3BucketName": "bucket", "s3Key": 'payloads/a"b/c'},
    ]


def test_pointer_attributes_add_the_payload_size_and_keep_the_others() -> None:
    assert pointer_attributes(TOPIC, 300_000) == {
        **TOPIC,
        "ExtendedPayloadSize": {"DataType": "Number", "StringValue": "300000"},
    }
    assert "ExtendedPayloadSize" not in TOPIC


def test_the_payload_key_is_per_tenant_and_webhook_id() -> None:
    assert payload_key("OU1243", "279e4e55-dfa0-4e04-b717-148ae547ab7d") == (
        "payloads/OU1243/279e4e55-dfa0-4e04-b717-148ae547ab7d"
    )


def test_slashes_in_ids_are_percent_encoded() -> None:
    assert payload_key("a/b", "c/d") == "payloads/a%2Fb/c%2Fd"


@pytest.mark.parametrize(
    ("tenant_id", "webhook_id"),
    [("../x", "id"), ("..", "id"), ("OU1243", ".."), (".", "."), ("..", ".."), ("../..", "../../etc")],
    ids=["tenant-dotdot-slash", "tenant-dotdot", "webhook-dotdot", "both-dot", "both-dotdot", "nested"],
)
def test_no_id_can_escape_the_payloads_prefix(tenant_id: str, webhook_id: str) -> None:
    key = payload_key(tenant_id, webhook_id)

    segments = key.split("/")
    assert len(segments) == 3
    assert segments[0] == "payloads"
    assert not {".", ".."} & set(segments), f"{key!r} has a relative path segment"
    assert posixpath.normpath(key).startswith("payloads/")
    assert posixpath.normpath(key) == key


def test_different_ids_never_share_a_key() -> None:
    assert payload_key("a/b", "c") != payload_key("a", "b/c")


@pytest.mark.parametrize(
    "character",
    ["x", "é", "/", "%", "😀", "\u3000"],
    ids=["ascii", "accent", "slash", "percent", "emoji", "wide-space"],
)
def test_every_accepted_id_gives_a_key_s3_takes(character: str) -> None:
    """Ids up to the 512-byte bound, each character percent-encoded up to 12 bytes: the key stays within 1,024."""
    longest = character * (512 // len(character.encode()))

    key = payload_key(longest, longest)

    assert len(key.encode()) <= 1024
    assert key.startswith("payloads/")
    assert key.count("/") == 2


def test_long_ids_keep_distinct_keys() -> None:
    first, second = "é" * 200 + "a", "é" * 200 + "b"

    assert payload_key("OU1243", first) != payload_key("OU1243", second)
    assert payload_key("OU1243", first) == payload_key("OU1243", first)  # deterministic: a retry overwrites


def test_no_id_reads_as_the_hash_of_a_long_one() -> None:
    long_id = "é" * 200
    hashed = payload_key("OU1243", long_id).rsplit("/", 1)[1]

    assert hashed.startswith("!sha256-")
    assert payload_key("OU1243", hashed) != payload_key("OU1243", long_id)  # a literal "!" is encoded as %21
