"""`make local-invoke`: every sample in events/ through the real `sam local invoke`, in a container, against moto.

1. The image: public.ecr.aws/lambda/python:3.13-<arch> when Docker can pull it, else the one tools.build.lambda_image
   builds offline (passed with --invoke-image).
2. `sam build` for this machine's architecture (the Architecture parameter; arm64 in AWS) into
   .aws-sam/local-invoke: natively, since under arm64 emulation (qemu) no function starts within its timeout,
   and apart from `make build`'s output, which is what gets deployed.
3. moto with the template's stack (tools.devkit.stack), listening only where the functions' containers reach it.
4. `sam local invoke` for each sample, in the README's order, with events/env.json plus what the README tells a
   user to add (the resources' names, here as moto's CloudFormation named them, and AWS_ENDPOINT_URL). The
   command, the documented outcome as checked in moto (tools.examples.sample_outcomes) and the time are printed for
   each.
5. `sam local start-api` with the same options, and the request of one sample sent to it over HTTP.

Environment (optional): ARCH (x86_64 or arm64; default: this machine's), LOCAL_INVOKE_SKIP_WITHOUT_DOCKER=1
(for `make test`: print SKIP and the reason, and succeed, when no Docker daemon answers).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import subprocess  # nosec B404 # runs this venv's SAM CLI, with our own arguments
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import docker
import docker.errors
from moto.server import ThreadedMotoServer

from tools.build import lambda_image
from tools.devkit import dev_key, samples, stack
from tools.devkit.emulator import CREDENTIALS, REGION, can_bind, free_port, moto_server, use_emulator
from tools.devkit.paths import EVENTS, ROOT
from tools.devkit.template import declared_environment, load_template, resources_of_type
from tools.examples.sample_outcomes import NotAsDocumented, SampleOutcomes

BUILD_DIR = Path(".aws-sam") / "local-invoke"
ENV_FILE = Path(".aws-sam") / "local-invoke.env.json"
AWS_IMAGE = "public.ecr.aws/lambda/python:3.13-{architecture}"
NETWORK = "pps-webhooks-local-invoke"
MOTO_HOST = "moto.local"
PULL_TIMEOUT_SECONDS = 60
"""Without a byte of progress. Where no registry answers, the pull fails at once or after this."""
BUILD_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Image:
    invoke_image: str | None
    """--invoke-image, or None: SAM CLI's own choice, the AWS image (already pulled)."""
    described: str


@dataclass(frozen=True)
class Invoked:
    result: Any
    seconds: float
    inside: str
    """How long the function ran, by the emulator's REPORT line."""


