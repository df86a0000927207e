"""Invocations in separate OS processes: separate sandboxes, as Lambda runs concurrent requests."""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from tests.support.receiver import Sandbox
from tools.devkit.lambda_context import LambdaContext

SPAWN = multiprocessing.get_context("spawn")


def _invoke(
    env: dict[str, str], event: dict[str, Any], timeout_ms: int, barrier: Barrier | None, results: Queue[Any]
) -> None:
    os.environ.update(env)
    sandbox = Sandbox()  # the cold start happens before the barrier: all invoke at the same moment
    if barrier is not None:
        barrier.wait(timeout=60)
    response = sandbox.invoke(event, LambdaContext(timeout_seconds=timeout_ms / 1000))
    results.put((response.status, response.body))


@dataclass
class Invocations:
    processes: list[SpawnProcess]
    results: Queue[Any]
    barrier: Barrier | None  # held here: its semaphore must outlive the children's start-up

    def answers(self, timeout: float = 120) -> list[tuple[int, dict[str, Any]]]:
        """(status, body) of every invocation, once all have answered."""
        answers = [self.results.get(timeout=timeout) for _ in self.processes]
        for process in self.processes:
            process.join(timeout=30)
        return answers


def start_invocations(
    env: dict[str, str], event: dict[str, Any], count: int, *, timeout_ms: int = 15_000
) -> Invocations:
    """`count` processes, each a cold sandbox, invoking the same event at once."""
    results: Queue[Any] = SPAWN.Queue()
    barrier = SPAWN.Barrier(count) if count > 1 else None
    processes = [
        SPAWN.Process(target=_invoke, args=(env, event, timeout_ms, barrier, results), daemon=True)
        for _ in range(count)
    ]
    for process in processes:
        process.start()
    return Invocations(processes, results, barrier)
