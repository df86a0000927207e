"""How the commands name a mapping's state and a message's age: words an operator reads at a glance, honest about
the transitions Lambda reports (while a mapping is being disabled, invocations already running finish)."""

from __future__ import annotations

from collections.abc import Sequence

STATE_WORDS = {
    "Enabled": "running",
    "Disabled": "paused",
    "Enabling": "resuming",
    "Disabling": "pausing",
    "Creating": "creating",
    "Updating": "updating",
    "Deleting": "deleting",
}
"""Lambda's State of an event source mapping -> what the consumer is doing."""


def state_word(state: str) -> str:
    """The word for `state`: "paused" for Disabled, "pausing" for Disabling...; a state Lambda adds later, as
    Lambda spells it, lower-cased."""
    return STATE_WORDS.get(state, state.lower() or "unknown")


def age(seconds: float | None) -> str:
    """42s, 12m05s, 3h20m, 2d04h: two units at most; "-" when there is no figure."""
    if seconds is None:
        return "-"
    whole = max(0, int(seconds))
    minutes, secs = divmod(whole, 60)
    hours, mins = divmod(minutes, 60)
    days, hrs = divmod(hours, 24)
    if days:
        return f"{days}d{hrs:02d}h"
    if hours:
        return f"{hours}h{mins:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Plain aligned text, two spaces between columns; figures (a column whose cells all start with a digit, or
    are "-") right-aligned. No trailing spaces, so the output greps and diffs cleanly."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    numeric = [bool(rows) and all(row[n][:1].isdigit() or row[n] == "-" for row in rows) for n in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        shown = [
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(shown).rstrip()

    return [line(header), *(line(row) for row in rows)]
