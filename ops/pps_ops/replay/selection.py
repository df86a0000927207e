"""Which archived webhooks of the window a replay sends: by tenant, by sub-topic prefix, by webhook id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pps_ops.replay.archive import Notification

TENANT = "X-Pps-Tenant-Id"
SUB_TOPIC = "X-Pps-Sub-Topic"
WEBHOOK_ID = "X-Pps-Webhook-Id"

_SEPARATORS = re.compile(r"[\s,]+")


def parse_webhook_ids(text: str) -> tuple[str, ...]:
    """WEBHOOK_IDS: ids separated by commas and/or whitespace, or `@<file>` with one id per line (blank lines and
    `#` comments ignored). Each id once, in the order given. ValueError when no id is left or the file is unreadable,
    so that a typo never turns into "every webhook of the window"."""
    text = text.strip()
    if text.startswith("@"):
        path = Path(text[1:].strip()).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
        ids = [line.split("#", 1)[0].strip() for line in lines]
        where = f"in {path}"
    else:
        ids = _SEPARATORS.split(text)
        where = "given"
    unique = tuple(dict.fromkeys(webhook_id for webhook_id in ids if webhook_id))
    if not unique:
        raise ValueError(f"no webhook id {where}")
    return unique


@dataclass(frozen=True)
class Selection:
    """The filters of a replay, beyond its topic and window; None is no filter."""

    tenant: str | None = None
    sub_topic_prefix: str | None = None
    webhook_ids: frozenset[str] | None = None

    def rejects(self, notification: Notification) -> str | None:
        """The filter that leaves `notification` out (its variable's name), or None when it is selected."""
        if self.tenant is not None and _attribute(notification, TENANT) != self.tenant:
            return "TENANT"
        if self.sub_topic_prefix is not None and not (_attribute(notification, SUB_TOPIC) or "").startswith(
            self.sub_topic_prefix
        ):
            return "SUB_TOPIC_PREFIX"
        if self.webhook_ids is not None and webhook_id(notification) not in self.webhook_ids:
            return "WEBHOOK_IDS"
        return None

    def description(self) -> str:
        """The filters set, as the variables that set them: "TENANT=OU1243, WEBHOOK_IDS (3 ids)"; "" for none."""
        parts = []
        if self.tenant is not None:
            parts.append(f"TENANT={self.tenant}")
        if self.sub_topic_prefix is not None:
            parts.append(f"SUB_TOPIC_PREFIX={self.sub_topic_prefix}")
        if self.webhook_ids is not None:
            parts.append(f"WEBHOOK_IDS ({len(self.webhook_ids)} id{'s' if len(self.webhook_ids) != 1 else ''})")
        return ", ".join(parts)


def webhook_id(notification: Notification) -> str | None:
    return _attribute(notification, WEBHOOK_ID)


def _attribute(notification: Notification, name: str) -> str | None:
    return notification.attributes.get(name, {}).get("Value")
