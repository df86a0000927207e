"""Every file in events/ replayed through its function with events/env.json, to its documented outcome.

The quick check, without Docker: the handlers are loaded by our own test harness, which sets the variables
directly. `make local-invoke` replays the same samples through the real `sam local invoke`, where only the
variables the template declares reach the function.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.support.jwks_server import JwksServer
from tests.support.receiver import Sandbox
from tests.support.stack import Deployment
from tools.devkit import samples
from tools.devkit.paths import EVENTS
from tools.examples.sample_outcomes import SampleOutcomes
from tools.scaffold.events import render


def test_the_committed_samples_are_exactly_what_make_events_writes() -> None:
    committed = {path.name for path in EVENTS.glob("*.json")}
    assert committed == {sample.file for sample in samples.samples()} | {"env.json"}
    for sample in samples.samples():
        assert (EVENTS / sample.file).read_text() == render(sample.event), f"{sample.file}: run make events"
    assert json.loads((EVENTS / "env.json").read_text()) == samples.env_json()


def test_every_sample_event_has_its_documented_outcome(
    new_sandbox: Callable[..., Sandbox], stack: Deployment, jwks: JwksServer
) -> None:
    env_json = json.loads((EVENTS / "env.json").read_text())
    sandboxes = {
        function: new_sandbox(function, **env_json.get(function, {}))
        for function in {sample.function for sample in samples.samples()}
    }
    outcomes = SampleOutcomes.watching(stack)

    for sample in samples.samples():
        result = sandboxes[sample.function].handle(json.loads((EVENTS / sample.file).read_text()))
        outcomes.check(sample, result)  # raises NotAsDocumented, saying what differs

    assert jwks.requests == 0  # env.json makes the receiver trust the development key offline
