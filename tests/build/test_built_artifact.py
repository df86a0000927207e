"""The built artifact (`make build`: .aws-sam/build) loads as Lambda loads it, and ships what Lambda needs.

Each function's handler is imported in a fresh, isolated interpreter with the path Lambda gives it: the function
directory (/var/task), then its layers (/opt/python), then the standard library, and last the packages the
python3.13 runtime provides (boto3 and its dependencies, linked from the venv; nothing else of the venv is
reachable). Every other third-party import must come from the build.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tools.build.artifact import runnable_here, venv_site_packages
from tools.build.slim_build import BUILD, RUNTIME_PROVIDED
from tools.devkit.paths import ROOT
from tools.devkit.template import Resolver, load_template, resources_of_type

BUILT_TEMPLATE = BUILD / "template.yaml"
RUNTIME_PACKAGES = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "python_dateutil", "urllib3", "six"}
"""What the python3.13 runtime provides besides the standard library (distribution or top-level names)."""
EVERY_HANDLER_IMPORTS = {"aws_lambda_powertools", "pps_webhooks"}


# Runs in the child: lay out sys.path as Lambda does, import the handler, report where every module came from.
CHILD = """
import importlib, json, sys
code, layers, runtime, module, attribute = json.loads(sys.argv[1])
sys.path[0:0] = [code, *layers]
sys.path.append(runtime)
handler = getattr(importlib.import_module(module), attribute)
files = {name: getattr(found, "__file__", None) for name, found in list(sys.modules.items())}
print(json.dumps({"callable": callable(handler), "files": files, "path": sys.path}))
"""


def stale_sources() -> list[str]:
    """Source files whose built copy differs: the build is of other code than what is checked out."""
    source = load_template()
    found = []
    for name in [*functions(), *layers()]:
        properties = source["Resources"].get(name, {}).get("Properties", {})
        directory = ROOT / str(properties.get("CodeUri") or properties.get("ContentUri") or name)
        copy = BUILD / name / ("python" if name in layers() else "")
        for file in directory.rglob("*.py"):
            relative = file.relative_to(directory)
            if "__pycache__" not in relative.parts and (
                not (copy / relative).exists() or (copy / relative).read_bytes() != file.read_bytes()
            ):
                found.append(str(file.relative_to(ROOT)))
    return found


def built() -> dict[str, Any]:
    return load_template(BUILT_TEMPLATE) if BUILT_TEMPLATE.exists() else {"Resources": {}}


def functions() -> list[str]:
    return sorted(resources_of_type(built(), "AWS::Serverless::Function"))


def layers() -> list[str]:
    return sorted(resources_of_type(built(), "AWS::Serverless::LayerVersion"))


pytestmark = [
    pytest.mark.skipif(not BUILT_TEMPLATE.exists(), reason="no .aws-sam/build: run `make build` first"),
    pytest.mark.skipif(bool(BUILT_TEMPLATE.exists() and stale_sources()), reason="stale build: run `make build`"),
]


@pytest.fixture(scope="module")
def runtime_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runtime's own site-packages: the venv's builds of just the packages the runtime provides."""
    site = tmp_path_factory.mktemp("runtime")
    for entry in venv_site_packages().iterdir():
        if entry.name.split("-", 1)[0].removesuffix(".py").lower() in RUNTIME_PACKAGES:
            (site / entry.name).symlink_to(entry)
    return site


