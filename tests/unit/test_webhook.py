"""read_webhook: what PPS must always send, and what is passed through untouched."""

from __future__ import annotations

import base64

import pytest

from pps_webhooks.errors import BadRequest
from pps_webhooks.http_event import HttpRequest, read_request
from pps_webhooks.webhook import MAX_ID_BYTES, Webhook, read_webhook
from tools.devkit.events import ORDER_BODY, pps_headers

PPS_HEADERS = pps_headers(webhook_id="279e4e55-dfa0-4e04-b717-148ae547ab7d")
REQUIRED = ("X-Pps-Topic", "X-Pps-Tenant-Id", "X-Pps-Webhook-Id")
OPTIONAL = ("X-Pps-Sub-Topic", "X-Pps-Triggered-At")


def request(headers: dict[str, str], body: str | None = ORDER_BODY) -> HttpRequest:
    return read_request({"headers": headers, "body": body, "isBase64Encoded": False})


def problems_of(http_request: HttpRequest) -> list[str]:
    with pytest.raises(BadRequest) as raised:
        read_webhook(http_request)
    assert raised.value.reason == "invalid-request"
    return raised.value.problems


def test_a_complete_webhook_is_read_with_every_value_untouched() -> None:
    webhook = read_webhook(request(PPS_HEADERS))

    assert webhook == Webhook(
        topic="orders/placed",
        tenant_id="OU1243",
        webhook_id="279e4e55-dfa0-4e04-b717-148ae547ab7d",
        body=ORDER_BODY,
        sub_topic="product:adv/adv-120",
        triggered_at="2024-01-1T10:00:00.7777748Z",  # not a valid ISO date: passed on, not parsed
    )
    assert webhook.headers == PPS_HEADERS


def test_header_names_in_any_case_are_read_under_their_canonical_names() -> None:
    webhook = read_webhook(request({name.lower(): value for name, value in PPS_HEADERS.items()}))

    assert webhook.headers == PPS_HEADERS


def test_every_problem_is_named_at_once() -> None:
    assert problems_of(request({}, body=None)) == [
        "missing header X-Pps-Topic",
        "missing header X-Pps-Tenant-Id",
        "missing header X-Pps-Webhook-Id",
        "missing body",
    ]


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("absent", [None, "", "   "], ids=["absent", "empty", "blank"])
def test_a_missing_required_header_is_named(name: str, absent: str | None) -> None:
    headers = {key: value for key, value in PPS_HEADERS.items() if key != name}
    if absent is not None:
        headers[name] = absent

    assert problems_of(request(headers)) == [f"missing header {name}"]


@pytest.mark.parametrize("body", [None, "", "  \r\n\t "])
def test_a_missing_or_blank_body_is_named(body: str | None) -> None:
    assert problems_of(request(PPS_HEADERS, body)) == ["missing body"]


@pytest.mark.parametrize("name", REQUIRED)
def test_an_id_longer_than_the_bound_is_refused(name: str) -> None:
    assert problems_of(request({**PPS_HEADERS, name: "x" * (MAX_ID_BYTES + 1)})) == [
        f"header {name} is longer than 512 bytes"
    ]


