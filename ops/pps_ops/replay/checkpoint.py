"""A replay's checkpoint: the SNS MessageIds it has sent, written as it sends, so that the same command run again
(after Ctrl-C, a crash, an AWS failure) sends only the rest.

The file names the replay it belongs to on its first line (bucket, topic, target, window, filters; not RATE), and
holds one MessageId per line after it. A MessageId is appended and flushed to the operating system as soon as its
send succeeded, so the death of the process loses none; the file is synced to disk after each send call (one
invoke, one SQS batch), so a crash of the machine loses at most that call's. What can be sent twice is only what
was in flight when the replay stopped: one webhook to a function, one SendMessageBatch (up to 10) to a queue;
consumers are idempotent (X-Pps-Tenant-Id + X-Pps-Webhook-Id). A completed replay keeps its checkpoint, so running
the same command again by mistake sends nothing; RESTART=1 sends everything again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from pps_ops.replay.selection import Selection
from pps_ops.replay.window import iso

DIRECTORY = Path(".replay")
"""Where checkpoints go by default, in the directory the replay runs in (make: the repository's)."""
HEADER = "# pps-replay checkpoint of "


class CheckpointError(ValueError):
    """The file cannot be this replay's checkpoint."""


def replay_identity(
    *, bucket: str, topic: str, target: str, since: datetime, until: datetime | None, selection: Selection
) -> dict[str, object]:
    """What makes two runs the same replay. UNTIL left to its default is "now" here, not the time it ran: a rerun
    then resumes, and also sends what arrived since."""
    return {
        "bucket": bucket,
        "topic": topic,
        "target": target,
        "since": iso(since),
        "until": iso(until) if until is not None else "now",
        "tenant": selection.tenant,
        "sub_topic_prefix": selection.sub_topic_prefix,
        "webhook_ids": sorted(selection.webhook_ids) if selection.webhook_ids is not None else None,
    }


def default_path(identity: Mapping[str, object]) -> Path:
    """.replay/<topic, / as _>-<hash of the identity>.sent"""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    return DIRECTORY / f"{str(identity['topic']).replace('/', '_')}-{digest}.sent"


@dataclass
class Checkpoint:
    path: Path
    identity: Mapping[str, object]
    sent: set[str] = field(default_factory=set)
    """The MessageIds sent, by earlier runs and this one."""
    restart: bool = False
    """The file is started over at the first send, whatever it held."""
    _file: IO[str] | None = field(default=None, init=False, repr=False)
    _lock: IO[bytes] | None = field(default=None, init=False, repr=False)

    @classmethod
    def load(
        cls, path: Path, identity: Mapping[str, object], *, restart: bool = False, lock: bool = False
    ) -> Checkpoint:
        """What an earlier run of this replay sent (nothing when restarting). CheckpointError when the file is
        another replay's, or no checkpoint at all, or (with `lock`) when another run of it is sending now: two runs
        that read the same checkpoint before either wrote to it would both send everything. The lock, on
        <path>.lock, is held until close() or the process ends."""
        checkpoint = cls(path, identity, restart=restart)
        if lock:
            checkpoint._lock = _locked(path)
        if restart or not path.exists():
            return checkpoint
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CheckpointError(f"cannot read the checkpoint {path}: {error}") from None
        lines = text.split("\n")
        if not lines[0].startswith(HEADER):
            raise CheckpointError(f"{path} is no replay checkpoint")
        try:
            theirs = json.loads(lines[0].removeprefix(HEADER))
        except ValueError:
            raise CheckpointError(f"{path} is no replay checkpoint") from None
        if theirs != dict(identity):
            raise CheckpointError(
                f"the checkpoint {path} is of another replay ({_difference(theirs, identity)}): "
                "give RESTART=1 to start it over, or another CHECKPOINT"
            )
        # The last line is complete only when the file ends with a newline: a write cut short is not counted.
        checkpoint.sent = {line.strip() for line in lines[1:-1] if line.strip() and not line.startswith("#")}
        return checkpoint

    def record(self, message_id: str) -> None:
        """`message_id` was sent: appended and flushed to the operating system before this returns."""
        file = self._open()
        file.write(message_id + "\n")
        file.flush()
        self.sent.add(message_id)

    def sync(self) -> None:
        """Onto the disk: what was recorded survives the machine too."""
        if self._file is not None:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self.sync()
            self._file.close()
            self._file = None
        if self._lock is not None:
            self._lock.close()  # closing the descriptor releases its flock
            self._lock = None

    def _open(self) -> IO[str]:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = self.restart or not self.path.exists() or self.path.stat().st_size == 0
            if not fresh:
                _drop_cut_line(self.path)
            file = self.path.open("w" if fresh else "a", encoding="utf-8")
            if fresh:
                file.write(HEADER + json.dumps(dict(self.identity), sort_keys=True) + "\n")
                file.flush()
            self._file = file
        return self._file


def _locked(path: Path) -> IO[bytes]:
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    file = lock_path.open("ab")
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        raise CheckpointError(
            f"another run of this replay is sending now (it holds {lock_path}): wait for it to end, then run the "
            "same command again to send what it did not"
        ) from None
    return file


def _drop_cut_line(path: Path) -> None:
    """A last line without its newline is a write cut short (the process died): removed, not glued to the next."""
    with path.open("r+b") as file:
        data = file.read()
        if not data.endswith(b"\n"):
            file.truncate(data.rfind(b"\n") + 1)


def _difference(theirs: object, ours: Mapping[str, object]) -> str:
    if not isinstance(theirs, dict):
        return "unreadable"
    names = sorted(name for name in {*theirs, *ours} if theirs.get(name) != ours.get(name))
    return "another " + ", ".join(names)
