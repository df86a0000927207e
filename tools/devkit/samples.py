"""The sample events in events/, each with the function it is for and what it does: `make events` writes them,
`make local-invoke` and the tests check each does what the README says.

API Gateway events carry tokens signed by the development key (valid until 2100, so the samples never
rot); events/env.json makes `sam local invoke` trust that key without any network. Everything here is
deterministic: writing them again gives the same bytes (a test checks the committed files match).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pps_webhooks.settings import default_jwks_uri
from tools.devkit import dev_key
from tools.devkit.events import ORDER_BODY, TRIGGERED_AT, api_event, pps_headers, queue_event, topic_event

PLACED_BODY = ORDER_BODY
UPDATED_BODY = '{"orderId":"ORD-1001","status":"shipped","trackingNumber":"1Z999AA10123456784"}'
PLACED_ID = "279e4e55-dfa0-4e04-b717-148ae547ab7d"
UPDATED_ID = "5f0c1e9a-3b7d-4c55-9a51-2d8e6b7f4a10"
PLACED_AT = TRIGGERED_AT
UPDATED_AT = "2024-01-02T08:30:00.1234567Z"


@dataclass(frozen=True)
class Sample:
    file: str
    function: str
    outcome: str
    """What happens when it is replayed in this order (documented in the README, checked by a test)."""
    event: dict[str, Any]


def samples() -> list[Sample]:
    """Every sample event, in the order the README's table (and the replay test) goes through them."""
    token = dev_key.sample_token()
    placed = pps_headers(topic="orders/placed", webhook_id=PLACED_ID, triggered_at=PLACED_AT)
    updated = pps_headers(topic="orders/updated", webhook_id=UPDATED_ID, triggered_at=UPDATED_AT)
    rest_placed = pps_headers(topic="orders/placed", webhook_id="8d1f7c3e-2a64-4b9e-b0f5-6c3a9e2d1b47")
    rest_body = PLACED_BODY.replace("ORD-1001", "ORD-1002")
    unknown = pps_headers(topic="invoices/paid", webhook_id="c4a2e6f1-9b3d-4e7a-8f12-3d5b7a9c1e20", sub_topic=None)
    signed = {"Authorization": f"Bearer {token}"}
    forged = {"Authorization": f"Bearer {_forged(token)}"}
    receiver = "WebhookReceiverFunction"
    return [
        Sample(
            "http-api-orders-placed.json",
            receiver,
            "200 accepted: published to OrdersPlacedTopic",
            api_event("http", {**signed, **placed}, PLACED_BODY, request_id="Rx6sLjQ5IAMEVxA="),
        ),
        Sample(
            "http-api-duplicate.json",
            receiver,
            "200 duplicate: the same webhook id again, nothing published",
            api_event("http", {**signed, **placed}, PLACED_BODY, request_id="Rx6sLjQ5IAMEVxB="),
        ),
        Sample(
            "http-api-orders-updated.json",
            receiver,
            "200 accepted: published to OrdersUpdatedTopic",
            api_event("http", {**signed, **updated}, UPDATED_BODY, request_id="Rx6sLjQ5IAMEVxC="),
        ),
        Sample(
            "rest-api-orders-placed.json",
            receiver,
            "200 accepted: the REST API (payload 1.0) format, published to OrdersPlacedTopic",
            api_event("rest", {**signed, **rest_placed}, rest_body, request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef"),
        ),
        Sample(
            "http-api-unknown-topic.json",
            receiver,
            "200 accepted: no topic is mapped to invoices/paid, so it is parked on UnroutedTopic",
            api_event("http", {**signed, **unknown}, '{"invoiceId":"INV-77"}', request_id="Rx6sLjQ5IAMEVxD="),
        ),
        Sample(
            "http-api-bad-token.json",
            receiver,
            "403 Forbidden: the token's signature does not verify, nothing written",
            api_event(
                "http",
                {**forged, **pps_headers(topic="orders/placed", webhook_id="0e7d9c2b-5a31-4f6e-9d84-7b2c1a0f3e95")},
                PLACED_BODY,
                request_id="Rx6sLjQ5IAMEVxE=",
            ),
        ),
        Sample(
            "sqs-orders-placed.json",
            "OrdersPlacedFunction",
            "order ORD-1001 of tenant OU1243 created in OrdersTable (status placed)",
            queue_event("OrdersPlacedQueue", placed, PLACED_BODY, "059f36b4-87a3-44ab-83d2-661975830a7d"),
        ),
        Sample(
            "sqs-orders-updated.json",
            "OrdersUpdatedFunction",
            "order ORD-1001 updated (status shipped): its X-Pps-Triggered-At is newer",
            queue_event("OrdersUpdatedQueue", updated, UPDATED_BODY, "2e1424d4-f796-459a-8184-9c92662be6da"),
        ),
        Sample(
            "sns-orders-placed.json",
            "OrdersPlacedFunction",
            "the same delivery as SNS -> Lambda directly: nothing changes (ORD-1001 exists)",
            topic_event("OrdersPlacedTopic", placed, PLACED_BODY, "95df01b4-ee98-5cb9-9903-4c221d41eb5e"),
        ),
        Sample(
            "sns-orders-updated.json",
            "OrdersUpdatedFunction",
            "the same update again: not applied (not newer than what is stored)",
            topic_event("OrdersUpdatedTopic", updated, UPDATED_BODY, "a1b2c3d4-e5f6-5a7b-8c9d-0e1f2a3b4c5d"),
        ),
    ]


def env_json() -> dict[str, dict[str, str]]:
    """`sam local invoke --env-vars events/env.json`: the receiver trusts the development key, offline.

    Whom it trusts in full, so that nothing depends on the template's parameter values: PPS_JWKS_URI is the
    development issuer's (never fetched: PPS_JWKS holds its keys). Only variables the template declares on the
    function, since SAM CLI drops any other."""
    return {
        "WebhookReceiverFunction": {
            "PPS_ISSUER": dev_key.ISSUER,
            "PPS_AUDIENCE": dev_key.AUDIENCE,
            "PPS_JWKS_URI": default_jwks_uri(dev_key.ISSUER),
            "PPS_JWKS": json.dumps(dev_key.jwks(), separators=(",", ":")),
        }
    }


def _forged(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload}.{signature[:-8]}AAAAAAAA"
