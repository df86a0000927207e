"""What the local run shows of a consumer's work besides its outcome, from the views the project registers.

A view is a function `(deployment, functions) -> View | None`, registered under the entry point group
`pps_webhooks.local_views` (pyproject.toml). The example consumers register theirs (tools/examples/orders.py); a
project's own consumers can too. The local run itself knows no consumer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from tools.devkit.invoker import Function
from tools.devkit.stack import Deployment

GROUP = "pps_webhooks.local_views"

Describe = Callable[[Mapping[str, str], str], str | None]
"""(the delivery's X-Pps-* attributes, its body) -> a line about what the consumer made of it, if any."""


@dataclass(frozen=True)
class View:
    lines: dict[str, Describe] = field(default_factory=dict)
    """Function logical id -> the line to show after each delivery it processed."""
    hints: list[tuple[str, str]] = field(default_factory=list)
    """(command, what it shows), for the banner's "Try it"."""


Factory = Callable[[Deployment, Sequence[Function]], View | None]


def load_views(deployment: Deployment, functions: Sequence[Function]) -> list[View]:
    views = []
    for entry_point in entry_points(group=GROUP):
        factory: Factory = entry_point.load()
        if (view := factory(deployment, functions)) is not None:
            views.append(view)
    return views
