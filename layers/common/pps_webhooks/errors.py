"""Why a webhook was not accepted. Each type maps to one HTTP status, in `responses.py` only.

`reason` is a short, fixed code: safe for logs and as a metric dimension (never request data).
"""

from __future__ import annotations


class WebhookError(Exception):
    reason: str

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


class Forbidden(WebhookError):
    """Not authorized (403): the sender must not retry."""


class BadRequest(WebhookError):
    """The request can never succeed as sent (400); `problems` says what to fix."""

    def __init__(self, reason: str, problems: list[str]) -> None:
        super().__init__(reason, "; ".join(problems))
        self.problems = problems


class RetryLater(WebhookError):
    """Nothing is wrong with the request, but it cannot be decided now (503): the sender retries."""

    def __init__(self, reason: str, detail: str = "", *, retry_after_seconds: int = 5) -> None:
        super().__init__(reason, detail)
        self.retry_after_seconds = retry_after_seconds


class PublishFailed(WebhookError):
    """One of our dependencies failed (500): nothing was published, so the sender's retry is safe."""
