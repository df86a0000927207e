"""What the developer running `make run` reads: one timestamped line per step, on stdout."""

from __future__ import annotations

import logging
import sys

IN, OUT, DELIVERY, NOTE = "→", "←", "⇢", " "


def console() -> logging.Logger:
    logger = logging.getLogger("tools.local.run")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d %(message)s", datefmt="%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def shown(value: str | None, limit: int = 64) -> str:
    """A value from a request, fit for one log line: anyone on the internet may have chosen it."""
    if not value:
        return "-"
    text = "".join(char if char.isprintable() else "?" for char in value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
