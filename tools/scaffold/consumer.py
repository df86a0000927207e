"""Add a consumer of one webhook topic to template.yaml, in the shape of the example consumers.

The topic delivers (raw, and only the X-Pps-Sub-Topic values starting with SUB_TOPIC_PREFIX when given) to a queue
of the consumer's own; an event source mapping (at most MAXIMUM_CONCURRENCY invocations at once, a template
parameter) feeds the new function in batches, and what it fails ConsumerMaxReceiveCount times, or what SNS cannot
deliver, waits in a dead-letter queue with an alarm on it. functions/<NAME>/ gets a thin handler (app.py) and the
logic module to fill in (logic.py).

\b
make consumer NAME=invoice-sync TOPIC=orders/placed [SUB_TOPIC_PREFIX=product:adv/] [MAXIMUM_CONCURRENCY=5]
"""

from __future__ import annotations

import io
import json
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from tools.devkit.paths import project_root

TEMPLATES = Path(__file__).parent / "templates"
NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
NAME_LENGTH = 40
TEXT = re.compile(r"[A-Za-z0-9:/._@+=,~-]{1,64}")
"""A topic or a sub-topic prefix: it is written into YAML descriptions, comments and Python docstrings."""
CONCURRENCY = (2, 1000)
"""Lambda's bounds for an SQS event source's MaximumConcurrency."""
NEEDED = ("PayloadBucket", "AlarmTopic", "ConsumerMaxReceiveCount", "ConsumerQueueAgeAlarmSeconds", "LogRetentionDays")
"""What the generated resources refer to in the template."""
SECTIONS = ("Parameters", "Resources", "Outputs")
CODE = ("app.py", "logic.py", "requirements.txt")
TEMPLATE = "template.yaml"


@dataclass(frozen=True)
class Added:
    files: list[Path]
    """What was written: template.yaml, then functions/<name>/'s files."""
    not_charted: list[str]
    """Dashboards whose body is laid out other than the template's: the consumer's rows are to be added by hand."""


class ConsumerError(ValueError):
    """Why the consumer cannot be added: `parameter` names the make variable at fault, or is TEMPLATE."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class _Fragment(string.Template):
    """The files in templates/ name what is filled in as %{name}: `$` is CloudFormation's (!Sub)."""

    delimiter = "%"


def render(file: str, values: dict[str, str]) -> str:
    return _Fragment((TEMPLATES / file).read_text()).substitute(values)


def round_trip() -> YAML:
    """ruamel.yaml keeping comments, quotes and flow style, in the template's layout (SAM's: two-space mappings,
    sequences indented under their key), never re-wrapping a line."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def topics(template: dict[str, Any]) -> dict[str, str]:
    """X-Pps-Topic -> the logical id of its SNS topic, from the receiver's TOPIC_ARNS (!Sub of a JSON object)."""
    resources = template["Resources"]
    for resource in resources.values():
        variables = (resource.get("Properties") or {}).get("Environment", {}).get("Variables", {})
        if "TOPIC_ARNS" in variables:
            mapping = json.loads(getattr(variables["TOPIC_ARNS"], "value", variables["TOPIC_ARNS"]))
            ids = {topic: str(ref).removeprefix("${").removesuffix("}") for topic, ref in mapping.items()}
            return {topic: id_ for topic, id_ in ids.items() if resources.get(id_, {}).get("Type") == "AWS::SNS::Topic"}
    return {}


