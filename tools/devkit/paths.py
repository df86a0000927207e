"""Where the project is: the directory whose template.yaml the tools read, and the files they find beside it.

Like `sam`, the tools act on the project in the current directory when it holds a template.yaml (a copy with a
generated consumer, say), else on the repository they were installed from. PPS_PROJECT_DIR names one explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ENV = "PPS_PROJECT_DIR"
INSTALLED_FROM = Path(__file__).resolve().parents[2]


def project_root() -> Path:
    if named := os.environ.get(PROJECT_ENV):
        return Path(named).resolve()
    here = Path.cwd()
    return here if (here / "template.yaml").is_file() else INSTALLED_FROM


ROOT = project_root()
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
