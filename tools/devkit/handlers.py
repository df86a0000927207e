"""Import a function's handler as Lambda does: its code directory (/var/task) and its layers (/opt/python) on
sys.path, and a module of its own for each sandbox, so that module-level clients and caches live as long as it."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tools.devkit.paths import ROOT

_sandboxes = itertools.count()


@dataclass(frozen=True)
class Code:
    """Where a function's code is, as its template says."""

    directory: Path
    handler: str
    """`module.function`, relative to the directory."""
    layers: tuple[Path, ...]
    """Its layers' directories, Globals' first (as SAM adds them)."""


def code_of(template: Mapping[str, Any], function: str, root: Path = ROOT) -> Code:
    resources = template["Resources"]
    properties = resources[function]["Properties"]
    globals_ = template.get("Globals", {}).get("Function", {})
    layers = [*globals_.get("Layers", []), *properties.get("Layers", [])]
    return Code(
        directory=root / str(properties.get("CodeUri") or globals_["CodeUri"]),
        handler=str(properties.get("Handler") or globals_["Handler"]),
        layers=tuple(
            root / resources[layer["Ref"]]["Properties"]["ContentUri"]
            for layer in layers
            if isinstance(layer, dict) and layer.get("Ref") in resources
        ),
    )


def import_handler(code: Code) -> tuple[ModuleType, Callable[[dict[str, Any], Any], Any]]:
    """A fresh import of the handler's module (its cold start: the environment must be set before)."""
    module_name, handler_name = code.handler.rsplit(".", 1)
    # Its code directory first, then its layers, as on Lambda (/var/task, /opt/python): moved to the front even when
    # already on sys.path, so that its `logic.py` is found before another function's.
    for directory in [*reversed(code.layers), code.directory]:
        while str(directory) in sys.path:
            sys.path.remove(str(directory))
        sys.path.insert(0, str(directory))
    import_name = f"{module_name.replace('.', '_')}_sandbox_{next(_sandboxes)}"
    spec = importlib.util.spec_from_file_location(import_name, code.directory / (module_name.replace(".", "/") + ".py"))
    if spec is None or spec.loader is None:
        raise ImportError(f"no module {module_name} in {code.directory}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[import_name] = module
    imported_before = set(sys.modules)
    spec.loader.exec_module(module)
    # Its own modules (a `logic.py`, say) stay private to it, as in its own sandbox: another function's code
    # directory may hold a module of the same name.
    for name in set(sys.modules) - imported_before:
        if Path(getattr(sys.modules[name], "__file__", None) or "/").is_relative_to(code.directory):
            del sys.modules[name]
    return module, getattr(module, handler_name)