def add_consumer(
    name: str, topic: str, sub_topic_prefix: str = "", maximum_concurrency: int = 5, root: Path | None = None
) -> Added:
    """Write functions/<name>/ and add the consumer to <root>/template.yaml, or nothing (ConsumerError)."""
    root = root or project_root()
    _check_inputs(name, topic, sub_topic_prefix, maximum_concurrency)
    template_path, code = root / TEMPLATE, root / "functions" / name.replace("-", "_")
    original = template_path.read_text()
    yaml = round_trip()
    template = yaml.load(original)
    known = topics(template)
    if topic not in known:
        raise ConsumerError("TOPIC", f"{topic!r} is none of the template's topics: {', '.join(sorted(known))}")
    values = {
        "prefix": "".join(part.capitalize() for part in re.split(r"[-_]", name)),
        "directory": code.name,
        "topic": topic,
        "topic_id": known[topic],
        "filter_note": f" whose X-Pps-Sub-Topic starts with {sub_topic_prefix}" if sub_topic_prefix else "",
        "sub_topics": f"starting with {sub_topic_prefix}" if sub_topic_prefix else "any",
        "sub_topic_prefix": json.dumps(sub_topic_prefix),
        "maximum_concurrency": str(maximum_concurrency),
    }
    fragment = yaml.load(render("consumer.yaml", values))
    _refuse_to_overwrite(template, fragment, code)
    if sub_topic_prefix:
        subscription = fragment["Resources"][f"{values['prefix']}Subscription"]["Properties"]
        at = list(subscription).index("Endpoint") + 1
        for key, value in yaml.load(render("filter-policy.yaml", values)).items():
            subscription.insert(at, key, value)
            at += 1

    _merge(template, fragment)
    not_charted = _show_on_dashboards(template, fragment["Dashboard"])
    output = io.StringIO()
    yaml.dump(template, output)
    if not _only_added(original, output.getvalue()):
        raise ConsumerError(TEMPLATE, "adding the consumer would change its lines, not only add some: nothing written")

    code.mkdir(parents=True)
    for file in CODE:
        (code / file).write_text(render(file, values))
    template_path.write_text(output.getvalue())
    return Added([template_path, *(code / file for file in CODE)], not_charted)


def _refuse_to_overwrite(template: CommentedMap, fragment: CommentedMap, code: Path) -> None:
    taken = [key for section in SECTIONS for key in fragment[section] if key in (template.get(section) or {})]
    if taken:
        raise ConsumerError("NAME", f"template.yaml has {', '.join(taken)} already: choose another NAME")
    if code.exists():
        raise ConsumerError("NAME", f"functions/{code.name}/ exists already: choose another NAME")
    declared = {*template["Resources"], *(template.get("Parameters") or {})}
    missing = [key for key in NEEDED if key not in declared]
    if missing:
        raise ConsumerError(TEMPLATE, f"no {', '.join(missing)}, which a consumer refers to")


def _check_inputs(name: str, topic: str, sub_topic_prefix: str, maximum_concurrency: int) -> None:
    if not name:
        raise ConsumerError("NAME", "required, e.g. make consumer NAME=invoice-sync TOPIC=orders/placed")
    if not NAME.fullmatch(name) or len(name) > NAME_LENGTH:
        raise ConsumerError(
            "NAME", f"{name!r}: up to {NAME_LENGTH} lower-case letters and digits, words joined by - or _"
        )
    if not topic:
        raise ConsumerError("TOPIC", "required: the X-Pps-Topic to consume, e.g. TOPIC=orders/placed")
    if not TEXT.fullmatch(topic):
        raise ConsumerError("TOPIC", f"{topic!r}: up to 64 letters, digits and :/._@+=,~-")
    if sub_topic_prefix and not TEXT.fullmatch(sub_topic_prefix):
        raise ConsumerError(
            "SUB_TOPIC_PREFIX", f"{sub_topic_prefix!r}: up to 64 letters, digits and :/._@+=,~- (no spaces or quotes)"
        )
    low, high = CONCURRENCY
    if not low <= maximum_concurrency <= high:
        raise ConsumerError("MAXIMUM_CONCURRENCY", f"{maximum_concurrency}: from {low} to {high}, as Lambda allows")


def _merge(template: CommentedMap, fragment: CommentedMap) -> None:
    """The fragment's parameter beside the other MaximumConcurrency ones, its resources (with their heading) after
    the template's, its outputs after the template's; a blank line before `Outputs:` as before."""
    for section in SECTIONS:
        if template.get(section) is None:
            template[section] = CommentedMap()
    parameters = template["Parameters"]
    at = max(
        (n + 1 for n, key in enumerate(parameters) if str(key).endswith("MaximumConcurrency")), default=len(parameters)
    )
    for key, value in fragment["Parameters"].items():
        parameters.insert(at, key, value)
        _comments_before(parameters, fragment["Parameters"], key)
        at += 1

    # The blank line before `Outputs:` is held either by `Outputs` or by the last resource's last value.
    heading = list(fragment["Resources"].ca.comment[1] or [])
    blank_before_outputs = (template.ca.items.get("Outputs") or [None, None])[1]
    if blank_before_outputs:
        heading.insert(0, CommentToken("\n", CommentMark(0)))
    else:
        template.ca.items.setdefault("Outputs", [None, None, None, None])[1] = [CommentToken("\n", CommentMark(0))]
    resources = template["Resources"]
    for key, value in fragment["Resources"].items():
        resources[key] = value
        _comments_before(resources, fragment["Resources"], key)
    resources.ca.items[next(iter(fragment["Resources"]))] = [None, heading, None, None]
    for key, value in fragment["Outputs"].items():
        template["Outputs"][key] = value
        _comments_before(template["Outputs"], fragment["Outputs"], key)


