"""A one-line progress bar on stderr for `make replay` and `make redrive`: `[#####-----] 50/100 sent`."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
REDRAW_SECONDS = 0.1


class Progress:
    """Redrawn in place on a terminal; elsewhere (CI logs, pipes) written once, when done."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total = max(total, 0)
        self.done = 0
        self.label = label
        self._stream = stream if stream is not None else sys.stderr
        self._live = self._stream.isatty()
        self._drawn_at = 0.0

    def advance(self, count: int = 1) -> None:
        self.update(self.done + count)

    def update(self, done: int, total: int | None = None) -> None:
        """Set what is done (and the total, when it is only learnt on the way)."""
        self.done = done
        if total is not None:
            self.total = max(total, 0)
        now = time.monotonic()
        if self._live and now - self._drawn_at >= REDRAW_SECONDS:
            self._drawn_at = now
            self._draw("\r")

    def close(self) -> None:
        self._draw("\r" if self._live else "")
        self._stream.write("\n")
        self._stream.flush()

    def line(self) -> str:
        filled = WIDTH * min(self.done, self.total) // self.total if self.total else WIDTH
        return f"[{'#' * filled}{'-' * (WIDTH - filled)}] {self.done}/{self.total} {self.label}"

    def _draw(self, prefix: str) -> None:
        self._stream.write(prefix + self.line())
        self._stream.flush()