@pytest.fixture(scope="module")
def runnable_layers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A copy of each built layer's python/ with this machine's builds of its extension modules."""
    copies = {}
    for layer in layers():
        copy = tmp_path_factory.mktemp(layer) / "python"
        shutil.copytree(BUILD / layer / "python", copy, symlinks=True)
        runnable_here(copy)
        copies[layer] = copy
    return copies


def function_layers(function: str) -> list[str]:
    """The function's layers as SAM merges them: the Globals' first, then its own."""
    template = built()
    declared = [
        *template.get("Globals", {}).get("Function", {}).get("Layers", []),
        *template["Resources"][function]["Properties"].get("Layers", []),
    ]
    return [layer["Ref"] for layer in declared if isinstance(layer, dict) and "Ref" in layer]


def lambda_environment(function: str) -> dict[str, str]:
    """What Lambda sets, plus the function's template environment with stand-ins for the stack's resources."""
    template = built()
    properties = template["Resources"][function]["Properties"]
    refs = {name: f"arn:aws:sns:us-east-1:123456789012:{name}" for name in template["Resources"]}
    # Whom to trust has no default: a deployment must say, as this stands in for one.
    trust = {"PpsIssuer": "https://pps.example.com", "PpsAudience": "https://webhooks.example.com/pps"}
    resolver = Resolver(
        template, refs=refs, attributes=defaultdict(lambda: "arn:aws:iam::123456789012:role/x"), parameters=trust
    )
    variables = {
        **template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
        **properties.get("Environment", {}).get("Variables", {}),
    }
    return {
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "_HANDLER": properties["Handler"],
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "built-artifact-check",
        "AWS_SECRET_ACCESS_KEY": "built-artifact-check",
        "AWS_EC2_METADATA_DISABLED": "true",
        **{name: str(value) for name, value in resolver.resolve(variables).items()},
        # Nothing may be called at import; if something were, it fails here instead of reaching out.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }


def import_handler(function: str, runnable_layers: dict[str, Path], runtime_site: Path) -> dict[str, Any]:
    properties = built()["Resources"][function]["Properties"]
    module, attribute = properties["Handler"].rsplit(".", 1)
    code = BUILD / properties["CodeUri"]
    arguments = [str(code), [str(runnable_layers[name]) for name in function_layers(function)]]
    # -S: no site, so nothing of the venv is on the path but what CHILD appends; -s -P: no user site, no cwd.
    completed = subprocess.run(
        [sys.executable, "-S", "-s", "-P", "-c", CHILD, json.dumps([*arguments, str(runtime_site), module, attribute])],
        env=lambda_environment(function),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=code,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report: dict[str, Any] = json.loads(completed.stdout.splitlines()[-1])
    return report


def origin(file: str, code: Path, layers: list[Path], runtime_site: Path) -> str:
    path = Path(file)
    if path.is_relative_to(code) or any(path.is_relative_to(layer) for layer in layers):
        return "build"
    if path.is_relative_to(runtime_site):
        return "runtime"
    if path.is_relative_to(Path(sysconfig.get_paths()["stdlib"]).resolve()):
        return "stdlib"
    return "elsewhere"


@pytest.mark.parametrize("function", functions())
def test_the_handler_imports_from_the_build_with_only_the_runtimes_packages_from_outside(
    function: str, runnable_layers: dict[str, Path], runtime_site: Path
) -> None:
    report = import_handler(function, runnable_layers, runtime_site)
    code = BUILD / built()["Resources"][function]["Properties"]["CodeUri"]
    layer_paths = [runnable_layers[name] for name in function_layers(function)]
    origins: dict[str, set[str]] = defaultdict(set)
    for name, file in report["files"].items():
        if file:
            origins[name.split(".", 1)[0]].add(origin(file, code, layer_paths, runtime_site))

    assert report["callable"]
    assert {name for name, where in origins.items() if "runtime" in where} <= RUNTIME_PACKAGES
    assert not {name: where for name, where in origins.items() if "elsewhere" in where}
    assert origins.keys() >= EVERY_HANDLER_IMPORTS
    shipped = {name for layer in layer_paths for name in top_level_names(layer)} | top_level_names(code)
    assert {name: where for name, where in origins.items() if name in shipped and where != {"build"}} == {}


def top_level_names(directory: Path) -> set[str]:
    """The importable top-level names a code directory holds: packages, modules, extension modules."""
    return {
        entry.name.split(".", 1)[0]
        for entry in directory.iterdir()
        if (entry.is_dir() and (entry / "__init__.py").exists()) or entry.suffix in (".py", ".so")
    }


@pytest.mark.parametrize("layer", layers())
def test_the_layer_ships_nothing_the_runtime_provides(layer: str) -> None:
    site = BUILD / layer / "python"
    shipped = {entry.name.split("-", 1)[0].removesuffix(".py").lower() for entry in site.iterdir()}

    assert not shipped & {*RUNTIME_PROVIDED, "boto3", "botocore"}


def built_sources() -> list[Path]:
    return sorted(
        source for artifact in (BUILD / name for name in [*functions(), *layers()]) for source in artifact.rglob("*.py")
    )


def test_every_built_module_has_unchecked_hash_bytecode_for_python_313() -> None:
    missing, checked = [], []
    for source in built_sources():
        cached = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        if not cached.exists():
            missing.append(source)
            continue
        with cached.open("rb") as stream:
            flags = int.from_bytes(stream.read(8)[4:8], "little")
        if flags != 0b01:  # hash-based, source never checked: Lambda's read-only directory never recompiles
            checked.append(source)

    assert built_sources()
    assert not missing, f"{len(missing)} modules without bytecode, e.g. {missing[:3]}"
    assert not checked, f"{len(checked)} modules with timestamp or checked bytecode, e.g. {checked[:3]}"