def _comments_before(target: CommentedMap, source: CommentedMap, key: str) -> None:
    """ruamel.yaml keeps what stands before a key (a blank line, comments) with the mapping, not the value."""
    if key in source.ca.items:
        target.ca.items[key] = source.ca.items[key]


def _show_on_dashboards(template: CommentedMap, rows: dict[str, list[Any]]) -> list[str]:
    """Each dashboard widget that charts a metric of `rows` (the example consumers' errors, their dead-letter queue
    depth) charts the new consumer's too: its rows go first, one line each, in the body's own layout. Returns the
    dashboards laid out otherwise, left as they are."""
    not_charted = []
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::CloudWatch::Dashboard":
            continue
        body = resource["Properties"]["DashboardBody"]
        text = getattr(body, "value", None)
        if not isinstance(text, str):
            continue
        lines = text.split("\n")
        openers = [n for n, line in enumerate(lines) if line.rstrip().endswith('"metrics": [')]
        try:
            dashboard = json.loads(text)
        except ValueError:
            dashboard = {}
        charted = [widget for widget in dashboard.get("widgets", []) if "metrics" in widget.get("properties", {})]
        if not charted or len(openers) != len(charted):
            not_charted.append(logical_id)
            continue
        for opener, widget in reversed(list(zip(openers, charted, strict=True))):
            shown = {row[1] for row in widget["properties"]["metrics"] if isinstance(row, list) and len(row) > 1}
            added = [row for metric, metric_rows in rows.items() if metric in shown for row in metric_rows]
            if not added:
                continue
            first = lines[opener + 1]
            indent = first[: len(first) - len(first.lstrip())]
            lines[opener + 1 : opener + 1] = [f"{indent}{json.dumps(row)}," for row in added]
            widget["properties"]["metrics"][:0] = added
        if json.loads("\n".join(lines)) == dashboard:  # the rows went where they were meant to, as JSON
            body.value = type(text)("\n".join(lines))
        else:
            not_charted.append(logical_id)
    return not_charted


def _only_added(before: str, after: str) -> bool:
    """Whether every non-blank line of `before` is in `after`, in the same order: lines were only added."""
    remaining = iter(line for line in after.splitlines() if line.strip())
    return all(any(line == other for other in remaining) for line in before.splitlines() if line.strip())


@click.command(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("name")
@click.argument("topic")
@click.option(
    "--sub-topic-prefix",
    default="",
    metavar="PREFIX",
    help="Only the webhooks whose X-Pps-Sub-Topic starts with PREFIX (an SNS filter policy). Empty: every webhook.",
)
@click.option(
    "--maximum-concurrency",
    default=5,
    show_default=True,
    type=click.IntRange(*CONCURRENCY),
    help="The default of the consumer's MaximumConcurrency parameter: at most this many invocations at once.",
)
def main(name: str, topic: str, sub_topic_prefix: str, maximum_concurrency: int) -> None:
    root = project_root()
    try:
        added = add_consumer(name, topic, sub_topic_prefix, maximum_concurrency, root)
    except ConsumerError as error:
        if error.parameter == TEMPLATE:
            raise click.ClickException(f"{root / TEMPLATE}: {error.message}") from None
        raise click.BadParameter(error.message, param_hint=error.parameter) from None
    for path in added.files:
        click.echo(f"wrote {path.relative_to(root)}")
    for dashboard in added.not_charted:
        click.echo(f"{dashboard}: laid out unlike the template's own, left as it is: chart the consumer there by hand")
    logic = next(path for path in added.files if path.name == "logic.py")
    click.echo(f"Next: fill in {logic.relative_to(root)}; `make run` delivers to it, `make test` checks it.")


if __name__ == "__main__":
    main()
