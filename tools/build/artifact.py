"""The built artifact (.aws-sam/build, built for arm64) made importable on this machine, for `make bench` and the
built-artifact checks."""

from __future__ import annotations

import platform
import shutil
import sysconfig
from pathlib import Path


def venv_site_packages() -> Path:
    """This interpreter's site-packages: where the host's builds of the layer's packages are."""
    return Path(sysconfig.get_paths()["platlib"])


def runnable_here(layer: Path) -> None:
    """Swap the layer's arm64 extension modules for this machine's builds of the same packages.

    Only the .so files change: every Python file, and whatever bytecode the build shipped, stays as built.
    """
    host = platform.machine()
    if host == "aarch64":
        return
    site_packages = venv_site_packages()
    for extension in list(layer.rglob("*.so")):
        relative = extension.relative_to(layer)
        native = site_packages / str(relative).replace("aarch64", host)
        if not native.exists():
            raise FileNotFoundError(f"no {host} build of {relative} in {site_packages}")
        extension.unlink()
        shutil.copy2(native, layer / str(relative).replace("aarch64", host))
