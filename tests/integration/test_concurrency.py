"""The same webhook delivered concurrently to separate sandboxes (separate OS processes): one publish."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.conftest import sandbox_environment
from tests.support.aws_proxy import AwsProxy
from tests.support.processes import start_invocations
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment
from tools.devkit.events import api_event, pps_headers

SANDBOXES = 6


def test_concurrent_identical_deliveries_publish_exactly_once(
    new_sandbox: Callable[..., Sandbox], stack: Deployment, token: Callable[..., str], aws_proxy: AwsProxy
) -> None:
    # Given the same webhook arriving at six cold sandboxes at the same moment
    headers = pps_headers(token())
    invocations = start_invocations(sandbox_environment(stack, aws_proxy), api_event("http", headers), SANDBOXES)
    answers = invocations.answers()

    # Then exactly one publishes; the others answer duplicate (200) or in flight (503, to be retried)
    statuses = [status for status, _ in answers]
    accepted = [body for status, body in answers if status == 200 and body["status"] == "accepted"]
    assert len(accepted) == 1
    assert set(statuses) <= {200, 503}
    assert aws_proxy.count("sns.Publish") == 1
    assert len(stack.published("OrdersPlacedTopic")) == 1

    # And every retry of the losers is a duplicate: still one message
    for status, _ in answers:
        if status == 503:
            retried = new_sandbox().invoke(api_event("http", {**headers, "Authorization": f"Bearer {token()}"}))
            assert retried.body["status"] == "duplicate"
    assert stack.published("OrdersPlacedTopic") == []
    assert [record["status"] for record in stack.records()] == ["COMPLETED"]