def test_the_id_bound_counts_utf8_bytes_not_characters() -> None:
    too_long = "é" * (MAX_ID_BYTES // 2 + 1)  # 257 characters, 514 bytes

    assert problems_of(request({**PPS_HEADERS, "X-Pps-Webhook-Id": too_long})) == [
        "header X-Pps-Webhook-Id is longer than 512 bytes"
    ]


def test_an_id_of_exactly_the_bound_is_accepted() -> None:
    webhook_id = "x" * MAX_ID_BYTES

    assert read_webhook(request({**PPS_HEADERS, "X-Pps-Webhook-Id": webhook_id})).webhook_id == webhook_id


@pytest.mark.parametrize("name", OPTIONAL)
@pytest.mark.parametrize("length", [513, 2048, 8000])
def test_a_long_optional_header_is_passed_through_not_refused(name: str, length: int) -> None:
    value = ("product:adv/" + "é" * length)[:length]

    assert read_webhook(request({**PPS_HEADERS, name: value})).headers[name] == value


@pytest.mark.parametrize("name", OPTIONAL)
@pytest.mark.parametrize(
    "value", ["  padded  ", "a,b", "ünïcødé ☕ 😀", "tab\there", "2024-01-1T10:00:00,7777748Z", "{not json"]
)
def test_an_odd_but_legal_optional_header_is_passed_through_as_it_came(name: str, value: str) -> None:
    assert read_webhook(request({**PPS_HEADERS, name: value})).headers[name] == value


@pytest.mark.parametrize("name", [*REQUIRED, *OPTIONAL])
@pytest.mark.parametrize(
    "character", ["\x00", "\x01", "\x1b", "\ufffe", "\udc80"], ids=["nul", "soh", "esc", "fffe", "surrogate"]
)
def test_a_header_sns_cannot_carry_is_refused(name: str, character: str) -> None:
    value = PPS_HEADERS[name] + character

    assert problems_of(request({**PPS_HEADERS, name: value})) == [f"header {name} has characters SNS cannot carry"]


@pytest.mark.parametrize("name", REQUIRED)
def test_an_id_with_a_comma_reads_as_two_values_and_is_refused(name: str) -> None:
    """The HTTP API joins a repeated header with ",": the id is ambiguous, and the REST front refuses it too."""
    assert problems_of(request({**PPS_HEADERS, name: "a,b"})) == [f"header {name} has more than one value"]


@pytest.mark.parametrize("name", REQUIRED)
def test_an_id_repeated_in_multi_value_headers_is_refused(name: str) -> None:
    event = {
        "headers": PPS_HEADERS,
        "multiValueHeaders": {**{key: [value] for key, value in PPS_HEADERS.items()}, name: ["a", "b"]},
        "body": ORDER_BODY,
    }

    assert problems_of(read_request(event)) == [f"header {name} has more than one value"]


@pytest.mark.parametrize("name", OPTIONAL)
def test_a_repeated_optional_header_is_passed_through_joined_as_the_http_api_joins_it(name: str) -> None:
    rest = {
        "headers": {**PPS_HEADERS, name: "b"},
        "multiValueHeaders": {**{key: [value] for key, value in PPS_HEADERS.items()}, name: ["a", "b"]},
        "body": ORDER_BODY,
    }
    http = {"headers": {**PPS_HEADERS, name: "a,b"}, "body": ORDER_BODY}

    assert read_webhook(read_request(rest)).headers[name] == read_webhook(read_request(http)).headers[name] == "a,b"


def test_a_body_with_a_lone_surrogate_is_refused_as_not_utf8() -> None:
    with pytest.raises(BadRequest) as raised:
        read_webhook(request(PPS_HEADERS, '{"orderId":"\udc80"}'))

    assert raised.value.reason == "invalid-body"
    assert raised.value.problems == ["body is not UTF-8 text"]


def test_a_body_that_is_not_utf8_is_refused() -> None:
    event = {"headers": PPS_HEADERS, "body": base64.b64encode(b"\xff\xfe\x00order").decode(), "isBase64Encoded": True}

    with pytest.raises(BadRequest) as raised:
        read_webhook(read_request(event))

    assert raised.value.reason == "invalid-body"
    assert raised.value.problems == ["body is not UTF-8 text"]


def test_a_base64_utf8_body_is_decoded_to_text() -> None:
    body = '{"note":"café ☕"}'
    event = {"headers": PPS_HEADERS, "body": base64.b64encode(body.encode()).decode(), "isBase64Encoded": True}

    assert read_webhook(read_request(event)).body == body


@pytest.mark.parametrize("absent", [None, ""], ids=["absent", "empty"])
def test_optional_headers_that_are_not_sent_are_none_and_left_out(absent: str | None) -> None:
    headers = {name: value for name, value in PPS_HEADERS.items() if name not in OPTIONAL}
    if absent is not None:
        headers.update(dict.fromkeys(OPTIONAL, absent))

    webhook = read_webhook(request(headers))

    assert webhook.sub_topic is None
    assert webhook.triggered_at is None
    assert webhook.headers == {name: PPS_HEADERS[name] for name in REQUIRED}


def test_the_body_is_passed_through_byte_for_byte() -> None:
    body = '  {"b": 2,\n "a": "ü"}  \n'

    assert read_webhook(request(PPS_HEADERS, body)).body == body
