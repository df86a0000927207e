"""`make run`: the whole pipeline on this machine, built from template.yaml.

An embedded moto server holds every resource of the template (tools.devkit.stack), and the real handlers run
in this process: POST /webhooks invokes the receiver with the event API Gateway would send, and each
consumer gets its SQS (or SNS) deliveries as Lambda would hand them over.

Environment (all optional):
  PORT            where webhooks are served on 127.0.0.1 (3000)
  LOCAL_AWS_PORT  where the embedded moto listens on 127.0.0.1 (4566)
  LOG_LEVEL       level of the functions' own (Powertools, JSON) logs on the console (WARNING)
  PPS_ISSUER, PPS_AUDIENCE, PPS_JWKS_URI, PPS_ALLOWED_TENANTS
                  whom the receiver trusts (default: the development key, tools.devkit.dev_key)
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from tools.devkit import dev_key, invoker, stack
from tools.devkit.emulator import can_bind, moto_server, use_emulator
from tools.examples.orders import TABLE, describe_delivery
from tools.local import pollers as event_sources
from tools.local.banner import banner
from tools.local.console import console
from tools.local.http_api import JWKS_PATH, HttpApi, routes

TRUST = ("PPS_ISSUER", "PPS_AUDIENCE", "PPS_JWKS_URI", "PPS_ALLOWED_TENANTS")
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

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            port=int(env.get("PORT") or 3000),
            aws_port=int(env.get("LOCAL_AWS_PORT") or 4566),
            log_level=(env.get("LOG_LEVEL") or "WARNING").upper(),
            trust_overrides={name: env[name] for name in TRUST if env.get(name)},
        )

    def trust(self, jwks_url: str) -> dict[str, str]:
        trusted = {"PPS_ISSUER": dev_key.ISSUER, "PPS_AUDIENCE": dev_key.AUDIENCE, "PPS_JWKS_URI": jwks_url}
        if "PPS_ISSUER" in self.trust_overrides:
            trusted["PPS_JWKS_URI"] = ""  # the receiver's default: the JWKS under the issuer, as PPS publishes it
        return {**trusted, "PPS_ALLOWED_TENANTS": "", **self.trust_overrides}


class ColdStartFailed(Exception):
    pass


def main() -> int:
    stop = threading.Event()
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda signum, frame: stop.set())
    say = console()
    try:
        settings = Settings.from_env(os.environ)
    except ValueError:
        say.error("PORT and LOCAL_AWS_PORT must be port numbers")
        return 2
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
        functions = _cold_starts(deployment, settings.log_level, trust)
        pollers = event_sources.pollers(deployment, functions, say, stop, _order_lines(deployment, functions))
        api.serve(routes(functions))
        threads = event_sources.start(pollers)
        print(banner(deployment, api, pollers, trust, settings.log_level), flush=True)  # noqa: T201
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


def _cold_starts(deployment: stack.Deployment, log_level: str, trust: Mapping[str, str]) -> list[invoker.Function]:
    """Import every function with its template environment; the receiver's trust settings as configured."""
    functions = []
    for spec in deployment.functions():
        environment = {
            **deployment.environment(spec.logical_id),
            "POWERTOOLS_LOG_LEVEL": log_level,
            "AWS_ENDPOINT_URL": deployment.endpoint,  # the template declares it empty (AWS itself): here, moto
        }
        if "PPS_ISSUER" in environment:
            environment.update(trust)
        try:
            functions.append(invoker.load(deployment, spec, environment))
        except Exception as error:  # whatever a module raises at import fails its cold start
            raise ColdStartFailed(
                f"{spec.logical_id} failed its cold start: {type(error).__name__}: {error}"
            ) from error
    return functions


def _order_lines(deployment: stack.Deployment, functions: list[invoker.Function]) -> dict[str, event_sources.Describe]:
    """For each consumer that writes OrdersTable: a line about the order once it processed a webhook."""
    table = deployment.refs.get(TABLE)
    if table is None:
        return {}
    describe = describe_delivery(deployment.client("dynamodb"), table)
    return {function.name: describe for function in functions if table in function.environment.values()}


if __name__ == "__main__":
    sys.exit(main())
