"""`make run`: the whole pipeline on this machine, built from template.yaml.

An embedded moto server holds every resource of the template (tools.devkit.stack), and the real handlers run
in this process: POST /webhooks invokes the receiver with the event API Gateway would send, and each
consumer gets its SQS (or SNS) deliveries as Lambda would hand them over, while its event source mapping is
enabled (`make pause` / `make resume` switch it). The queues' ApproximateAgeOfOldestMessage is published to
CloudWatch as SQS does (tools.local.queue_metrics), for `make status`.

Every setting is optional: a make variable (read from the environment) or an option (`pps-run --help`).
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass

import click

from tools.devkit import dev_key, invoker, stack
from tools.devkit.emulator import LOCAL_RUN_PORT, can_bind, moto_server, use_emulator
from tools.local import pollers, queue_metrics
from tools.local.banner import banner
from tools.local.console import console
from tools.local.http_api import JWKS_PATH, HttpApi, routes
from tools.local.views import load_views

TRUST_PARAMETERS = {
    "PPS_ISSUER": "PpsIssuer",
    "PPS_AUDIENCE": "PpsAudience",
    "PPS_JWKS_URI": "PpsJwksUri",
    "PPS_ALLOWED_TENANTS": "AllowedTenantIds",
}
"""The template parameter that sets each of the receiver's trust settings."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Settings:
    port: int
    aws_port: int
    log_level: str
    trust_overrides: dict[str, str]
    """The receiver's PPS_* settings given in the environment: they win over the development key."""

    def trust(self, jwks_url: str) -> dict[str, str]:
        trusted = {"PPS_ISSUER": dev_key.ISSUER, "PPS_AUDIENCE": dev_key.AUDIENCE, "PPS_JWKS_URI": jwks_url}
        if "PPS_ISSUER" in self.trust_overrides:
            trusted["PPS_JWKS_URI"] = ""  # the receiver's default: the JWKS under the issuer, as PPS publishes it
        return {**trusted, "PPS_ALLOWED_TENANTS": "", **self.trust_overrides}


class ColdStartFailed(Exception):
    pass


option = functools.partial(click.option, show_envvar=True, show_default=True)
PORT = click.IntRange(1, 65535)


@click.command(help=__doc__)
@option("--port", envvar="PORT", type=PORT, default=3000, help="Where webhooks are served on 127.0.0.1.")
@option(
    "--aws-port", envvar="LOCAL_AWS_PORT", type=PORT, default=LOCAL_RUN_PORT, help="Where moto listens on 127.0.0.1."
)
@option(
    "--log-level",
    envvar="LOG_LEVEL",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"], case_sensitive=False),
    default="WARNING",
    help="Level of the functions' own (Powertools, JSON) logs on the console.",
)
@option("--issuer", envvar="PPS_ISSUER", help="The issuer (iss) the receiver trusts.  [default: the development key's]")
@option(
    "--audience", envvar="PPS_AUDIENCE", help="The audience (aud) tokens must name.  [default: the development key's]"
)
@option(
    "--jwks-uri",
    envvar="PPS_JWKS_URI",
    help="Where the issuer's keys are.  [default: under --issuer when given, else the local run's own JWKS]",
)
@option("--allowed-tenants", envvar="PPS_ALLOWED_TENANTS", help="X-Pps-Tenant-Id values accepted, comma-separated.")
def main(port: int, aws_port: int, log_level: str, **trust: str | None) -> None:
    names = {"issuer": "PPS_ISSUER", "audience": "PPS_AUDIENCE", "jwks_uri": "PPS_JWKS_URI"}
    names["allowed_tenants"] = "PPS_ALLOWED_TENANTS"
    settings = Settings(port, aws_port, log_level.upper(), {names[k]: v for k, v in trust.items() if v})
    sys.exit(run(settings))


def run(settings: Settings) -> int:
    stop = threading.Event()
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda signum, frame: stop.set())
    say = console()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server would log every AWS call

    try:
        api = HttpApi(settings.port, say)
    except OSError as error:
        say.error(f"Cannot serve on 127.0.0.1:{settings.port} ({error.strerror}): is another `make run` running?")
        say.error("Stop it, or choose another port: make run PORT=3001")
        return 1
    if not can_bind("127.0.0.1", settings.aws_port):
        api.stop()
        say.error(f"Port {settings.aws_port} is taken (another `make run`, or LocalStack?).")
        say.error("Stop it, or choose another port: make run LOCAL_AWS_PORT=4567")
        return 1

    endpoint = f"http://127.0.0.1:{settings.aws_port}"
    use_emulator(endpoint)
    # The functions run in this process: no X-Ray daemon to send to, and metrics only when asked for.
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    moto = moto_server(port=settings.aws_port)
    threads: list[threading.Thread] = []
    try:
        trust = settings.trust(api.url + JWKS_PATH)
        # Deployed with the trust it runs with, as `sam deploy --parameter-overrides` would be given it.
        deployment = stack.deploy(endpoint, {parameter: trust[name] for name, parameter in TRUST_PARAMETERS.items()})
        functions = _cold_starts(deployment, settings.log_level)
        views = load_views(deployment, functions)
        lines = {function: line for view in views for function, line in view.lines.items()}
        found = pollers.pollers(deployment, functions, say, stop, lines)
        api.serve(routes(functions))
        threads = pollers.start(found)
        threads.append(queue_metrics.publisher(deployment, say, stop))  # what SQS publishes to CloudWatch in AWS
        threads[-1].start()
        hints = [hint for view in views for hint in view.hints]
        print(banner(deployment, api, found, trust, settings.log_level, hints), flush=True)  # noqa: T201
        while not stop.wait(0.5):
            pass
    except ColdStartFailed as failure:
        say.error(str(failure), exc_info=failure.__cause__)
        return 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=3)
        api.stop()
        moto.stop()
    print("\nStopped: the webhook endpoint, the consumers and the AWS emulator (its data is gone). Bye!")  # noqa: T201
    return 0


def _cold_starts(deployment: stack.Deployment, log_level: str) -> list[invoker.Function]:
    """Import every function with the environment the stack gave it (the receiver's trust among it)."""
    functions = []
    for spec in deployment.functions():
        environment = {
            **deployment.environment(spec.logical_id),
            "POWERTOOLS_LOG_LEVEL": log_level,
            "AWS_ENDPOINT_URL": deployment.endpoint,  # the template declares it empty (AWS itself): here, moto
        }
        try:
            functions.append(invoker.load(deployment, spec, environment))
        except Exception as error:  # whatever a module raises at import fails its cold start
            raise ColdStartFailed(
                f"{spec.logical_id} failed its cold start: {type(error).__name__}: {error}"
            ) from error
    return functions
