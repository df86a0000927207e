"""`make bench`: the receiver measured against the floor of its job, in one run, side by side.

1. Cold start: a fresh process up to its first webhook answered (JWKS fetch and AWS calls included),
   against the floor: a fresh process that imports boto3 and PyJWT, creates the two clients, fetches the
   JWKS, verifies one RS256 token and makes the same AWS calls. Interleaved A B A B; medians; median ratio.
2. Warm CPU per webhook (this process's CPU time, moto in another process), against the floor cycle:
   one RS256 verify with a cached key plus the same AWS calls. Interleaved blocks; median ratio.
3. AWS calls for a new webhook and for a duplicate, counted at the HTTP level.
4. Importing the receiver from the built artifact (.aws-sam/build, function and layer laid out as Lambda
   does, no bytecode written), against the same import with a warm bytecode cache; zipped sizes.
5. Peak memory (max RSS) of the receiver's cold-start process.

Figures go to bench/results.json and into the README between the bench markers.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess  # nosec B404 # runs only this interpreter and the venv's moto_server
import sys
import tempfile
import time
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.child import MARKER
from tests.support.aws_proxy import AwsProxy
from tests.support.jwks_server import JwksServer
from tools.build.artifact import runnable_here
from tools.devkit import dev_key
from tools.devkit.emulator import CREDENTIALS, REGION, free_port
from tools.devkit.events import api_event, pps_headers
from tools.devkit.paths import ROOT
from tools.devkit.stack import deploy

BUILD = ROOT / ".aws-sam" / "build"
RESULTS = ROOT / "bench" / "results.json"
README = ROOT / "README.md"
COLD_ROUNDS = 9
WARM_BLOCKS = 7
WARM_WEBHOOKS = 150
IMPORT_ROUNDS = 9
TARGETS = {"cold_start_ratio": 1.3, "warm_cpu_ratio": 1.25, "calls_new": 3, "calls_duplicate": 1}


@dataclass
class Environment:
    moto: subprocess.Popen[bytes]
    moto_url: str
    jwks: JwksServer
    env: dict[str, str]

    def close(self) -> None:
        self.jwks.stop()
        self.moto.terminate()
        self.moto.wait(timeout=10)


def start() -> Environment:
    port = free_port()
    moto = subprocess.Popen(  # noqa: S603 - our own venv's moto_server  # nosec B603
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    moto_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{moto_url}/moto-api/", timeout=1):  # noqa: S310 - loopback  # nosec B310
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    os.environ.update({**CREDENTIALS, "AWS_DEFAULT_REGION": REGION})
    deployment = deploy(moto_url, {"PpsIssuer": dev_key.ISSUER, "PpsAudience": dev_key.AUDIENCE})
    jwks = JwksServer().start()
    jwks.reset(dev_key.jwks()["keys"])
    token = dev_key.token(lifetime=3600)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(Path.home()),
        **CREDENTIALS,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        **deployment.environment("WebhookReceiverFunction"),
        "AWS_ENDPOINT_URL": moto_url,
        "PPS_ISSUER": dev_key.ISSUER,
        "PPS_AUDIENCE": dev_key.AUDIENCE,
        "PPS_JWKS_URI": jwks.jwks_uri,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "BENCH_TOKEN": token,
        "BENCH_EVENT": json.dumps(api_event("http", pps_headers(token))),
        # Lambda's sys.path: the function's code directory (/var/task); the layer is installed (make install).
        "PYTHONPATH": str(ROOT / "functions" / "webhook_receiver"),
    }
    return Environment(moto, moto_url, jwks, env)


def run_child(env: dict[str, str], *args: str) -> dict[str, Any]:
    completed = subprocess.run(  # noqa: S603 - this interpreter, our own module  # nosec B603
        [sys.executable, "-m", "bench.child", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(MARKER):
            figures: dict[str, Any] = json.loads(line.removeprefix(MARKER))
            return figures
    raise RuntimeError(f"bench.child {' '.join(args)} failed:\n{completed.stderr[-3000:]}")


def interleaved(
    rounds: int, a: list[str], b: list[str], env_a: dict[str, str], env_b: dict[str, str], key: str
) -> dict[str, Any]:
    """A B A B ...: medians of each, and the median of the per-round ratios A/B."""
    values_a, values_b = [], []
    for _ in range(rounds):
        values_a.append(run_child(env_a, *a)[key])
        values_b.append(run_child(env_b, *b)[key])
    return {
        "receiver": statistics.median(values_a),
        "floor": statistics.median(values_b),
        "ratio": statistics.median(x / y for x, y in zip(values_a, values_b, strict=True)),
    }


def cold_start(environment: Environment) -> dict[str, Any]:
    env = environment.env
    runs = [run_child(env, "cold-receiver") for _ in range(2)]  # warm the source bytecode cache, as for the floor
    assert all(run["status"] == 200 for run in runs), runs  # nosec B101 # a bench of failing runs is void
    figures = interleaved(COLD_ROUNDS, ["cold-receiver"], ["cold-floor"], env, env, "seconds")
    figures["peak_memory_mb"] = (
        statistics.median(run_child(env, "cold-receiver")["max_rss_kb"] for _ in range(3)) / 1024
    )
    return figures


def warm_cpu(environment: Environment) -> dict[str, Any]:
    count = str(WARM_WEBHOOKS)
    env = environment.env
    return interleaved(WARM_BLOCKS, ["warm-receiver", count], ["warm-floor", count], env, env, "cpu_per_webhook")


def aws_calls(environment: Environment) -> dict[str, int]:
    proxy = AwsProxy.in_front_of(environment.moto_url)
    try:
        env = {**environment.env, "AWS_ENDPOINT_URL": proxy.url, "BENCH_WEBHOOK_ID": str(uuid.uuid4())}
        run_child(env, "cold-receiver")
        new = len(proxy.calls)
        proxy.reset()
        run_child(env, "cold-receiver")
        return {"new": new, "duplicate": len(proxy.calls)}
    finally:
        proxy.stop()


def built_import(environment: Environment) -> dict[str, Any] | None:
    function, layer = BUILD / "WebhookReceiverFunction", BUILD / "PpsWebhooksLayer" / "python"
    if not function.is_dir() or not layer.is_dir():
        return None
    with tempfile.TemporaryDirectory() as copies:
        as_built, warmed = (Path(copies) / name for name in ("as-built", "warmed"))
        for copy in (as_built, warmed):
            shutil.copytree(function, copy / "function")
            shutil.copytree(layer, copy / "layer")
            runnable_here(copy / "layer")
        base = {**environment.env, "PYTHONDONTWRITEBYTECODE": "1"}
        env_as_built = {**base, "PYTHONPATH": f"{as_built / 'function'}:{as_built / 'layer'}"}
        env_warmed = {**base, "PYTHONPATH": f"{warmed / 'function'}:{warmed / 'layer'}"}
        run_child({**env_warmed, "PYTHONDONTWRITEBYTECODE": ""}, "import-build")  # writes the warm copy's bytecode
        figures = interleaved(IMPORT_ROUNDS, ["import-build"], ["import-build"], env_as_built, env_warmed, "seconds")
    return {"as_built": figures["receiver"], "warm_cache": figures["floor"], "ratio": figures["ratio"]}


def zipped_sizes() -> dict[str, float]:
    sizes = {}
    for artifact in sorted(path for path in BUILD.iterdir() if path.is_dir()) if BUILD.is_dir() else []:
        with tempfile.TemporaryFile() as buffer:
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in sorted(artifact.rglob("*")):
                    if file.is_file():
                        archive.write(file, file.relative_to(artifact))
            sizes[artifact.name] = buffer.tell() / 1_000_000
    return sizes


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(results: dict[str, Any]) -> str:
    cold, warm, calls, built = results["cold_start"], results["warm_cpu"], results["aws_calls"], results["built_import"]
    rows = [
        "| Measure | Receiver | Floor / reference | Ratio | Target |",
        "|---|---|---|---|---|",
        f"| Cold start to first answer | {cold['receiver'] * 1000:.0f} ms | {cold['floor'] * 1000:.0f} ms | "
        f"{cold['ratio']:.2f}x | <= {TARGETS['cold_start_ratio']}x |",
        f"| Warm CPU per webhook | {warm['receiver'] * 1000:.2f} ms | {warm['floor'] * 1000:.2f} ms | "
        f"{warm['ratio']:.2f}x | <= {TARGETS['warm_cpu_ratio']}x |",
        f"| AWS calls: new webhook / duplicate | {calls['new']} / {calls['duplicate']} | | | "
        f"<= {TARGETS['calls_new']} / {TARGETS['calls_duplicate']} |",
    ]
    if built:
        rows.append(
            f"| Import from the built artifact (read-only) vs warm bytecode cache | {built['as_built'] * 1000:.0f} ms "
            f"| {built['warm_cache'] * 1000:.0f} ms | {built['ratio']:.2f}x | <= 1.15x |"
        )
    for name, size in results["zipped_mb"].items():
        shown = f"{size:.1f} MB" if size >= 1 else f"{size * 1000:.0f} kB"
        rows.append(f"| Zipped `{name}` | {shown} | | | {'<= 10 MB' if 'Layer' in name else ''} |")
    rows.append(f"| Peak memory, cold receiver process | {cold['peak_memory_mb']:.0f} MB | | | |")
    return "\n".join(rows)


def update_readme(results: dict[str, Any]) -> None:
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    text = README.read_text()
    if start not in text or end not in text:
        return
    block = f"{start}\nMeasured {results['date']} on {results['machine']} (`make bench`):\n\n{table(results)}\n{end}"
    README.write_text(text[: text.index(start)] + block + text[text.index(end) + len(end) :])


def main() -> int:
    environment = start()
    try:
        results: dict[str, Any] = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "machine": machine(),
            "cold_start": cold_start(environment),
            "warm_cpu": warm_cpu(environment),
            "aws_calls": aws_calls(environment),
            "built_import": built_import(environment),
            "zipped_mb": zipped_sizes(),
        }
    finally:
        environment.close()
    results["targets"] = TARGETS
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    update_readme(results)
    print(table(results))  # noqa: T201 - the benchmark's report
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