class Moto:
    """The emulator, reached by the functions' containers through a network of their own, by nothing else.

    SAM CLI connects each container to that network (--docker-network) besides the default bridge. moto listens on
    the network's host side (its gateway) and --add-host names that address moto.local in the container: no port is
    published, nothing listens on 0.0.0.0."""

    def __init__(self, client: docker.DockerClient) -> None:
        try:
            self.network = client.networks.get(NETWORK)
        except docker.errors.NotFound:
            self.network = client.networks.create(NETWORK, driver="bridge")
        gateway = self.network.attrs["IPAM"]["Config"][0]["Gateway"]
        if can_bind(gateway):  # Docker Engine on Linux: the network's bridge is on this host
            self.bind, self.container_address = gateway, gateway
        else:  # Docker Desktop: the bridge is in its VM, which reaches this host's loopback as host-gateway
            self.bind, self.container_address = "127.0.0.1", "host-gateway"
        self.port = free_port(self.bind)
        self.server: ThreadedMotoServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.bind}:{self.port}"

    @property
    def container_endpoint(self) -> str:
        return f"http://{MOTO_HOST}:{self.port}"

    def options(self) -> list[str]:
        return ["--docker-network", NETWORK, "--add-host", f"{MOTO_HOST}:{self.container_address}"]

    def start(self) -> None:
        self.server = moto_server(self.bind, self.port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        try:
            self.network.remove()
        except docker.errors.APIError as error:  # a container SAM CLI left behind: the next run reuses the network
            say(f"network {NETWORK} left in place: {_first_line(error)}")


@click.command(help=(__doc__ or "").split("\n\n", 1)[0] + "\n\nThe steps: tools/build/local_invoke.py's docstring.")
@click.option(
    "--arch",
    envvar="ARCH",
    type=click.Choice(["x86_64", "arm64"]),
    default="arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64",
    show_default="this machine's",
    show_envvar=True,
    help="The functions' architecture and the image's.",
)
@click.option(
    "--skip-without-docker",
    envvar="LOCAL_INVOKE_SKIP_WITHOUT_DOCKER",
    is_flag=True,
    show_envvar=True,
    help="Say SKIP and succeed when no Docker daemon answers (make test), instead of failing.",
)
def main(arch: str, skip_without_docker: bool) -> None:
    sys.exit(local_invoke(arch, skip_without_docker))


def local_invoke(architecture: str, skip_without_docker: bool) -> int:
    try:
        client = docker.from_env(timeout=BUILD_TIMEOUT_SECONDS)
        client.ping()
    except docker.errors.DockerException as error:
        if skip_without_docker:
            say(
                f"SKIP local-invoke (every sample through sam local invoke): no Docker daemon answers "
                f"({_first_line(error)}). Start one (.ci/run does) to run it."
            )
            return 0
        say(f"local-invoke needs a Docker daemon, and none answers: {_first_line(error)}")
        return 1

    started = time.monotonic()
    image = choose_image(client, architecture)
    say(f"Image: {image.described}")
    sam(["build", "--build-dir", str(BUILD_DIR), "--parameter-overrides", f"Architecture={architecture}"])

    moto = Moto(client)
    moto.start()
    say(f"moto: {moto.endpoint}, reached from the containers as {moto.container_endpoint} (network {NETWORK})")
    try:
        use_emulator(moto.endpoint)
        # Whom the receiver trusts: the development key that signed the samples (events/env.json says so too).
        deployment = stack.deploy(moto.endpoint, {"PpsIssuer": dev_key.ISSUER, "PpsAudience": dev_key.AUDIENCE})
        outcomes = SampleOutcomes.watching(deployment)
        write_env_file(deployment, moto.container_endpoint)
        passed = invoke_samples(outcomes, image, architecture, moto)
        served = start_api(outcomes, image, architecture, moto)
    finally:
        moto.stop()
    total = len(samples.samples())
    say(
        f"\nlocal-invoke: {passed}/{total} samples had their documented outcome through `sam local invoke`; "
        f"`sam local start-api` {'too' if served else 'did NOT'}. {time.monotonic() - started:.0f} s in all."
    )
    return 0 if passed == total and served else 1


def choose_image(client: docker.DockerClient, architecture: str) -> Image:
    """The AWS image when it can be pulled (or was before), else the offline one."""
    aws_image = AWS_IMAGE.format(architecture=architecture)
    try:
        say(f"docker pull {aws_image}")
        docker.from_env(timeout=PULL_TIMEOUT_SECONDS).images.pull(aws_image)
    except docker.errors.DockerException as error:
        say(f"  cannot pull it: {_first_line(error)}")
        try:
            client.images.get(aws_image)
        except docker.errors.ImageNotFound:
            tag = lambda_image.ensure(client, architecture, lambda line: say(f"  {line}"))
            return Image(tag, f"{tag}, built offline by tools/build/lambda_image: the AWS image cannot be pulled here")
        return Image(None, f"{aws_image}, the AWS image, as pulled before")
    return Image(None, f"{aws_image}, the AWS image")


def env_file(deployment: stack.Deployment, endpoint: str) -> dict[str, dict[str, str]]:
    """events/env.json plus what the README tells a user to add: each function's variables that name one of the
    template's resources, and AWS_ENDPOINT_URL. The other variables keep the values SAM CLI resolves itself.

    Every name is one the template declares on that function: SAM CLI would drop any other, silently."""
    samples = json.loads((EVENTS / "env.json").read_text())
    template = load_template()
    env: dict[str, dict[str, str]] = {}
    for function in resources_of_type(template, "AWS::Serverless::Function"):
        declared = declared_environment(template, function)
        resolved = deployment.environment(function)
        names_a_resource = sorted(name for name, value in declared.items() if _names_a_resource(value, template))
        env[function] = {
            **samples.get(function, {}),
            **{name: resolved[name] for name in names_a_resource},
            "AWS_ENDPOINT_URL": endpoint,
        }
        undeclared = set(env[function]) - set(declared)
        if undeclared:
            raise SystemExit(f"template.yaml does not declare {sorted(undeclared)} on {function}: SAM CLI drops them")
    return env


def write_env_file(deployment: stack.Deployment, endpoint: str) -> None:
    env = env_file(deployment, endpoint)
    (ROOT / ENV_FILE).write_text(json.dumps(env, indent=2) + "\n")
    samples = json.loads((EVENTS / "env.json").read_text())
    say(f"{ENV_FILE}: events/env.json, plus")
    for function, variables in env.items():
        added = {name: value for name, value in variables.items() if name not in samples.get(function, {})}
        say(f"  {function}: {' '.join(f'{name}={value}' for name, value in added.items())}")


def common_options(image: Image, architecture: str, moto: Moto) -> list[str]:
    """What `sam local invoke` and `sam local start-api` get besides the README's options."""
    return [
        "--env-vars", str(ENV_FILE),
        "-t", str(BUILD_DIR / "template.yaml"),
        "--parameter-overrides", f"Architecture={architecture}",
        *moto.options(),
        *(["--invoke-image", image.invoke_image] if image.invoke_image else []),
        "--skip-pull-image",
    ]  # fmt: skip


def invoke_samples(outcomes: SampleOutcomes, image: Image, architecture: str, moto: Moto) -> int:
    """Each sample through `sam local invoke`, in the README's order; how many had their documented outcome."""
    every = samples.samples()
    passed = 0
    for number, sample in enumerate(every, start=1):
        command = [
            "local", "invoke", sample.function, "-e", str(EVENTS.relative_to(ROOT) / sample.file),
            *common_options(image, architecture, moto),
        ]  # fmt: skip
        say(f"\n[{number}/{len(every)}] sam {shlex.join(command)}")
        invoked = invoke(command)
        try:
            outcomes.check(sample, invoked.result)
        except NotAsDocumented as problem:
            say(f"      FAIL  {sample.outcome}\n            not so: {problem}\n            answer: {invoked.result}")
        else:
            passed += 1
            say(f"      OK    {sample.outcome}")
        say(f"      {invoked.seconds:.1f} s ({invoked.inside})")
    return passed


def start_api(outcomes: SampleOutcomes, image: Image, architecture: str, moto: Moto) -> bool:
    """`sam local start-api`, and the request of http-api-duplicate.json sent to it over HTTP: 200 duplicate."""
    sample = next(sample for sample in samples.samples() if sample.file == "http-api-duplicate.json")
    event = json.loads((EVENTS / sample.file).read_text())
    port = free_port("127.0.0.1")
    command = ["local", "start-api", "--port", str(port), *common_options(image, architecture, moto)]
    say(f"\n[API] sam {shlex.join(command)}")
    url = f"http://127.0.0.1:{port}{event['rawPath']}"
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(  # noqa: S603 # nosec B603 # our own argv, no shell
            [_sam(), *command], cwd=ROOT, env=_sam_environment(), stdout=log, stderr=subprocess.STDOUT, text=True
        )
        try:
            answered = _post(url, event) if _serving(url, server) else None
            if answered is not None:
                outcomes.check(sample, answered)
        except NotAsDocumented as problem:
            answered = None
            say(f"      FAIL  {problem}")
        finally:
            server.terminate()
            server.wait(timeout=30)
        if answered is None:
            log.seek(0)
            sys.stdout.write(log.read()[-4000:])
            return False
    say(f"      OK    POST {url} with the request of {sample.file}: {sample.outcome}")
    say(f"      {time.monotonic() - started:.1f} s, the server's start included")
    return True


def _serving(url: str, server: subprocess.Popen[str]) -> bool:
    """Whether the server answers HTTP (any status) before it exits or a minute passes."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            urllib.request.urlopen(url.rsplit("/", 1)[0] + "/", timeout=2).close()  # noqa: S310 # nosec B310 # our own server
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(1)
        else:
            return True
    say("      FAIL  sam local start-api did not answer")
    return False


def _post(url: str, event: dict[str, Any]) -> dict[str, Any] | None:
    """The API Gateway event's request, sent over HTTP; the answer as the function's result would carry it."""
    headers = {name: value for name, value in event["headers"].items() if name not in ("host", "content-length")}
    request = urllib.request.Request(url, event["body"].encode(), headers, method="POST")  # noqa: S310 # nosec B310
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 # nosec B310 # our own server
            return {"statusCode": response.status, "body": response.read().decode()}
    except urllib.error.HTTPError as error:
        return {"statusCode": error.code, "body": error.read().decode()}
    except OSError as error:
        say(f"      FAIL  POST {url}: {error}")
        return None


def invoke(command: list[str]) -> Invoked:
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 # nosec B603 # our own argv, no shell
        [_sam(), *command], cwd=ROOT, env=_sam_environment(), capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - started
    lines = done.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else None
    except ValueError:
        result = lines[-1]
    if done.returncode or not isinstance(result, dict) or "errorType" in result:
        sys.stdout.write(done.stderr[-4000:])  # what SAM CLI and the function said, for the log
    report = re.search(r"REPORT RequestId: .*?(?<!Init )\bDuration: ([\d.]+ ms)", done.stderr)
    inside = f"the function ran {report.group(1)}, its init included" if report else "no REPORT line"
    return Invoked(result, seconds, inside)


def sam(arguments: list[str]) -> None:
    say(f"sam {shlex.join(arguments)}")
    started = time.monotonic()
    subprocess.run([_sam(), *arguments], cwd=ROOT, env=_sam_environment(), check=True)  # noqa: S603 # nosec B603
    say(f"      {time.monotonic() - started:.1f} s")


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - the target's output is its report


def _sam() -> str:
    return str(Path(sys.executable).parent / "sam")


def _sam_environment() -> dict[str, str]:
    """This environment, minus what SAM CLI would hand the functions instead of the env file's values: the shell's
    value of any variable the template declares, the shell's AWS credentials and endpoints."""
    template = load_template()
    declared = {
        name
        for function in resources_of_type(template, "AWS::Serverless::Function")
        for name in declared_environment(template, function)
    }
    kept = {
        name: value
        for name, value in os.environ.items()
        if name not in declared and not name.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"))
    }
    return {
        **kept,
        # `sam build` finds python3.13 on PATH: this venv's first, as in the Makefile.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        **CREDENTIALS,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "SAM_CLI_TELEMETRY": "0",
    }


def _names_a_resource(value: Any, template: dict[str, Any]) -> bool:
    """Whether a template value refers to one of the template's resources (Ref, GetAtt, or ${...} in a Sub)."""
    resources = template["Resources"]
    if isinstance(value, list):
        return any(_names_a_resource(item, template) for item in value)
    if not isinstance(value, dict):
        return False
    if "Ref" in value:
        return value["Ref"] in resources
    if "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0] in resources
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        return any(name.split(".")[0] in resources for name in re.findall(r"\$\{([^}!]+)\}", text))
    return any(_names_a_resource(item, template) for item in value.values())


def _first_line(error: BaseException) -> str:
    text = getattr(error, "explanation", None) or str(error)
    return (str(text).strip().splitlines() or [type(error).__name__])[0]


if __name__ == "__main__":
    sys.exit(main())
