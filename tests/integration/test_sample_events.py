"""Every file in events/ replayed through its function with events/env.json, to its documented outcome.

`sam local invoke` cannot run here (no Docker), so this is what keeps the samples honest: the exact
events it would pass, the settings it would use, the outcome the README promises.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from local import events
from local.events import EVENTS, Sample
from tests.support.jwks_server import JwksServer
from tests.support.receiver import RECEIVER, Sandbox
from tests.support.stack import Deployment

ORDER = {"tenantId": "OU1243", "orderId": "ORD-1001"}


def test_the_committed_samples_are_exactly_what_make_events_writes() -> None:
    committed = {path.name for path in EVENTS.glob("*.json")}
    assert committed == {sample.file for sample in events.samples()} | {"env.json"}
    for sample in events.samples():
        assert (EVENTS / sample.file).read_text() == events.render(sample.event), f"{sample.file}: run make events"
    assert json.loads((EVENTS / "env.json").read_text()) == events.env_json()


def test_every_sample_event_has_its_documented_outcome(
    new_sandbox: Callable[..., Sandbox], stack: Deployment, jwks: JwksServer
) -> None:
    env_json = json.loads((EVENTS / "env.json").read_text())
    sandboxes = {
        function: new_sandbox(function, **env_json.get(function, {}))
        for function in {sample.function for sample in events.samples()}
    }
    outcomes: dict[str, Callable[[Any], None]] = {
        "http-api-orders-placed.json": lambda result: accepted_on(stack, result, "OrdersPlacedTopic"),
        "http-api-duplicate.json": lambda result: duplicate(stack, result),
        "http-api-orders-updated.json": lambda result: accepted_on(stack, result, "OrdersUpdatedTopic"),
        "rest-api-orders-placed.json": lambda result: accepted_on(stack, result, "OrdersPlacedTopic"),
        "http-api-unknown-topic.json": lambda result: accepted_on(stack, result, "UnroutedTopic"),
        "http-api-bad-token.json": lambda result: refused(stack, result),
        "sqs-orders-placed.json": lambda result: order_is(stack, result, status="placed", quantity=2),
        "sqs-orders-updated.json": lambda result: order_is(stack, result, status="shipped", quantity=2),
        "sns-orders-placed.json": lambda result: order_is(stack, result, status="shipped", quantity=2),
        "sns-orders-updated.json": lambda result: order_is(stack, result, status="shipped", quantity=2),
    }
    assert set(outcomes) == {sample.file for sample in events.samples()}

    for sample in events.samples():
        result = replay(sandboxes[sample.function], sample)
        outcomes[sample.file](result)

    assert jwks.requests == 0  # env.json makes the receiver trust the development key offline


def replay(sandbox: Sandbox, sample: Sample) -> Any:
    event = json.loads((EVENTS / sample.file).read_text())
    return sandbox.invoke(event) if sample.function == RECEIVER else sandbox.handle(event)


def accepted_on(stack: Deployment, response: Any, topic: str) -> None:
    assert response.status == 200
    assert response.body["status"] == "accepted"
    assert len(stack.published(topic)) == 1


def duplicate(stack: Deployment, response: Any) -> None:
    assert response.status == 200
    assert response.body["status"] == "duplicate"
    assert stack.published("OrdersPlacedTopic") == []


def refused(stack: Deployment, response: Any) -> None:
    assert response.status == 403
    assert all(not messages for messages in stack.all_published().values())


def order_is(stack: Deployment, result: Any, **expected: Any) -> None:
    assert not result.get("batchItemFailures")
    (order,) = [item for item in stack.items("OrdersTable") if item["orderId"] == ORDER["orderId"]]
    assert {name: order[name] for name in expected} == expected
