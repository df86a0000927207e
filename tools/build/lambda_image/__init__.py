"""A Lambda-compatible python3.13 base image, built offline, for `sam local invoke --invoke-image`.

Only for machines that cannot pull public.ecr.aws/lambda/python (`make local-invoke` prefers that one).
Lambda's layout, from Debian trixie's python3.13 and PyPI: the function at /var/task, layers under /opt
(/opt/python on the path), and /var/runtime holding the runtime interface client (awslambdaric), the
boto3/botocore the python3.13 runtime provides, and the `bootstrap` that SAM CLI's emulator starts.

The tag is a hash of what goes into the image (this folder, the architecture, the Debian suite), so it is
built once per machine and rebuilt only when one of them changes. It never takes the AWS image's name.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess  # nosec B404 # runs debootstrap, pip and tar with fixed arguments
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors

HERE = Path(__file__).resolve().parent
REPOSITORY = "pps-webhooks/lambda-python"
PYTHON = "3.13"
SUITE = "trixie"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR") or "http://deb.debian.org/debian"
# Room for a root file system, which a tmpfs /tmp may lack; each build works in a private folder of its own.
WORK_ROOT = "/var/tmp"  # noqa: S108 # nosec B108
# Lambda's architecture names -> Debian's, pip's and Docker's.
PLATFORMS = {
    "x86_64": ("amd64", "manylinux2014_x86_64", "linux/amd64"),
    "arm64": ("arm64", "manylinux2014_aarch64", "linux/arm64"),
}
# Not needed to run a function, and a third of the root file system: every container copies it under vfs.
TRIMMED = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt", "var/lib/apt/lists")
# Run in the built image: the runtime's packages import, at the pinned versions, from /var/runtime.
CHECK = """
import importlib.metadata as metadata, json, sys
import awslambdaric, boto3, botocore
names = ("awslambdaric", "boto3", "botocore")
print(json.dumps({"python": sys.version.split()[0], **{name: metadata.version(name) for name in names}}))
"""


def pins() -> dict[str, str]:
    lines = (line.split("#")[0].strip() for line in (HERE / "requirements.txt").read_text().splitlines())
    return dict(tuple(line.split("==", 1)) for line in lines if line)  # type: ignore[misc]


def tag(architecture: str) -> str:
    digest = hashlib.sha256(f"{SUITE}\n{architecture}\n".encode())
    for file in sorted(HERE.iterdir()):
        if file.is_file() and file.suffix != ".pyc":
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return f"{REPOSITORY}:{PYTHON}-{architecture}-{digest.hexdigest()[:12]}"


def ensure(client: docker.DockerClient, architecture: str, say: Callable[[str], None]) -> str:
    """The image's tag, built first if this daemon does not have it yet."""
    wanted = tag(architecture)
    try:
        client.images.get(wanted)
    except docker.errors.ImageNotFound:
        build(client, architecture, wanted, say)
    else:
        say(f"{wanted}: already built on this machine")
    return wanted


def build(client: docker.DockerClient, architecture: str, wanted: str, say: Callable[[str], None]) -> None:
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        raise SystemExit(
            f"Building {wanted} needs root and debootstrap (apt-get install debootstrap); or Docker access to "
            "public.ecr.aws, whose python3.13 image `make local-invoke` uses instead."
        )
    debian_arch, pip_platform, docker_platform = PLATFORMS[architecture]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lambda-image-", dir=WORK_ROOT) as work:
        rootfs = Path(work) / "rootfs"
        say(f"{wanted}: debootstrap {SUITE} ({debian_arch}, python{PYTHON}) from {DEBIAN_MIRROR}")
        _run(
            "debootstrap", f"--arch={debian_arch}", "--variant=minbase", f"--include=python{PYTHON},ca-certificates",
            SUITE, str(rootfs), DEBIAN_MIRROR,
        )  # fmt: skip
        for trimmed in TRIMMED:
            shutil.rmtree(rootfs / trimmed, ignore_errors=True)
        runtime = rootfs / "var" / "runtime"
        say(f"{wanted}: pip install --platform {pip_platform} into /var/runtime: {', '.join(pins())}")
        _run(
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--platform", pip_platform, "--only-binary=:all:", "--python-version", PYTHON, "--implementation", "cp",
            "--target", str(runtime), "-r", str(HERE / "requirements.txt"),
        )  # fmt: skip
        shutil.copy2(HERE / "bootstrap", runtime / "bootstrap")
        for directory in ("var/task", "opt"):
            (rootfs / directory).mkdir(parents=True, exist_ok=True)
        context = Path(work) / "context"
        context.mkdir()
        shutil.copy2(HERE / "Dockerfile", context / "Dockerfile")
        _run("tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(context / "rootfs.tar"), ".")
        say(f"{wanted}: docker build --platform {docker_platform} (FROM scratch)")
        # docker-py's build is the classic builder (what DOCKER_BUILDKIT=0 selects): FROM scratch + --platform works.
        client.images.build(path=str(context), tag=wanted, platform=docker_platform, rm=True, forcerm=True, pull=False)
    versions = check(client, wanted)
    packages = ", ".join(f"{name} {version}" for name, version in versions.items())
    say(f"{wanted}: built in {time.monotonic() - started:.0f} s: {packages}")
    _remove_older(client, architecture, wanted)


def check(client: docker.DockerClient, image: str) -> dict[str, str]:
    """Import the runtime's packages in the image; fail (and drop the image) unless they are the pinned versions."""
    output = client.containers.run(
        image, ["python3.13", "-c", CHECK], environment={"PYTHONPATH": "/var/runtime"}, remove=True
    )
    versions: dict[str, str] = json.loads(output)
    wanted = pins()
    wrong = {name: version for name, version in versions.items() if name in wanted and wanted[name] != version}
    if wrong or not versions["python"].startswith(f"{PYTHON}."):
        client.images.remove(image, force=True)
        raise SystemExit(f"{image} is not what requirements.txt pins: {versions}")
    return versions


def _remove_older(client: docker.DockerClient, architecture: str, keep: str) -> None:
    """Untag earlier builds for this architecture, so that Docker can reclaim them (under vfs, each costs a full
    copy of its files) once SAM CLI's images built on them are gone."""
    for image in client.images.list(name=REPOSITORY):
        for name in image.tags:
            if name != keep and str(name).startswith(f"{REPOSITORY}:{PYTHON}-{architecture}-"):
                client.images.remove(name)


def _run(*command: str) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 # nosec B603 # fixed argv, no shell
