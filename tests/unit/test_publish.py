"""Routes: which SNS topic an X-Pps-Topic goes to."""

from __future__ import annotations

import pytest

from pps_webhooks.publish import Routes

PLACED = "arn:aws:sns:us-east-1:123456789012:orders-placed"
UPDATED = "arn:aws:sns:us-east-1:123456789012:orders-updated"
UNROUTED = "arn:aws:sns:us-east-1:123456789012:unrouted"
ROUTES = Routes({"orders/placed": PLACED, "orders/updated": UPDATED}, UNROUTED)


@pytest.mark.parametrize(("topic", "arn"), [("orders/placed", PLACED), ("orders/updated", UPDATED)])
def test_a_mapped_topic_goes_to_its_arn(topic: str, arn: str) -> None:
    assert ROUTES.topic_arn(topic) == (arn, False)


@pytest.mark.parametrize("topic", ["orders/cancelled", "Orders/Placed", "orders/placed ", ""])
def test_any_other_topic_falls_through_to_the_unrouted_topic(topic: str) -> None:
    assert ROUTES.topic_arn(topic) == (UNROUTED, True)


def test_with_no_routes_everything_is_unrouted() -> None:
    assert Routes({}, UNROUTED).topic_arn("orders/placed") == (UNROUTED, True)
