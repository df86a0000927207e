"""What the two command lines share: each option is also the environment variable `make` passes on
(`make replay TOPIC=...` or `pps-replay --topic ...`), and the exit codes: 0 all done, 1 not all, 2 usage."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, Protocol

import click
from botocore.exceptions import BotoCoreError, ClientError

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 120}


class EnvOption(click.Option):
    """Names its environment variable in errors too: "Missing option '--topic' / TOPIC"."""

    def get_error_hint(self, ctx: click.Context) -> str:
        return f"{super().get_error_hint(ctx)} / {self.envvar}"


def option(*declarations: str, envvar: str, **attributes: Any) -> Callable[[click.decorators.FC], click.decorators.FC]:
    """A click option read from `envvar` when not given, which --help shows. Text is stripped, and blank text is
    no value (`STACK= make replay ...` takes the default), as a variable copied from a runbook may carry spaces."""
    if attributes.get("type") in (None, str) and not attributes.get("is_flag"):
        given = attributes.pop("callback", None)

        def stripped(ctx: click.Context, parameter: click.Parameter, value: Any) -> Any:
            value = (value.strip() or None) if isinstance(value, str) else value
            if value is None and parameter.default is not None and not callable(parameter.default):
                value = parameter.default
            if value is None and parameter.required:
                raise click.MissingParameter(ctx=ctx, param=parameter)
            return given(ctx, parameter, value) if given else value

        attributes["callback"] = stripped
    return click.option(*declarations, cls=EnvOption, envvar=envvar, show_envvar=True, **attributes)


class Summary(Protocol):
    @property
    def ok(self) -> bool: ...

    def lines(self) -> Sequence[str]: ...


@contextmanager
def aws_failures() -> Iterator[None]:
    """An AWS call that failed outright (the SDK has retried it): its error, exit code 1."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise click.ClickException(str(error)) from error


def finish(summary: Summary) -> NoReturn:
    """Print the summary; exit 0 when everything was done, else 1."""
    for line in summary.lines():
        click.echo(line)
    raise SystemExit(0 if summary.ok else 1)
